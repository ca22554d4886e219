"""Logging: JSON lines with the contract's keys, context from contextvars, secrets never out."""

from __future__ import annotations

import io
import json
import logging
import re
import stat
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import structlog

from fleetupgrade.logs import (
    CONTEXT_KEYS,
    close_logging,
    configure_logging,
    redact,
    register_secret,
    reset_logging,
)

TIMESTAMP = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$")
SENTINEL = "S3ntinel-p4ss!word"
SESSION = "b6a1f2c4e5d6a7b8c9d0e1f2a3b4c5d6"


@pytest.fixture(autouse=True)
def _reset_logging() -> Iterator[None]:
    structlog.contextvars.clear_contextvars()
    yield
    reset_logging()
    structlog.contextvars.clear_contextvars()


def _lines(path: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]


def test_events_file_has_contract_keys_in_order(tmp_path: Path) -> None:
    """Each line: timestamp (UTC, ms, Z), level, event, then bound context, then data."""
    events = tmp_path / "events.jsonl"
    configure_logging(events_file=events, stderr_format="json")
    structlog.contextvars.bind_contextvars(run_id="run-1", wave="canary")
    with structlog.contextvars.bound_contextvars(vcenter="vc-east", supervisor="sv-01"):
        structlog.get_logger().info("upgrade_job_created", task_id="task-1", attempt=1)
    structlog.get_logger().warning("wave_halted", reason="threshold")
    close_logging()
    first, second = _lines(events)
    assert list(first) == [
        "timestamp", "level", "event", "run_id", "wave", "vcenter", "supervisor", "task_id",
        "attempt",
    ]  # fmt: skip
    assert TIMESTAMP.match(first["timestamp"])
    assert (first["level"], first["event"], first["supervisor"]) == (
        "info", "upgrade_job_created", "sv-01",
    )  # fmt: skip
    assert "vcenter" not in second
    assert (second["level"], second["run_id"], second["reason"]) == (
        "warning",
        "run-1",
        "threshold",
    )


def test_stderr_json_lines(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """With stderr_format='json' stderr gets the same JSON lines as the events file."""
    events = tmp_path / "events.jsonl"
    configure_logging(events_file=events, stderr_format="json")
    structlog.get_logger().info("run_started", run_id="r")
    close_logging()
    err = capsys.readouterr().err.splitlines()
    assert [json.loads(line) for line in err] == _lines(events)


def test_stderr_console_format(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """Console format is human text, not JSON; the events file stays JSON."""
    configure_logging(events_file=tmp_path / "e.jsonl", stderr_format="console")
    structlog.get_logger().info("wave_started", wave="canary")
    err = capsys.readouterr().err
    assert "wave_started" in err
    assert "canary" in err
    assert not err.startswith("{")


def test_default_stderr_format_is_json_off_a_tty(capsys: pytest.CaptureFixture[str]) -> None:
    """stderr_format=None means JSON when stderr is not a terminal (pytest's capture isn't)."""
    configure_logging(events_file=None)
    structlog.get_logger().info("run_started")
    assert json.loads(capsys.readouterr().err)["event"] == "run_started"


def test_levels(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """stderr follows the chosen level; the events file keeps every level, debug included."""
    events = tmp_path / "events.jsonl"
    configure_logging(events_file=events, stderr_format="json", level="warning")
    log = structlog.get_logger()
    log.debug("d")
    log.info("i")
    log.error("e")
    close_logging()
    assert [e["event"] for e in _lines(events)] == ["d", "i", "e"]
    assert [json.loads(x)["event"] for x in capsys.readouterr().err.splitlines()] == ["e"]


def test_default_stderr_level_is_info(capsys: pytest.CaptureFixture[str]) -> None:
    """Without --log-level, stderr shows info and above, not per-poll debug."""
    configure_logging(events_file=None, stderr_format="json")
    log = structlog.get_logger()
    log.debug("upgrade_progress")
    log.info("wave_started")
    assert [json.loads(x)["event"] for x in capsys.readouterr().err.splitlines()] == [
        "wave_started"
    ]


def test_bad_level_or_format_is_rejected() -> None:
    """An unknown level or format names the valid ones."""
    with pytest.raises(ValueError, match="use one of debug, info"):
        configure_logging(events_file=None, level="loud")
    with pytest.raises(ValueError, match="use json or console"):
        configure_logging(events_file=None, stderr_format="xml")  # type: ignore[arg-type]


def test_reconfiguring_switches_files(tmp_path: Path) -> None:
    """Configuring again closes the first events file and writes to the new one."""
    one, two = tmp_path / "one.jsonl", tmp_path / "two.jsonl"
    configure_logging(events_file=one, stderr_format="json")
    log = structlog.get_logger()  # obtained before the reconfiguration, still follows it
    log.info("first")
    configure_logging(events_file=two, stderr_format="json")
    log.info("second")
    close_logging()
    assert [e["event"] for e in _lines(one)] == ["first"]
    assert [e["event"] for e in _lines(two)] == ["second"]


def test_events_directory_created_later(tmp_path: Path) -> None:
    """Lines logged before the run directory exists are kept and written once it does."""
    events = tmp_path / "runs" / "run-1" / "events.jsonl"
    configure_logging(events_file=events, stderr_format="json")
    log = structlog.get_logger()
    log.info("before")
    assert not events.parent.exists()
    events.parent.mkdir(parents=True)
    log.info("after")
    assert [e["event"] for e in _lines(events)] == ["before", "after"]


def test_held_lines_written_at_close(tmp_path: Path) -> None:
    """If the directory never appears, close_logging creates it rather than lose the log."""
    events = tmp_path / "late" / "events.jsonl"
    configure_logging(events_file=events, stderr_format="json")
    structlog.get_logger().info("only")
    close_logging()
    assert [e["event"] for e in _lines(events)] == ["only"]


def test_registered_secret_never_appears(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A registered password is masked in events, values, nested data and tracebacks."""
    events = tmp_path / "events.jsonl"
    configure_logging(events_file=events, stderr_format="json")
    register_secret(SENTINEL)
    log = structlog.get_logger()
    log.info(f"login {SENTINEL}", detail=f"user admin with {SENTINEL} refused")
    log.info("nested", data={"a": [SENTINEL, {"b": SENTINEL.encode()}]}, obj=Exception(SENTINEL))
    try:
        raise RuntimeError(f"boom {SENTINEL}")
    except RuntimeError:
        log.exception("crashed")
    close_logging()
    text = events.read_text(encoding="utf-8")
    err = capsys.readouterr().err
    assert SENTINEL not in text
    assert SENTINEL not in err
    assert text.count("***") >= 6
    assert "boom ***" in text


@pytest.mark.parametrize("fmt", ["json", "console"])
def test_sensitive_keys_and_headers_are_masked(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], fmt: str
) -> None:
    """Passwords, session ids and Authorization headers are masked by key and in text."""
    events = tmp_path / "events.jsonl"
    configure_logging(events_file=events, stderr_format=fmt)  # type: ignore[arg-type]
    structlog.get_logger().info(
        "http_request",
        password="hunter2-pw",
        session_id=SESSION,
        headers={"Authorization": "Basic YWRtaW46aHVudGVyMg==", "vmware-api-session-id": SESSION},
        raw=f"GET /api with vmware-api-session-id: {SESSION} and Authorization: Bearer tok3n-xyz",
        api_token="tok3n-xyz",
        url="https://vc/api",
    )
    close_logging()
    out = events.read_text(encoding="utf-8") + capsys.readouterr().err
    for secret in ("hunter2-pw", SESSION, "YWRtaW46aHVudGVyMg==", "tok3n-xyz"):
        assert secret not in out
    (line,) = _lines(events)
    assert line["password"] == "***"
    assert line["headers"] == {"Authorization": "***", "vmware-api-session-id": "***"}
    assert line["url"] == "https://vc/api"


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("Authorization: Basic dXNlcjpwYXNz", "Authorization: Basic ***"),
        ("authorization=Bearer abcdefgh12345", "authorization=Bearer ***"),
        ('{"password": "pw-1"}', '{"password": "***"}'),
        ("session_id=abc123; path=/", "session_id=***; path=/"),
        ("plain text with upgraded outcome", "plain text with upgraded outcome"),
        ({"token": None, "n": 3, "ok": True}, {"token": None, "n": 3, "ok": True}),
        (("a", 1.5), ["a", 1.5]),
    ],
)
def test_redact(value: object, expected: object) -> None:
    """redact masks inline credentials and keeps everything else as it is."""
    assert redact(value) == expected


def test_logging_is_thread_safe(tmp_path: Path) -> None:
    """Concurrent loggers produce whole lines, none lost or interleaved."""
    events = tmp_path / "events.jsonl"
    configure_logging(events_file=events, stderr_format="json", level="error")
    log = structlog.get_logger()

    def work(n: int) -> None:
        for i in range(200):
            log.info("tick", worker=n, i=i, pad="x" * 200)

    threads = [threading.Thread(target=work, args=(n,)) for n in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    close_logging()
    lines = _lines(events)
    assert len(lines) == 1600
    assert {(e["worker"], e["i"]) for e in lines} == {(n, i) for n in range(8) for i in range(200)}


def test_stderr_is_looked_up_at_write_time(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A stderr replaced after configuration (rich live display, test capture) is used."""
    configure_logging(events_file=None, stderr_format="json")
    replacement = io.StringIO()
    monkeypatch.setattr("sys.stderr", replacement)
    structlog.get_logger().info("later")
    assert json.loads(replacement.getvalue())["event"] == "later"


def test_every_event_has_the_contract_keys(tmp_path: Path) -> None:
    """Through the real pipeline: timestamp, level, event, run_id first, context in order."""
    events = tmp_path / "events.jsonl"
    configure_logging(events_file=events, stderr_format="json", level="error")
    structlog.contextvars.bind_contextvars(run_id="run-7")
    log = structlog.get_logger("fleetupgrade.engine")
    log.info("run_started")
    with structlog.contextvars.bound_contextvars(wave="canary"):
        log.warning("wave_halted", reason="threshold", counts={"precheck_error": 2})
        with structlog.contextvars.bound_contextvars(vcenter="vc-east", supervisor="sv-1"):
            log.info("supervisor_finished", outcome="upgraded", task_id="t-1")
    log.info("run_finished", result="halted", counts={"upgraded": 1})
    logging.getLogger("aiohttp.client").warning("Unclosed connection %s", "c1")
    close_logging()
    lines = _lines(events)
    for line in lines:
        assert list(line)[:4] == ["timestamp", "level", "event", "run_id"]
        assert TIMESTAMP.match(line["timestamp"])
        assert re.fullmatch(r"[a-z][a-z0-9_]*", line["event"])
        context = [k for k in line if k in CONTEXT_KEYS]
        assert context == sorted(context, key=CONTEXT_KEYS.index)
    assert [list(x)[3:] for x in lines] == [
        ["run_id"],
        ["run_id", "wave", "counts", "reason"],
        ["run_id", "wave", "vcenter", "supervisor", "task_id", "outcome"],
        ["run_id", "result", "counts"],
        ["run_id", "message", "logger"],
    ]


def test_other_libraries_log_at_warning_and_up(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """aiohttp/asyncio warnings come through as library_log events; their chatter does not."""
    events = tmp_path / "events.jsonl"
    configure_logging(events_file=events, stderr_format="json", level="debug")
    logging.getLogger("aiohttp.access").info("GET /api 200")
    logging.getLogger("asyncio").debug("Using selector")
    logging.getLogger("somelib").info("hello")
    logging.getLogger("asyncio").error("Task exception was never retrieved")
    close_logging()
    (line,) = _lines(events)
    assert (line["event"], line["level"], line["logger"]) == ("library_log", "error", "asyncio")
    assert line["message"] == "Task exception was never retrieved"
    assert json.loads(capsys.readouterr().err) == line


def test_stamina_retry_line_never_appears(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """stamina's own retry warning is dropped (the client logs http_retry instead)."""
    events = tmp_path / "events.jsonl"
    configure_logging(events_file=events, stderr_format="json", level="debug")
    structlog.get_logger("stamina").warning("stamina.retry_scheduled", retry_num=1)
    logging.getLogger("stamina").warning("retrying")
    structlog.get_logger().info("kept")
    close_logging()
    assert [e["event"] for e in _lines(events)] == ["kept"]
    assert "stamina" not in capsys.readouterr().err


def test_events_file_is_private(tmp_path: Path) -> None:
    """events.jsonl is created 0600, like every file of a run directory."""
    events = tmp_path / "run" / "events.jsonl"
    configure_logging(events_file=events, stderr_format="json")
    structlog.get_logger().info("x")
    close_logging()
    assert stat.S_IMODE(events.stat().st_mode) == 0o600


def test_reset_removes_the_handlers(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """After reset_logging nothing of ours stays on the root logger."""
    reset_logging()  # whatever an earlier test in this worker left configured
    before = list(logging.getLogger().handlers)
    configure_logging(events_file=tmp_path / "e.jsonl", stderr_format="json")
    assert len(logging.getLogger().handlers) == len(before) + 2
    reset_logging()
    assert logging.getLogger().handlers == before
    logging.getLogger("asyncio").error("after reset")
    assert capsys.readouterr().err == ""
