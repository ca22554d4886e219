"""Pure parts of sending: backoff bounds, Retry-After parsing, proxy choice."""

from __future__ import annotations

import pytest
import yarl

from fleetupgrade.notify import DELIVERY_POLICY
from fleetupgrade.notify.send import _proxy_for, _retry_after


@pytest.mark.parametrize(("retry", "low", "high"), [(1, 0.5, 1.0), (2, 1.0, 1.5), (9, 5.0, 5.5)])
def test_backoff_doubles_up_to_its_cap_plus_jitter(retry: int, low: float, high: float) -> None:
    """Waits double from wait_initial, stop growing at wait_max, plus up to wait_jitter."""
    assert low <= DELIVERY_POLICY.backoff(retry) <= high


@pytest.mark.parametrize(
    ("value", "seconds"),
    [("7", 7.0), ("0", 0.0), ("-3", None), ("Wed, 21 Oct 2026 07:28:00 GMT", None), (None, None)],
)
def test_retry_after_is_read_in_seconds_only(value: str | None, seconds: float | None) -> None:
    """Retry-After in seconds is honoured; the date form and nonsense are ignored."""
    assert _retry_after(value) == seconds


def test_proxy_comes_from_the_environment_except_for_loopback_and_no_proxy(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """https_proxy applies to remote targets, never to loopback or hosts in no_proxy."""
    for name in ("http_proxy", "HTTP_PROXY", "https_proxy", "HTTPS_PROXY", "no_proxy", "NO_PROXY"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("https_proxy", "http://proxy.corp:3128")
    monkeypatch.setenv("no_proxy", "internal.corp")
    assert _proxy_for(yarl.URL("https://hooks.slack.com/services/x")) == "http://proxy.corp:3128"
    assert _proxy_for(yarl.URL("https://hooks.internal.corp/x")) is None
    assert _proxy_for(yarl.URL("https://127.0.0.1:8443/x")) is None
    assert _proxy_for(yarl.URL("https://localhost/x")) is None
