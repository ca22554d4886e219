"""A simulated run and a real run never mix; a fresh simulator never fabricates outcomes.

End to end (issue: decisions an operator can trust unattended, item 7).
"""

from __future__ import annotations

import json
import signal
import time
from pathlib import Path
from typing import Any

import pytest

from tests.rollout.conftest import PlanSpec, spawn_run, stderr_of
from tests.rollout.scenarios import refs, scenario, sup


def _wait_for(predicate: Any, timeout: float = 20.0) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        assert time.monotonic() < deadline, "condition not reached in time"
        time.sleep(0.02)


def _started(runs: Path) -> bool:
    logs = list(runs.glob("*/events.jsonl"))
    return bool(logs) and '"upgrade_job_created"' in logs[0].read_text(encoding="utf-8")


@pytest.mark.slow
def test_simulated_run_resumes_only_simulated_and_never_fabricates(
    start_sim: Any, fleet_cli: Any, tmp_path: Path
) -> None:
    """Resume without --simulate: exit 2, no connection; with it: unknown task is ``detached``."""
    decoy = start_sim(scenario({"vc-east": [sup("supervisor-1")]}))  # the plan's "real" URLs
    scenario_file = tmp_path / "scenario.toml"
    scenario_file.write_text(
        scenario({"vc-east": [sup("supervisor-1", upgrade_duration="100000s")]}),
        encoding="utf-8",
    )
    plan = PlanSpec(waves=[{"name": "w", "supervisors": refs("vc-east", "supervisor-1")}])
    path = plan.write(tmp_path, decoy)
    runs = tmp_path / "runs"
    process = spawn_run(path, runs, "--scenario", str(scenario_file))
    try:
        _wait_for(lambda: _started(runs))
        process.send_signal(signal.SIGTERM)
        process.wait(20)
    finally:
        process.kill()
    assert process.returncode == 4, stderr_of(runs)
    run_dir = next(p for p in runs.iterdir() if p.is_dir())
    first = json.loads((run_dir / "report.json").read_text(encoding="utf-8"))
    assert first["totals"] == {"detached": 1}

    real = fleet_cli("run", str(path), "--resume")
    assert real.exit_code == 2, real.output
    assert "simulated" in real.output, real.output
    assert decoy.stats()["requests"] == {}

    resumed = fleet_cli("run", str(path), "--resume", "--scenario", str(scenario_file))
    assert resumed.run_dir == run_dir
    assert resumed.outcomes() == {"vc-east/supervisor-1": "detached"}, resumed.output
    reason = resumed.report["waves"][0]["supervisors"][0]["reason"] or ""
    assert "does not know" in reason, reason
    assert resumed.exit_code == 4, resumed.output
    assert decoy.stats()["requests"] == {}
