"""Signals, kill -9 at the dangerous instants, ``--resume``, and the maintenance window."""

from __future__ import annotations

import json
import signal
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from fleetupgrade.rollout.supervisor import CRASH_AT_ENV
from tests.rollout.conftest import PlanSpec, SimThread, spawn_run, stderr_of
from tests.rollout.scenarios import refs, scenario, sup


def _wait_for(predicate: Any, timeout: float = 20.0) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        assert time.monotonic() < deadline, "condition not reached in time"
        time.sleep(0.05)


def _two_slow(sim_start: Any, duration: str = "300s") -> tuple[SimThread, PlanSpec]:
    sim = sim_start(
        scenario(
            {
                "vc-east": [
                    sup("supervisor-1", upgrade_duration=duration),
                    sup("supervisor-2", upgrade_duration=duration),
                ]
            }
        )
    )
    plan = PlanSpec(
        waves=[{"name": "w", "supervisors": refs("vc-east", "supervisor-1", "supervisor-2")}],
        defaults={"max_concurrent_per_vcenter": 2},
    )
    return sim, plan


def test_sigterm_detaches_then_resume_finishes(
    start_sim: Any, fleet_cli: Any, tmp_path: Path
) -> None:
    """SIGTERM: exit 4 within seconds, in flight ``detached``; --resume follows them to the end."""
    sim, plan = _two_slow(start_sim)
    path = plan.write(tmp_path, sim)
    runs = tmp_path / "runs"
    process = spawn_run(path, runs)
    try:
        _wait_for(lambda: len(sim.stats()["creates"]) == 2)
        process.send_signal(signal.SIGTERM)
        stopped_at = time.monotonic()
        process.wait(15)
    finally:
        process.kill()
    assert process.returncode == 4, stderr_of(runs)
    assert time.monotonic() - stopped_at < 10
    run_dir = next(p for p in runs.iterdir() if p.is_dir())
    report = json.loads((run_dir / "report.json").read_text(encoding="utf-8"))
    assert report["totals"] == {"detached": 2}

    blocked = fleet_cli("run", str(path))
    assert blocked.exit_code == 2
    assert "--resume" in blocked.output

    resumed = fleet_cli("run", str(path), "--resume")
    assert resumed.exit_code == 0, resumed.output
    assert resumed.run_dir == run_dir
    assert set(resumed.outcomes().values()) == {"upgraded"}
    assert sim.stats()["creates"] == {"vc-east/supervisor-1": 1, "vc-east/supervisor-2": 1}


@pytest.mark.parametrize("point", ["before_create", "after_create", "watching"])
def test_kill_9_then_resume_never_fires_twice(
    start_sim: Any, fleet_cli: Any, tmp_path: Path, point: str
) -> None:
    """Killed at any instant, a resumed run ends every Supervisor with exactly one job."""
    sim, plan = _two_slow(start_sim, duration="60s")
    path = plan.write(tmp_path, sim)
    process = spawn_run(path, tmp_path / "runs", env={CRASH_AT_ENV: point})
    try:
        process.wait(30)
    finally:
        process.kill()
    assert process.returncode == -signal.SIGKILL
    partial = json.loads(
        next((tmp_path / "runs").glob("*/report.json")).read_text(encoding="utf-8")
    )
    assert partial["result"] is None  # a readable, partial report survives the kill
    resumed = fleet_cli("run", str(path), "--resume")
    assert resumed.exit_code == 0, resumed.output
    assert set(resumed.outcomes().values()) == {"upgraded"}
    assert sim.stats()["creates"] == {"vc-east/supervisor-1": 1, "vc-east/supervisor-2": 1}


def test_resume_refuses_a_changed_plan(start_sim: Any, fleet_cli: Any, tmp_path: Path) -> None:
    """A plan edited since its run began cannot be resumed (exit 2, says why)."""
    sim, plan = _two_slow(start_sim, duration="60s")
    path = plan.write(tmp_path, sim)
    process = spawn_run(path, tmp_path / "runs", env={CRASH_AT_ENV: "watching"})
    process.wait(30)
    path.write_text(path.read_text(encoding="utf-8") + "\n# edited\n", encoding="utf-8")
    resumed = fleet_cli("run", str(path), "--resume")
    assert resumed.exit_code == 2
    assert "changed" in resumed.output
    fresh = fleet_cli("run", str(path), "--new")
    assert fresh.exit_code == 0, fresh.output


def test_resume_without_unfinished_run_exits_2(fleet_cli: Any, tmp_path: Path) -> None:
    """--resume with nothing to resume says so (exit 2)."""
    plan = PlanSpec(waves=[{"name": "w", "supervisors": refs("vc-east", "supervisor-1")}])
    result = fleet_cli("run", str(plan.write(tmp_path, None)), "--resume")
    assert result.exit_code == 2
    assert "no unfinished run" in result.output


def _iso(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"


def test_window_start_is_waited_for(start_sim: Any, fleet_cli: Any, tmp_path: Path) -> None:
    """Before the window opens the run waits (and logs it); nothing is fired early."""
    sim = start_sim(scenario({"vc-east": [sup("supervisor-1")]}))
    start = datetime.now(UTC) + timedelta(seconds=1.5)
    plan = PlanSpec(
        waves=[{"name": "w", "supervisors": refs("vc-east", "supervisor-1")}],
        window={"start": _iso(start), "end": _iso(start + timedelta(hours=1))},
    )
    result = fleet_cli("run", str(plan.write(tmp_path, sim)))
    assert result.exit_code == 0, result.output
    assert any(e["event"] == "window_waiting" for e in result.events())
    created = [e for e in result.events() if e["event"] == "upgrade_job_created"]
    assert datetime.fromisoformat(created[0]["timestamp"].replace("Z", "+00:00")) >= start


def test_closed_window_fires_nothing(start_sim: Any, fleet_cli: Any, tmp_path: Path) -> None:
    """After the window's end no job is created: ``not_started``, exit 4; --ignore-window runs."""
    sim = start_sim(scenario({"vc-east": [sup("supervisor-1")]}))
    now = datetime.now(UTC)
    plan = PlanSpec(
        waves=[{"name": "w", "supervisors": refs("vc-east", "supervisor-1")}],
        window={"start": _iso(now - timedelta(hours=2)), "end": _iso(now - timedelta(hours=1))},
    )
    path = plan.write(tmp_path, sim)
    result = fleet_cli("run", str(path))
    assert result.exit_code == 4
    assert result.outcomes() == {"vc-east/supervisor-1": "not_started"}
    assert sim.stats()["creates"] == {}
    adhoc = fleet_cli("run", str(path), "--new", "--ignore-window")
    assert adhoc.exit_code == 0


def test_window_grace_then_detach(start_sim: Any, fleet_cli: Any, tmp_path: Path) -> None:
    """At end + grace, jobs still running are ``detached`` and later waves ``not_started``."""
    sim = start_sim(
        scenario(
            {"vc-east": [sup("supervisor-1", upgrade_duration="100000s"), sup("supervisor-2")]}
        )
    )
    end = datetime.now(UTC) + timedelta(seconds=1)
    plan = PlanSpec(
        waves=[
            {"name": "one", "supervisors": refs("vc-east", "supervisor-1")},
            {"name": "two", "supervisors": refs("vc-east", "supervisor-2")},
        ],
        window={"start": _iso(end - timedelta(hours=1)), "end": _iso(end), "grace": '"1s"'},
    )
    result = fleet_cli("run", str(plan.write(tmp_path, sim)))
    assert result.exit_code == 4
    assert result.outcomes() == {
        "vc-east/supervisor-1": "detached",
        "vc-east/supervisor-2": "not_started",
    }
    assert result.report["result"] == "stopped"
    assert [w["status"] for w in result.report["waves"]] == ["stopped", "not_started"]


def test_second_signal_exits_at_once_and_journal_stays_consistent(
    start_sim: Any, fleet_cli: Any, tmp_path: Path
) -> None:
    """A second SIGTERM exits immediately; --resume still finishes with one job each."""
    sim, plan = _two_slow(start_sim)
    path = plan.write(tmp_path, sim)
    runs = tmp_path / "runs"
    process = spawn_run(path, runs)
    try:
        _wait_for(lambda: len(sim.stats()["creates"]) == 2)
        process.send_signal(signal.SIGTERM)
        process.send_signal(signal.SIGTERM)
        process.wait(15)
    finally:
        process.kill()
    assert process.returncode == 4, stderr_of(runs)
    resumed = fleet_cli("run", str(path), "--resume")
    assert resumed.exit_code == 0, resumed.output
    assert sim.stats()["creates"] == {"vc-east/supervisor-1": 1, "vc-east/supervisor-2": 1}
