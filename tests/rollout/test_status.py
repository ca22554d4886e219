"""``fleetupgrade status``: live and final state of a run, read from its journal."""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

from click.testing import CliRunner

from fleetupgrade.cli.main import cli
from fleetupgrade.cli.progress_feed import progress_snapshot
from fleetupgrade.journal.store import Journal
from tests.rollout.conftest import PlanSpec, spawn_run
from tests.rollout.scenarios import refs, scenario, sup


def _status(*args: str) -> tuple[int, str]:
    result = CliRunner().invoke(cli, ["status", *args])
    return result.exit_code, result.output


def test_status_of_a_finished_run(start_sim: Any, fleet_cli: Any, tmp_path: Path) -> None:
    """After a run, status shows its result, exit code and per-wave counts."""
    sim = start_sim(scenario({"vc-east": [sup("supervisor-1"), sup("supervisor-2")]}))
    plan = PlanSpec(
        waves=[{"name": "w", "supervisors": refs("vc-east", "supervisor-1", "supervisor-2")}]
    )
    result = fleet_cli("run", str(plan.write(tmp_path, sim)))
    code, output = _status("--runs-dir", str(result.runs_dir))
    assert code == 0
    assert result.run_dir.name in output
    assert "succeeded" in output
    assert "upgraded 2" in output
    code, output = _status(str(result.run_dir), "--format", "json")
    document = json.loads(output)
    assert document["result"] == "succeeded"
    assert document["waves"][0]["done"] == 2


def test_status_while_another_process_runs_then_after_kill_9(
    start_sim: Any, tmp_path: Path
) -> None:
    """A run in another process is running (exit 5, in-flight job); killed -9 it is interrupted."""
    sim = start_sim(scenario({"vc-east": [sup("supervisor-1", upgrade_duration="600s")]}))
    plan = PlanSpec(waves=[{"name": "w", "supervisors": refs("vc-east", "supervisor-1")}])
    runs = tmp_path / "runs"
    process = spawn_run(plan.write(tmp_path, sim), runs)
    try:
        deadline = time.monotonic() + 20
        while True:
            assert time.monotonic() < deadline, "no in-flight job seen"
            if runs.is_dir() and any(p.is_dir() for p in runs.iterdir()):
                code, output = _status("--runs-dir", str(runs), "--format", "json")
                if code == 5 and json.loads(output)["in_flight"]:
                    break
            time.sleep(0.1)
        document = json.loads(output)
        assert document["result"] == "running"
        assert document["holder"]["pid"] == process.pid
        assert document["in_flight"][0]["supervisor"] == "vc-east/sv-1"
    finally:
        process.kill()
        process.wait(10)
    code, output = _status("--runs-dir", str(runs))
    assert code == 4
    assert "result: interrupted" in output
    assert f"--resume {document['run_dir']}" in output


def test_status_without_runs_exits_2(tmp_path: Path) -> None:
    """Status on an empty runs directory says so, exit 2, no traceback."""
    code, output = _status("--runs-dir", str(tmp_path))
    assert code == 2
    assert "no run found" in output
    assert "Traceback" not in output


def test_progress_snapshot_from_the_journal(start_sim: Any, fleet_cli: Any, tmp_path: Path) -> None:
    """The live display's data (per wave done/in flight/pending) comes from the journal."""
    sim = start_sim(scenario({"vc-east": [sup("supervisor-1"), sup("supervisor-2")]}))
    plan = PlanSpec(
        waves=[
            {"name": "one", "supervisors": refs("vc-east", "supervisor-1")},
            {"name": "two", "supervisors": refs("vc-east", "supervisor-2")},
        ]
    )
    result = fleet_cli("run", str(plan.write(tmp_path, sim)))
    journal = Journal(result.run_dir / "state.db", readonly=True)
    try:
        snapshot = progress_snapshot(journal)
    finally:
        journal.close()
    assert [(w.name, w.done, w.in_flight, w.pending, w.status) for w in snapshot.waves] == [
        ("one", 1, 0, 0, "completed"),
        ("two", 1, 0, 0, "completed"),
    ]
    assert snapshot.in_flight == ()
