"""Secrets never reach a log, and masking never alters other text (task ids, host names)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import structlog

from fleetupgrade.logs import (
    MASK,
    close_logging,
    configure_logging,
    redact,
    redact_text,
    register_secret,
    register_secret_url,
    reset_logging,
)

TASK_ID = "52a1c0de-7d3b-4e2f-9a6b-0c1d2e3f4a5b:com.vmware.vcenter.namespace_management.software.supervisors.upgrades.jobs"
HOST = "vc-east.demo.example"
URL = f"https://{HOST}/api"


@pytest.fixture(autouse=True)
def _reset() -> Iterator[None]:
    yield
    reset_logging()
    structlog.contextvars.clear_contextvars()


def _log_ordinary_events(events: Path) -> str:
    configure_logging(events_file=events, stderr_format="json")
    log = structlog.get_logger()
    log.info("upgrade_job_created", task_id=TASK_ID, vcenter=HOST, url=URL)
    log.warning("http_retry", detail=f"GET {URL}/cis/tasks/{TASK_ID} answered 503", attempt=2)
    close_logging()
    return events.read_text(encoding="utf-8")


@pytest.mark.parametrize("password", ["vmware", "x", "demo", "example"])
def test_short_password_never_alters_other_text(tmp_path: Path, password: str) -> None:
    """With a short password registered, task ids and host names stay intact."""
    register_secret(password)
    text = _log_ordinary_events(tmp_path / "events.jsonl")
    assert MASK not in text
    first, second = (json.loads(line) for line in text.splitlines())
    assert (first["task_id"], first["vcenter"], first["url"]) == (TASK_ID, HOST, URL)
    assert second["detail"] == f"GET {URL}/cis/tasks/{TASK_ID} answered 503"


def test_short_password_is_still_masked_by_key(tmp_path: Path) -> None:
    """A short password logged under a sensitive key is masked all the same."""
    register_secret("vmware")
    events = tmp_path / "events.jsonl"
    configure_logging(events_file=events, stderr_format="json")
    structlog.get_logger().info("login", password="vmware", vcenter=HOST, task_id=TASK_ID)
    close_logging()
    line = json.loads(events.read_text(encoding="utf-8"))
    assert (line["password"], line["vcenter"], line["task_id"]) == (MASK, HOST, TASK_ID)


def test_long_password_is_masked_in_text() -> None:
    """A registered secret of 8 characters or more is masked wherever it appears."""
    register_secret("Corr3ct-Horse")
    assert redact_text("login with Corr3ct-Horse refused") == f"login with {MASK} refused"


def test_webhook_url_is_masked_whole() -> None:
    """A registered webhook URL disappears entirely from text, path and all."""
    hook = "https://hooks.slack.example/services/T000/B000/XXXXSECRETXXXX"
    register_secret_url(hook)
    text = redact_text(f"POST {hook} failed: 500")
    assert text == f"POST {MASK} failed: 500"
    assert "hooks.slack.example" not in text


@pytest.mark.parametrize(
    "key",
    [
        "password",
        "passwd",
        "secret",
        "api_token",
        "Authorization",
        "session_id",
        "vmware-api-session-id",
        "Cookie",
        "webhook_url",
    ],
)
def test_sensitive_key_masks_any_value(key: str) -> None:
    """Under a sensitive key the value is replaced whatever its type or content."""
    values: list[Any] = ["x", 12345, {"nested": "v"}, ["a", "b"]]
    for value in values:
        assert redact({key: value}) == {key: MASK}


@pytest.mark.parametrize(
    "text",
    [
        "Basic connectivity check passed",
        "Bearer of the news",
        f"task {TASK_ID} on {HOST}",
        "token bucket refilled",
    ],
)
def test_prose_is_left_alone(text: str) -> None:
    """Words like Basic/Bearer/token in prose are not taken for credentials."""
    assert redact_text(text) == text
