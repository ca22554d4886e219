"""Operator control end to end: approval gates, pause/continue/abort from another process.

The run is a separate process (``spawn_run``); the commands go through the real CLI
from the test process, through the run's journal, as an operator's second shell would.
"""

from __future__ import annotations

import json
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from fleetupgrade.cli.main import cli
from fleetupgrade.journal.readonly import read_run
from tests.rollout.conftest import PlanSpec, SimThread, spawn_run, stderr_of
from tests.rollout.scenarios import refs, scenario, sup

CONTROL_BOUND = 2.0  # seconds: a control command is acted on within this


def _wait_for(predicate: Any, timeout: float = 20.0) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        assert time.monotonic() < deadline, "condition not reached in time"
        time.sleep(0.05)


def _cli(*args: str) -> tuple[int, str]:
    result = CliRunner().invoke(cli, list(args))
    if result.exception is not None and not isinstance(result.exception, SystemExit):
        raise result.exception
    return result.exit_code, result.output


def _run_dir(runs: Path) -> Path:
    _wait_for(lambda: runs.is_dir() and any((p / "state.db").is_file() for p in runs.iterdir()))
    return next(p for p in runs.iterdir() if (p / "state.db").is_file())


def _status(run_dir: Path) -> tuple[int, dict[str, Any]]:
    code, out = _cli("status", str(run_dir), "--format", "json")
    return code, json.loads(out)


def _report(run_dir: Path) -> dict[str, Any]:
    return json.loads((run_dir / "report.json").read_text(encoding="utf-8"))


def _events(run_dir: Path) -> list[dict[str, Any]]:
    text = (run_dir / "events.jsonl").read_text(encoding="utf-8")
    return [json.loads(line) for line in text.splitlines() if line.strip()]


def _creates(sim: SimThread) -> int:
    return sum(sim.stats()["creates"].values())


def _history(run_dir: Path) -> list[Any]:
    return read_run(run_dir / "state.db").history


def _handled(run_dir: Path, event: str) -> bool:
    return any(h.event == event for h in _history(run_dir))


def _gated(
    start_sim: Any,
    tmp_path: Path,
    *,
    duration: str = "60s",
    count: int = 2,
    defaults: dict[str, Any] | None = None,
    window: dict[str, str] | None = None,
) -> tuple[SimThread, Path]:
    ids = [f"supervisor-{i}" for i in range(1, count + 1)]
    sim = start_sim(scenario({"vc-east": [sup(i, upgrade_duration=duration) for i in ids]}))
    plan = PlanSpec(
        waves=[{"name": "canary", "require_approval": True, "supervisors": refs("vc-east", *ids)}],
        defaults={"max_concurrent_per_vcenter": 2, **(defaults or {})},
        window=window,
    )
    return sim, plan.write(tmp_path, sim)


def _awaiting(run_dir: Path) -> bool:
    code, doc = _status(run_dir)
    return code == 5 and [w["status"] for w in doc["waves"]] == ["awaiting_approval"]


def test_gated_wave_waits_and_approve_from_another_process(start_sim: Any, tmp_path: Path) -> None:
    """A gated wave waits (status 5, awaiting_approval); ``approve --by`` lets it run."""
    sim, path = _gated(start_sim, tmp_path)
    runs = tmp_path / "runs"
    process = spawn_run(path, runs)
    try:
        run_dir = _run_dir(runs)
        _wait_for(lambda: _awaiting(run_dir))
        code, doc = _status(run_dir)
        assert (code, doc["result"]) == (5, "waiting")
        assert doc["waiting"] == {"kind": "approval", "until": None, "wave": "canary"}
        _, text = _cli("status", str(run_dir))
        assert "waiting for approval of wave canary" in text
        assert "wave_awaiting_approval" in [e["event"] for e in _events(run_dir)]
        assert _creates(sim) == 0
        code, out = _cli("approve", str(run_dir), "--wave", "canary", "--by", "alice")
        assert code == 0, out
        sent = time.monotonic()
        _wait_for(lambda: _creates(sim) > 0, timeout=CONTROL_BOUND)
        assert time.monotonic() - sent < CONTROL_BOUND
        process.wait(30)
    finally:
        process.kill()
    assert process.returncode == 0, stderr_of(runs)
    report = _report(run_dir)
    approved = [h for h in report["history"] if h["event"] == "approved"]
    assert len(approved) == 1
    assert approved[0]["by"] == "alice"
    assert approved[0]["at"]
    assert set(report["totals"]) == {"upgraded"}
    assert sim.stats()["creates"] == {"vc-east/supervisor-1": 1, "vc-east/supervisor-2": 1}


def test_reject_halts_with_exit_3(start_sim: Any, tmp_path: Path) -> None:
    """``reject --reason`` halts the waiting wave: exit 3, decision "rejected by …", no create."""
    sim, path = _gated(start_sim, tmp_path, defaults={"approval_timeout": "10m"})
    runs = tmp_path / "runs"
    process = spawn_run(path, runs)
    try:
        run_dir = _run_dir(runs)
        _wait_for(lambda: _awaiting(run_dir))
        until = _status(run_dir)[1]["waiting"]["until"]  # the approval timeout's instant
        assert datetime.fromisoformat(until) > datetime.now(UTC) + timedelta(minutes=9)
        code, out = _cli(
            "reject", str(run_dir), "--wave", "canary", "--by", "bob", "--reason", "CAB said no"
        )
        assert code == 0, out
        process.wait(CONTROL_BOUND + 5)
    finally:
        process.kill()
    assert process.returncode == 3, stderr_of(runs)
    report = _report(run_dir)
    assert report["waves"][0]["status"] == "halted"
    assert report["totals"] == {"not_started": 2}
    decision = report["decisions"][-1]
    assert decision["verdict"] == "rejected"
    assert "rejected by bob: CAB said no" in json.dumps(decision)
    assert _creates(sim) == 0


@pytest.mark.slow
def test_approval_timeout_stops_and_resume_waits_again(
    start_sim: Any, fleet_cli: Any, tmp_path: Path
) -> None:
    """``approval_timeout`` passing stops the run (exit 4); ``--resume`` waits for approval again."""
    sim, path = _gated(start_sim, tmp_path, defaults={"approval_timeout": "1s"})
    first = fleet_cli("run", str(path))
    assert first.exit_code == 4, first.output
    assert first.report["waves"][0]["status"] == "not_started"
    assert "approval of wave canary timed out" in json.dumps(first.report["history"])

    again = fleet_cli("run", str(path), "--resume")
    assert again.exit_code == 4, again.output
    assert again.run_dir == first.run_dir
    waits = [e for e in again.events() if e["event"] == "wave_awaiting_approval"]
    assert len(waits) == 2
    assert _creates(sim) == 0

    code, out = _cli("pause", str(again.run_dir))
    assert code == 2
    assert "is not running (stopped)" in out
    code, out = _cli("approve", str(again.run_dir), "--wave", "canary", "--by", "erin")
    assert code == 0, out
    assert "takes effect when the run is resumed" in out
    approved = fleet_cli("run", str(path), "--resume")
    assert approved.exit_code == 0, approved.output
    assert set(approved.outcomes().values()) == {"upgraded"}
    assert [h["by"] for h in approved.report["history"] if h["event"] == "approved"] == ["erin"]


def test_run_approve_pre_approves(start_sim: Any, fleet_cli: Any, tmp_path: Path) -> None:
    """``run --approve WAVE`` passes the gate without waiting; the history says so."""
    sim, path = _gated(start_sim, tmp_path)
    result = fleet_cli("run", str(path), "--approve", "canary")
    assert result.exit_code == 0, result.output
    assert "wave_awaiting_approval" not in [e["event"] for e in result.events()]
    approved = [h for h in result.report["history"] if h["event"] == "approved"]
    assert [h["by"] for h in approved] == ["run --approve"]
    assert _creates(sim) == 2


@pytest.mark.slow
def test_pause_freezes_creates_and_continue_resumes(start_sim: Any, tmp_path: Path) -> None:
    """``pause``: no new create while the in-flight job ends; ``continue``: launches resume."""
    ids = [f"supervisor-{i}" for i in range(1, 5)]
    sim = start_sim(scenario({"vc-east": [sup(i, upgrade_duration="50s") for i in ids]}))
    plan = PlanSpec(waves=[{"name": "w", "supervisors": refs("vc-east", *ids)}])
    runs = tmp_path / "runs"
    process = spawn_run(plan.write(tmp_path, sim), runs)
    try:
        run_dir = _run_dir(runs)
        _wait_for(lambda: _creates(sim) >= 1)
        code, out = _cli("pause", str(run_dir), "--by", "carol")
        assert code == 0, out
        sent = time.monotonic()
        _wait_for(lambda: _status(run_dir)[1]["waiting"] is not None, timeout=CONTROL_BOUND)
        assert time.monotonic() - sent < CONTROL_BOUND
        code, doc = _status(run_dir)
        assert (code, doc["result"]) == (5, "waiting")
        assert doc["waiting"] == {"kind": "pause", "until": None, "by": "carol"}
        frozen = _creates(sim)
        # Every job launched before the pause ends, and nothing new is fired meanwhile.
        _wait_for(lambda: _status(run_dir)[1]["waves"][0]["done"] >= frozen)
        time.sleep(0.5)  # several poll rounds (50 ms) in which a launch would show
        assert _creates(sim) == frozen < 4
        code, out = _cli("continue", str(run_dir), "--by", "carol")
        assert code == 0, out
        sent = time.monotonic()
        _wait_for(lambda: _creates(sim) > frozen, timeout=CONTROL_BOUND)
        assert time.monotonic() - sent < CONTROL_BOUND
        process.wait(30)
    finally:
        process.kill()
    assert process.returncode == 0, stderr_of(runs)
    events = [h["event"] for h in _report(run_dir)["history"]]
    assert events.index("paused") < events.index("continued")
    assert sim.stats()["creates"] == {f"vc-east/{i}": 1 for i in ids}


@pytest.mark.slow
def test_abort_from_another_process_detaches_and_exits_4(
    start_sim: Any, fleet_cli: Any, tmp_path: Path
) -> None:
    """``abort --reason``: exit 4 within seconds, in flight ``detached``; resume asks no approval."""
    sim, path = _gated(start_sim, tmp_path, duration="300s")
    runs = tmp_path / "runs"
    process = spawn_run(path, runs, "--approve", "canary")
    try:
        run_dir = _run_dir(runs)
        _wait_for(lambda: _creates(sim) == 2)
        code, out = _cli("approve", str(run_dir), "--wave", "canary")
        assert code == 2
        assert "has already started (running)" in out
        code, out = _cli(  # no RUN_DIR: the newest unfinished run in --runs-dir
            "abort", "--runs-dir", str(runs), "--by", "dave", "--reason", "smoke in the DC"
        )
        assert code == 0, out
        sent = time.monotonic()
        process.wait(15)
        elapsed = time.monotonic() - sent
    finally:
        process.kill()
    assert process.returncode == 4, stderr_of(runs)
    assert elapsed < CONTROL_BOUND + 3
    report = _report(run_dir)
    assert report["totals"] == {"detached": 2}
    aborted = [h for h in report["history"] if h["event"] == "aborted"]
    assert [(h["by"], h["reason"]) for h in aborted] == [("dave", "smoke in the DC")]
    assert "aborted by dave: smoke in the DC" in json.dumps(report["history"])
    assert "control_received" in [e["event"] for e in _events(run_dir)]
    assert _creates(sim) == 2

    resumed = fleet_cli("run", str(path), "--resume")  # the gate was passed: no new wait
    assert resumed.exit_code == 0, resumed.output
    assert set(resumed.outcomes().values()) == {"upgraded"}
    assert sim.stats()["creates"] == {"vc-east/supervisor-1": 1, "vc-east/supervisor-2": 1}


@pytest.mark.slow
def test_window_closing_while_waiting_for_approval_stops(start_sim: Any, tmp_path: Path) -> None:
    """A window that closes while a wave waits for approval stops the run (exit 4)."""
    now = datetime.now(UTC)
    window = {
        "start": (now - timedelta(minutes=5)).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "end": (now + timedelta(seconds=3)).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "grace": '"10m"',
    }
    sim, path = _gated(start_sim, tmp_path, window=window)
    runs = tmp_path / "runs"
    process = spawn_run(path, runs)
    try:
        run_dir = _run_dir(runs)
        _wait_for(lambda: _awaiting(run_dir))
        process.wait(15)
    finally:
        process.kill()
    assert process.returncode == 4, stderr_of(runs)
    report = _report(run_dir)
    assert report["waves"][0]["status"] == "not_started"
    assert "window" in json.dumps(report["history"])
    assert _creates(sim) == 0


def test_control_to_finished_or_unknown_run_exits_2(
    start_sim: Any, fleet_cli: Any, tmp_path: Path
) -> None:
    """``approve``/``pause``/``abort`` to a finished, unknown or absent run: exit 2, clear message."""
    _, path = _gated(start_sim, tmp_path)
    done = fleet_cli("run", str(path), "--approve", "canary")
    assert done.exit_code == 0, done.output
    run_dir = str(done.run_dir)
    for args in (
        ("pause", run_dir),
        ("abort", run_dir, "--reason", "late"),
        ("approve", run_dir, "--wave", "canary"),
    ):
        code, out = _cli(*args)
        assert code == 2, out
        assert "is finished" in out
    code, out = _cli("pause", str(tmp_path / "no-such-run"))
    assert code == 2
    assert "not a run directory" in out
    code, out = _cli("continue", "--runs-dir", str(tmp_path / "empty"))
    assert code == 2
    assert "no unfinished run found" in out
