"""Targets: which URLs are accepted, and that a URL never shows in a repr or an error."""

from __future__ import annotations

import pytest

from fleetupgrade.errors import FleetUpgradeError
from fleetupgrade.hosts import is_loopback_host
from fleetupgrade.notify import DEFAULT_EVENTS, NotifyTarget, NotifyTargetError
from tests.notify.receiver import SENTINEL


@pytest.mark.parametrize(
    "url",
    [
        f"http://hooks.example.com/{SENTINEL}",
        f"http://10.0.0.8:8080/{SENTINEL}",
        f"http://[2001:db8::1]/{SENTINEL}",
        f"http://localhost.example.com/{SENTINEL}",
    ],
)
def test_plain_http_to_a_non_loopback_host_is_refused(url: str) -> None:
    """Plain http off loopback is refused at construction, naming the target, not the URL."""
    with pytest.raises(NotifyTargetError) as caught:
        NotifyTarget(name="notify[0] (HOOK_URL)", url=url)
    text = str(caught.value)
    assert text.startswith("notify[0] (HOOK_URL): plain http is allowed only to loopback")
    assert SENTINEL not in text
    assert "example.com" not in text
    assert isinstance(caught.value, FleetUpgradeError)


@pytest.mark.parametrize(
    "url",
    [
        "http://127.0.0.1:8080/hook",
        "http://127.3.4.5/hook",
        "http://[::1]:9000/hook",
        "http://localhost/hook",
        "http://LOCALHOST:1/hook",
        "https://hooks.example.com/services/T000/B000/xyz",
    ],
)
def test_https_anywhere_and_http_to_loopback_are_accepted(url: str) -> None:
    """https goes anywhere; plain http only to 127.0.0.0/8, ::1 and localhost."""
    assert NotifyTarget(name="t", url=url).url == url


@pytest.mark.parametrize(
    ("url", "message"),
    [
        (f"ftp://hooks.example.com/{SENTINEL}", "must be an absolute https:// URL"),
        (f"/relative/{SENTINEL}", "must be an absolute https:// URL"),
        (f"https:///{SENTINEL}", "must be an absolute https:// URL"),
    ],
)
def test_urls_that_are_not_web_urls_are_refused(url: str, message: str) -> None:
    """A URL that is not an absolute http(s) URL is refused without being repeated."""
    with pytest.raises(NotifyTargetError, match=message) as caught:
        NotifyTarget(name="t", url=url)
    assert SENTINEL not in str(caught.value)


def test_unknown_events_are_refused_by_name() -> None:
    """A misspelt event is an error listing the known ones (never silently ignored)."""
    with pytest.raises(NotifyTargetError, match=r"unknown event\(s\) wave_halt; known: "):
        NotifyTarget(name="t", url="https://h.example/x", events=frozenset({"wave_halt"}))


def test_repr_shows_neither_the_url_nor_the_secret() -> None:
    """repr() (in tracebacks, debuggers, logs) names the target but hides URL and secret."""
    target = NotifyTarget(
        name="notify[1] (url)",
        url=f"https://hooks.example.com/{SENTINEL}",
        secret=b"hmac-secret-value",
    )
    text = repr(target)
    assert "notify[1] (url)" in text
    assert SENTINEL not in text
    assert "hmac-secret-value" not in text


def test_default_events_are_the_ones_a_human_acts_on() -> None:
    """Without a list, a target hears of approvals, halts and the end of the run."""
    target = NotifyTarget(name="t", url="https://h.example/x")
    assert target.events == DEFAULT_EVENTS
    assert {
        "wave_awaiting_approval",
        "wave_halted",
        "run_finished",
        "run_stopped",
    } == DEFAULT_EVENTS


@pytest.mark.parametrize(
    ("host", "loopback"),
    [
        ("localhost", True),
        ("LocalHost", True),
        ("127.0.0.1", True),
        ("127.9.9.9", True),
        ("::1", True),
        ("[::1]", True),
        ("10.0.0.1", False),
        ("localhost.example.com", False),
        ("[2001:db8::1]", False),
        ("", False),
    ],
)
def test_loopback_is_this_machine_only(host: str, *, loopback: bool) -> None:
    """Only localhost, 127.0.0.0/8 and ::1 are loopback, with or without brackets."""
    assert is_loopback_host(host) is loopback
