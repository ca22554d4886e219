"""A Supervisor in doubt holds its wave; resume settles every doubt; a final run stays final.

End to end against the simulator (issue: decisions an operator can trust unattended,
item 6): every create answer lost, vCenter's clock two minutes behind ours.
"""

from __future__ import annotations

import hashlib
import json
import signal
import time
from pathlib import Path
from typing import Any

import pytest

from tests.rollout.conftest import PlanSpec, spawn_run, stderr_of
from tests.rollout.scenarios import error_check, refs, scenario, sup

LOST = {"lost_response_rate": 1.0, "clock_skew": "-2m"}


def _wait_for(predicate: Any, timeout: float = 20.0) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        assert time.monotonic() < deadline, "condition not reached in time"
        time.sleep(0.02)


def _files(run_dir: Path) -> dict[str, str]:
    return {
        p.name: hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(run_dir.iterdir())
        if p.is_file()
    }


@pytest.mark.slow
def test_lost_answers_with_skewed_clock_hold_the_wave(
    start_sim: Any, fleet_cli: Any, tmp_path: Path
) -> None:
    """A lost create answer keeps its slot: its precheck ERROR halts (max 0), nothing else fires."""
    sim = start_sim(
        scenario(
            {
                "vc-east": [
                    sup("supervisor-1", prechecks=error_check()),
                    sup("supervisor-2"),
                    sup("supervisor-3"),
                ]
            },
            faults={"vc-east": LOST},
        )
    )
    plan = PlanSpec(
        waves=[
            {
                "name": "w",
                "max_precheck_errors": 0,
                "supervisors": refs("vc-east", "supervisor-1", "supervisor-2", "supervisor-3"),
            }
        ]
    )
    path = plan.write(tmp_path, sim)
    result = fleet_cli("run", str(path))
    assert result.exit_code == 3, result.output
    assert result.outcomes() == {
        "vc-east/supervisor-1": "precheck_error",
        "vc-east/supervisor-2": "not_started",
        "vc-east/supervisor-3": "not_started",
    }
    assert sim.stats()["creates"] == {"vc-east/supervisor-1": 1}
    decisions = result.report["decisions"]
    assert all(d["verdict"] == "halt" for d in decisions), decisions
    assert decisions[0]["errors"] == 1
    assert decisions[0]["culprits"] == [{"supervisor": "vc-east/sv-1", "ids": ["tkc.compat"]}]

    # A halted run with nothing in doubt is final: --resume RUN_DIR refuses, touches nothing.
    before = _files(result.run_dir)
    again = fleet_cli("run", str(path), "--resume", str(result.run_dir))
    assert again.exit_code == 2, again.output
    assert "final" in again.output or "nothing to resume" in again.output, again.output
    assert _files(result.run_dir) == before
    assert sim.stats()["creates"] == {"vc-east/supervisor-1": 1}


@pytest.mark.slow
def test_lost_answers_upgrade_with_one_job_each(
    start_sim: Any, fleet_cli: Any, tmp_path: Path
) -> None:
    """Every create answer lost, clocks 2 minutes apart: each job is found, never sent twice."""
    ids = ("supervisor-1", "supervisor-2")
    sim = start_sim(scenario({"vc-east": [sup(i) for i in ids]}, faults={"vc-east": LOST}))
    plan = PlanSpec(
        waves=[{"name": "w", "supervisors": refs("vc-east", *ids)}],
        defaults={"max_concurrent_per_vcenter": 2},
    )
    result = fleet_cli("run", str(plan.write(tmp_path, sim)))
    assert result.exit_code == 0, result.output
    assert set(result.outcomes().values()) == {"upgraded"}
    assert sim.stats()["creates"] == {f"vc-east/{i}": 1 for i in ids}


@pytest.mark.slow
def test_doubt_makes_run_unfinished_and_plain_resume_settles_it(
    start_sim: Any, fleet_cli: Any, tmp_path: Path
) -> None:
    """A lost create, then vCenter down: SIGTERM cuts the create's shield within seconds.

    The Supervisor stays in doubt (phase intent, ``detached``), the run is unfinished, and a
    plain ``--resume`` settles it with vCenter first and records the real outcome.
    """
    sim = start_sim(
        scenario(
            {"vc-east": [sup("supervisor-1", upgrade_duration="100s")]},
            faults={"vc-east": {"lost_response_rate": 1.0}},
        )
    )
    plan = PlanSpec(waves=[{"name": "w", "supervisors": refs("vc-east", "supervisor-1")}])
    path = plan.write(tmp_path, sim)
    runs = tmp_path / "runs"
    process = spawn_run(path, runs)
    try:
        _wait_for(lambda: sim.stats()["creates"] == {"vc-east/supervisor-1": 1})
        sim.set_faults("vc-east", down=True)
        time.sleep(0.5)
        process.send_signal(signal.SIGTERM)
        stopped_at = time.monotonic()
        process.wait(20)
    finally:
        process.kill()
    assert process.returncode == 4, stderr_of(runs)
    assert time.monotonic() - stopped_at < 10
    run_dir = next(p for p in runs.iterdir() if p.is_dir())
    report = json.loads((run_dir / "report.json").read_text(encoding="utf-8"))
    assert report["totals"] == {"detached": 1}, report
    assert report["result"] == "stopped"
    row = report["waves"][0]["supervisors"][0]
    assert row["task_id"] is None  # cut off in phase intent: a create may have reached vCenter
    assert row["reason"] == "a create may have reached vCenter; --resume asks vCenter first"

    sim.set_faults("vc-east", down=False, lost_response_rate=0.0)
    resumed = fleet_cli("run", str(path), "--resume")
    assert resumed.exit_code == 0, resumed.output
    assert resumed.run_dir == run_dir
    assert resumed.outcomes() == {"vc-east/supervisor-1": "upgraded"}
    assert sim.stats()["creates"] == {"vc-east/supervisor-1": 1}
    settled = [e for e in resumed.events() if e["event"] == "reconciled_job_found"]
    assert settled, [e["event"] for e in resumed.events()]
