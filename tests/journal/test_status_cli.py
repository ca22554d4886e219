"""``fleetupgrade status`` through the CLI: the truth about a run, and its exit code."""

from __future__ import annotations

import io
import json
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from fleetupgrade.cli.main import cli
from fleetupgrade.cli.status import status_command
from fleetupgrade.journal.lock import PlanLock
from fleetupgrade.outcomes import WaveStatus
from tests.journal.builders import LockHolderProcess, Wave, make_run, set_meta

INSTANT = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$")
ROOT = Path(__file__).resolve().parents[2]
WATCH_FAST = ("--watch", "--interval", "50ms")


def _status(*args: str) -> tuple[int, str]:
    result = CliRunner().invoke(cli, ["status", *args])
    assert result.exception is None or isinstance(result.exception, SystemExit), result.output
    return result.exit_code, result.output


def _json(*args: str) -> tuple[int, dict[str, Any]]:
    code, output = _status(*args, "--format", "json")
    return code, json.loads(output)


def test_unfinished_run_without_lock_holder_is_interrupted(tmp_path: Path) -> None:
    """No process holds the lock of an unfinished run: interrupted, exit 4, resume hint."""
    run = make_run(tmp_path / "runs", waves=[Wave("canary", ["upgraded", "launched"])])
    code, output = _status(str(run.path))
    assert code == 4
    assert "result: interrupted" in output
    assert f"fleetupgrade run PLAN --resume {run.path}" in output
    assert "running" not in output.split("result:")[1].splitlines()[0]
    code, document = _json(str(run.path))
    assert (code, document["result"], document["status_exit_code"]) == (4, "interrupted", 4)
    assert document["hint"] == f"fleetupgrade run PLAN --resume {run.path}"


def test_running_while_its_process_lives_interrupted_once_killed(tmp_path: Path) -> None:
    """The run's process holds the lock: running (exit 5); after kill -9: interrupted (exit 4)."""
    runs = tmp_path / "runs"
    run = make_run(runs, waves=[Wave("canary", ["launched"], WaveStatus.RUNNING)])
    holder = LockHolderProcess(runs, "q4", run.run_id)
    try:
        code, document = _json("--runs-dir", str(runs))
        assert (code, document["result"]) == (5, "running")
        assert document["holder"]["pid"] == holder.pid
        assert INSTANT.match(document["holder"]["since"])
        code, output = _status(str(run.path))
        assert code == 5
        assert f"held by pid {holder.pid}" in output
    finally:
        holder.kill()
    code, document = _json(str(run.path))
    assert (code, document["result"]) == (4, "interrupted")


def test_lock_held_by_another_run_of_the_plan_does_not_make_this_one_running(
    tmp_path: Path,
) -> None:
    """The plan's lock held for a newer run: the older unfinished run is still interrupted."""
    runs = tmp_path / "runs"
    old = make_run(runs, waves=[Wave("canary", ["intent"])])
    lock = PlanLock(runs, "q4")
    lock.acquire("20261206T000000Z-q4-beef")
    try:
        code, document = _json(str(old.path))
    finally:
        lock.release()
    assert (code, document["result"]) == (4, "interrupted")


def test_waiting_run_shows_what_it_waits_for(tmp_path: Path) -> None:
    """A held run whose meta says it waits for the window: waiting, until (…mmmZ), exit 5."""
    runs = tmp_path / "runs"
    run = make_run(
        runs,
        waves=[Wave("canary", ["pending"])],
        meta={"waiting": {"kind": "window", "until": "2026-12-05T23:00:00+00:00"}},
    )
    lock = PlanLock(runs, "q4")
    lock.acquire(run.run_id)
    try:
        code, output = _status(str(run.path))
        json_code, document = _json(str(run.path))
    finally:
        lock.release()
    assert code == json_code == 5
    assert "waiting for window until 2026-12-05T23:00:00.000Z" in output
    assert document["result"] == "waiting"
    assert document["waiting"] == {"kind": "window", "until": "2026-12-05T23:00:00.000Z"}


def test_wave_awaiting_approval_is_waiting(tmp_path: Path) -> None:
    """A held run with a wave awaiting approval is waiting (for approval), exit 5."""
    runs = tmp_path / "runs"
    run = make_run(runs, waves=[Wave("canary", ["pending"], WaveStatus.AWAITING_APPROVAL)])
    lock = PlanLock(runs, "q4")
    lock.acquire(run.run_id)
    try:
        code, document = _json(str(run.path))
    finally:
        lock.release()
    assert (code, document["result"], document["waiting"]["kind"]) == (5, "waiting", "approval")
    assert document["waiting"]["wave"] == "canary"  # named even without the run's own note
    assert document["waves"][0]["status"] == "awaiting_approval"


@pytest.mark.parametrize(
    ("result", "states", "expected"),
    [
        ("succeeded", ["upgraded"], 0),
        ("completed_with_failures", ["upgraded", "failed"], 1),
        ("halted", ["precheck_error", "not_started"], 3),
        ("stopped", ["upgraded", "not_started"], 4),
    ],
)
def test_exit_code_of_a_finished_run(
    tmp_path: Path, result: str, states: list[str], expected: int
) -> None:
    """A recorded result maps to the status exit code (0, 1, 3, 4) in text and json."""
    run = make_run(tmp_path / "runs", waves=[Wave("w", states, WaveStatus.COMPLETED)])
    set_meta(run, result=result, exit_code=expected, finished_at="2026-12-05T23:30:00+00:00")
    code, output = _status(str(run.path))
    assert code == expected
    assert f"result: {result}" in output
    code, document = _json(str(run.path))
    assert (code, document["result"]) == (expected, result)


def test_not_started_is_not_done_and_instants_use_one_format(tmp_path: Path) -> None:
    """A halted wave counts not_started apart from done; every instant is …mmmZ; path shown."""
    run = make_run(
        tmp_path / "runs", waves=[Wave("w", ["upgraded", "not_started"], WaveStatus.HALTED)]
    )
    set_meta(run, result="halted", exit_code=3, finished_at="2026-12-05T23:30:00.5+00:00")
    code, output = _status(str(run.path))
    assert code == 3
    assert "1 done, 0 in flight, 1 not started, 0 pending" in output
    assert f"directory {run.path}" in output
    code, document = _json(str(run.path))
    wave = document["waves"][0]
    assert (wave["done"], wave["not_started"], wave["pending"]) == (1, 1, 0)
    assert document["run_dir"] == str(run.path)
    instants = [document["started_at"], document["finished_at"], wave["started_at"]]
    assert all(INSTANT.match(value) for value in instants), instants
    assert document["finished_at"] == "2026-12-05T23:30:00.500Z"


def test_detached_supervisor_keeps_a_stopped_run_resumable(tmp_path: Path) -> None:
    """A stopped run with a detached Supervisor: stopped, exit 4, in doubt listed, hint given."""
    run = make_run(tmp_path / "runs", waves=[Wave("w", ["upgraded", "detached"])])
    set_meta(run, result="stopped", exit_code=4)
    code, output = _status(str(run.path))
    assert code == 4
    assert "1 Supervisor(s) in doubt" in output
    assert "detached" in output
    assert "--resume" in output


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b"this is not a database at all, just some text" * 20, "file is not a database"),
        (b"", "empty file"),
        (b"SQLite format 3\x00" + b"\x10\x00" + b"\x00" * 30, "cannot open the journal"),
    ],
    ids=["garbage", "empty", "truncated"],
)
def test_damaged_journal_exits_2_naming_the_path(
    tmp_path: Path, content: bytes, message: str
) -> None:
    """A journal that cannot be opened: damaged, the path and SQLite's words, exit 2."""
    run = make_run(tmp_path / "runs")
    run.journal_file.write_bytes(content)
    for suffix in ("-wal", "-shm"):
        Path(f"{run.journal_file}{suffix}").unlink(missing_ok=True)
    code, output = _status(str(run.path))
    assert code == 2
    assert "damaged" in output
    assert str(run.journal_file) in output
    assert message in output
    assert "Traceback" not in output
    code, document = _json(str(run.path))
    assert (code, document["result"]) == (2, "damaged")


def test_no_such_run_exits_2(tmp_path: Path) -> None:
    """Status of a directory that does not exist, or is not a run: exit 2 with the path."""
    code, output = _status(str(tmp_path / "nope"))
    assert code == 2
    assert str(tmp_path / "nope") in output
    code, output = _status(str(tmp_path))
    assert code == 2
    assert "not a run directory" in output


def test_bad_interval_is_a_usage_error(tmp_path: Path) -> None:
    """``--interval`` takes a duration; anything else is exit 2 with the accepted forms."""
    code, output = _status(str(tmp_path), "--watch", "--interval", "soon")
    assert code == 2
    assert "--interval" in output
    assert "90s" in output


def test_watch_redraws_until_the_run_ends_then_exits_with_its_code(tmp_path: Path) -> None:
    """``--watch`` prints a block per interval while running and exits 1 once it finishes."""
    runs = tmp_path / "runs"
    run = make_run(runs, waves=[Wave("w", ["upgraded", "failed"], WaveStatus.RUNNING)])
    lock = PlanLock(runs, "q4")
    lock.acquire(run.run_id)
    watcher = subprocess.Popen(
        [sys.executable, "-m", "fleetupgrade", "status", str(run.path), *WATCH_FAST],
        stdout=subprocess.PIPE,
        text=True,
        cwd=ROOT,
    )
    try:
        assert watcher.stdout is not None
        seen = []
        for line in watcher.stdout:
            seen.append(line)
            if line.startswith("result: running"):
                break
        set_meta(run, result="completed_with_failures", exit_code=1)
        lock.release()
        rest = watcher.stdout.read()
        assert watcher.wait(20) == 1
    finally:
        lock.release()
        if watcher.poll() is None:
            watcher.kill()
            watcher.wait(10)
    assert "result: completed_with_failures" in rest
    blocks = [line for line in [*seen, *rest.splitlines()] if line.startswith("run ")]
    assert len(blocks) >= 2


class _Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_watch_on_a_terminal_draws_with_rich(tmp_path: Path) -> None:
    """On a terminal ``--watch`` draws in place (rich), and returns the final exit code."""
    run = make_run(tmp_path / "runs")
    set_meta(run, result="succeeded", exit_code=0)
    out = _Terminal()
    code = status_command(run.path, runs_dir=tmp_path, fmt="text", out=out, watch=True, interval=1)
    assert code == 0
    assert "result: succeeded" in out.getvalue()
