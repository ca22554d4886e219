"""A console that goes away (closed pipe, full disk, lost terminal) never stops or fails a run."""

from __future__ import annotations

import io
import json
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import structlog

from fleetupgrade.logs import (
    close_logging,
    configure_logging,
    events_log_failure,
    reset_logging,
    set_console_sink,
)
from tests.broken_console import run_reader_leaves, run_with_dead_stderr

LINES = 2000  # ~500 KB of stderr: far more than a pipe buffer holds
CHILD = f"""
import sys
from pathlib import Path
import structlog
from fleetupgrade.logs import close_logging, configure_logging
configure_logging(events_file=Path(sys.argv[1]), stderr_format=sys.argv[2])
log = structlog.get_logger("fleetupgrade.test")
for i in range({LINES}):
    log.info("tick", i=i, pad="x" * 200)
log.warning("last_word")
close_logging()
sys.stderr.write("after close\\n")
"""


@pytest.fixture(autouse=True)
def _reset() -> Iterator[None]:
    yield
    reset_logging()


def _events(path: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]


def _assert_complete(path: Path) -> None:
    events = _events(path)
    assert [e["i"] for e in events[:-1]] == list(range(LINES))
    assert events[-1]["event"] == "last_word"


@pytest.mark.parametrize("fmt", ["json", "console"])
def test_reader_leaving_the_pipe_does_not_fail_the_run(tmp_path: Path, fmt: str) -> None:
    """stderr piped into `head -3`: exit 0, no traceback, the events file complete."""
    events = tmp_path / "events.jsonl"
    left = run_reader_leaves(
        [sys.executable, "-c", CHILD, str(events), fmt], lines=3, merge_stdout=False
    )
    assert left.returncode == 0
    assert len(left.head) == 3
    assert "tick" in left.head[0]
    _assert_complete(events)


@pytest.mark.parametrize("kind", ["full", "hangup"])
def test_dead_stderr_does_not_fail_the_run(tmp_path: Path, kind: str) -> None:
    """stderr on a full disk (ENOSPC) or a hung-up terminal (EIO): exit 0, events complete."""
    if kind == "full" and not Path("/dev/full").exists():
        pytest.skip("no /dev/full here")
    events = tmp_path / "events.jsonl"
    code = run_with_dead_stderr(
        [sys.executable, "-c", CHILD, str(events), "json"],
        kind,  # type: ignore[arg-type]
    )
    assert code == 0
    _assert_complete(events)


class _Broken(io.StringIO):
    """A stderr whose reader left: every write fails with EPIPE."""

    writes = 0

    def write(self, text: str) -> int:
        self.writes += 1
        raise BrokenPipeError(32, "Broken pipe")


def test_console_goes_silent_after_its_first_failure(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """After one failed write the console is not tried again; the events file goes on."""
    events = tmp_path / "events.jsonl"
    configure_logging(events_file=events, stderr_format="json")
    broken = _Broken()
    monkeypatch.setattr("sys.stderr", broken)
    log = structlog.get_logger()
    for i in range(5):
        log.warning("still_running", i=i)
    close_logging()
    assert broken.writes == 1
    assert [e["i"] for e in _events(events)] == [0, 1, 2, 3, 4]


def test_console_sink_takes_warnings_only(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """With a sink set, warnings and up go to it, info goes nowhere; None restores stderr."""
    events = tmp_path / "events.jsonl"
    configure_logging(events_file=events, stderr_format="json")
    shown: list[str] = []
    set_console_sink(shown.append)
    log = structlog.get_logger()
    log.info("quiet")
    log.warning("loud", reason="threshold")
    set_console_sink(None)
    log.info("back")
    close_logging()
    assert [json.loads(line)["event"] for line in shown] == ["loud"]
    assert [json.loads(x)["event"] for x in capsys.readouterr().err.splitlines()] == ["back"]
    assert [e["event"] for e in _events(events)] == ["quiet", "loud", "back"]


def test_console_sink_survives_reconfiguration(capsys: pytest.CaptureFixture[str]) -> None:
    """A sink set before configure_logging (the live display starts first) is honoured."""
    shown: list[str] = []
    set_console_sink(shown.append)
    configure_logging(events_file=None, stderr_format="console")
    structlog.get_logger().error("vcenter_unreachable", vcenter="vc-east")
    assert len(shown) == 1
    assert "vcenter_unreachable" in shown[0]
    assert capsys.readouterr().err == ""


def test_failing_sink_is_a_dead_console(tmp_path: Path) -> None:
    """A sink that raises OSError silences the console; logging and the run go on."""
    events = tmp_path / "events.jsonl"
    configure_logging(events_file=events, stderr_format="json")
    calls: list[str] = []

    def sink(line: str) -> None:
        calls.append(line)
        raise OSError(5, "Input/output error")

    set_console_sink(sink)
    log = structlog.get_logger()
    log.warning("one")
    log.warning("two")
    close_logging()
    assert len(calls) == 1
    assert [e["event"] for e in _events(events)] == ["one", "two"]


def test_events_file_failure_is_reported_not_raised(tmp_path: Path) -> None:
    """A run directory that cannot take the events file: no exception, the error kept."""
    blocker = tmp_path / "not-a-dir"
    blocker.write_text("", encoding="utf-8")
    configure_logging(events_file=blocker / "events.jsonl", stderr_format="json")
    structlog.get_logger().info("held")
    close_logging()
    failure = events_log_failure()
    assert isinstance(failure, OSError)
