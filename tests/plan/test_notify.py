"""Notify targets resolved at run time: URL and secret from the environment, never shown."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from fleetupgrade.errors import CredentialsError
from fleetupgrade.plan import load_plan, notify_issues, resolve_notify_targets
from tests.plan.conftest import BASE, validate

Write = Callable[[str], Path]
HOOK = "https://hooks.example/services/T0/B0/XYZ"
TARGETS = (
    '[[notify]]\nurl_env = "FU_HOOK"\nsecret_env = "FU_HOOK_SECRET"\n'
    f'[[notify]]\nurl = "{HOOK}"\nformat = "slack"\nevents = ["run_finished"]\n'
)


def test_targets_resolve_from_the_environment(write: Write) -> None:
    """url_env and secret_env are read; a literal url is used as is."""
    plan = load_plan(write(BASE + TARGETS))
    env = {"FU_HOOK": "https://relay.example/in?token=1", "FU_HOOK_SECRET": "s3cret-key"}
    first, second = resolve_notify_targets(plan, env)
    assert first.url == "https://relay.example/in?token=1"
    assert first.secret == b"s3cret-key"
    assert first.format == "json"
    assert first.label == "notify[0].url_env (FU_HOOK)"
    assert second.url == HOOK
    assert second.events == ("run_finished",)
    assert second.secret is None
    assert "relay.example" not in repr(first)
    assert "s3cret" not in repr(first)


@pytest.mark.parametrize(
    ("env", "expected"),
    [
        ({"FU_HOOK_SECRET": "k"}, r"notify\[0\].url_env \(FU_HOOK\) is not set"),
        ({"FU_HOOK": "", "FU_HOOK_SECRET": "k"}, r"notify\[0\].url_env \(FU_HOOK\) is empty"),
        ({"FU_HOOK": "https://h.example"}, r"notify\[0\].secret_env \(FU_HOOK_SECRET\) is not"),
        (
            {"FU_HOOK": "http://u:hunter2@h.example", "FU_HOOK_SECRET": "k"},
            r"notify\[0\].url_env \(FU_HOOK\) does not hold a usable URL",
        ),
    ],
)
def test_missing_or_bad_variables_raise_without_the_url(
    write: Write, env: dict[str, str], expected: str
) -> None:
    """A missing or unusable variable is CredentialsError naming the key, never the value."""
    plan = load_plan(write(BASE + TARGETS))
    with pytest.raises(CredentialsError, match=expected) as info:
        resolve_notify_targets(plan, env)
    assert "hunter2" not in str(info.value)
    assert "h.example" not in str(info.value)


def test_validate_only_warns_about_unset_variables(
    write: Write, monkeypatch: pytest.MonkeyPatch
) -> None:
    """validate exits 0 with located warnings; the literal URL is not printed."""
    monkeypatch.delenv("FU_HOOK", raising=False)
    monkeypatch.delenv("FU_HOOK_SECRET", raising=False)
    path = write(BASE + TARGETS)
    plan = load_plan(path)
    assert [i.location for i in notify_issues(plan, {})] == [
        "notify[0].url_env",
        "notify[0].secret_env",
    ]
    assert [i.location for i in notify_issues(plan, {"FU_HOOK": HOOK})] == ["notify[0].secret_env"]
    code, output = validate(str(path))
    assert code == 0, output
    assert "warning: line 27: notify[0].url_env: url_env (FU_HOOK) is not set" in output
    assert "notify notify[1].url as slack: run_finished" in output
    assert "hooks.example" not in output
