"""The health gate after each upgrade, end to end against the simulator."""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

from tests.rollout.conftest import PlanSpec
from tests.rollout.scenarios import refs, scenario, sup

SUMMARIES = "GET /api/vcenter/namespace-management/supervisors/summaries"


def _rows(result: Any) -> dict[str, dict[str, Any]]:
    return {s["id"]: s for w in result.report["waves"] for s in w["supervisors"]}


def test_error_health_is_unhealthy_and_halts_the_wave(
    start_sim: Any, fleet_cli: Any, tmp_path: Path
) -> None:
    """A job that succeeds into ERROR health is ``unhealthy`` and halts a max_failures=0 wave."""
    sim = start_sim(
        scenario(
            {"vc-east": [sup("supervisor-1", health_after_upgrade="ERROR"), sup("supervisor-2")]},
            speed=1000.0,
        )
    )
    plan = PlanSpec(
        defaults={"health_timeout": "300ms"},
        waves=[{"name": "w", "supervisors": refs("vc-east", "supervisor-1", "supervisor-2")}],
    )
    result = fleet_cli("run", str(plan.write(tmp_path, sim)))
    assert result.exit_code == 3, result.output
    assert result.outcomes() == {
        "vc-east/supervisor-1": "unhealthy",
        "vc-east/supervisor-2": "not_started",
    }
    reason = _rows(result)["supervisor-1"]["reason"]
    assert "config ERROR" in reason
    assert "control plane reports errors" in reason  # the summary's own message
    assert result.report["waves"][0]["status"] == "halted"
    halts = [d for d in result.report["decisions"] if d["verdict"] == "halt"]
    assert halts
    assert halts[0]["failures"] == 1
    assert sim.stats()["creates"] == {"vc-east/supervisor-1": 1}


def test_slow_settling_is_upgraded_after_it_settles(
    start_sim: Any, fleet_cli: Any, tmp_path: Path
) -> None:
    """A Supervisor CONFIGURING for a while after its job is ``upgraded`` once healthy."""
    # 400 simulated seconds at speed 1000: 0.4 s real of CONFIGURING after the job.
    sim = start_sim(
        scenario({"vc-east": [sup("supervisor-1", health_settle="400s")]}, speed=1000.0)
    )
    plan = PlanSpec(
        defaults={"health_timeout": "10s"},
        waves=[{"name": "w", "supervisors": refs("vc-east", "supervisor-1")}],
    )
    result = fleet_cli("run", str(plan.write(tmp_path, sim)))
    assert result.exit_code == 0, result.output
    row = _rows(result)["supervisor-1"]
    assert row["outcome"] == "upgraded"
    assert row["health_wait_seconds"] >= 0.2


def test_never_settling_is_unhealthy_at_the_timeout(
    start_sim: Any, fleet_cli: Any, tmp_path: Path
) -> None:
    """A Supervisor that stays CONFIGURING is ``unhealthy`` when ``health_timeout`` passes."""
    sim = start_sim(
        scenario(
            {"vc-east": [sup("supervisor-1", health_after_upgrade="CONFIGURING")]}, speed=1000.0
        )
    )
    plan = PlanSpec(
        defaults={"health_timeout": "400ms", "max_failures": 1},
        waves=[{"name": "w", "supervisors": refs("vc-east", "supervisor-1")}],
    )
    result = fleet_cli("run", str(plan.write(tmp_path, sim)))
    assert result.exit_code == 3, result.output  # no Supervisor succeeded: never releases
    row = _rows(result)["supervisor-1"]
    assert row["outcome"] == "unhealthy"
    assert "health_timeout" in row["reason"]
    assert "CONFIGURING" in row["reason"]
    assert 0.4 <= row["health_wait_seconds"] < 3


def test_health_timeout_zero_turns_the_gate_off(
    start_sim: Any, fleet_cli: Any, tmp_path: Path
) -> None:
    """With ``health_timeout = "0s"`` a succeeded job is ``upgraded`` at once, health unread."""
    sim = start_sim(
        scenario({"vc-east": [sup("supervisor-1", health_after_upgrade="ERROR")]}, speed=1000.0)
    )
    plan = PlanSpec(
        defaults={"health_timeout": "0s"},
        waves=[{"name": "w", "supervisors": refs("vc-east", "supervisor-1")}],
    )
    result = fleet_cli("run", str(plan.write(tmp_path, sim)))
    assert result.exit_code == 0, result.output
    row = _rows(result)["supervisor-1"]
    assert row["outcome"] == "upgraded"
    assert row["health_wait_seconds"] is None


def test_health_reads_are_bulk(start_sim: Any, fleet_cli: Any, tmp_path: Path) -> None:
    """Six Supervisors settling at once cost at most one summaries list per poll interval."""
    ids = [f"supervisor-{i}" for i in range(1, 7)]
    sim = start_sim(
        scenario({"vc-east": [sup(i, health_settle="500s") for i in ids]}, speed=1000.0)
    )
    plan = PlanSpec(
        defaults={"health_timeout": "10s", "poll_interval": "50ms"},
        vcenters={"vc-east": {"max_concurrent": 6, "max_requests_per_second": 1000}},
        waves=[{"name": "w", "supervisors": refs("vc-east", *ids)}],
    )
    path = plan.write(tmp_path, sim)
    began = time.monotonic()
    result = fleet_cli("run", str(path))
    elapsed = time.monotonic() - began
    assert result.exit_code == 0, result.output
    assert set(result.outcomes().values()) == {"upgraded"}
    reads = sim.stats()["requests"][SUMMARIES]
    waited = max(r["health_wait_seconds"] for r in _rows(result).values())
    assert waited >= 0.3
    # One name lookup, plus at most one read per 50 ms round while anyone waits.
    assert reads <= 1 + elapsed / 0.05 + 1, (reads, elapsed)
    assert reads < 1 + 6 * waited / 0.05 / 2  # per-Supervisor reads would be ~6x this


def test_dry_run_reports_unhealthy_before(start_sim: Any, fleet_cli: Any, tmp_path: Path) -> None:
    """Dry run: ERROR or CONFIGURING before the upgrade is ``unhealthy_before``, not would_upgrade."""
    sim = start_sim(
        scenario(
            {
                "vc-east": [
                    sup("supervisor-1", health_before="ERROR"),
                    sup("supervisor-2", health_before="CONFIGURING"),
                    sup("supervisor-3"),
                ]
            },
            speed=1000.0,
        )
    )
    ids = ("supervisor-1", "supervisor-2", "supervisor-3")
    plan = PlanSpec(
        defaults={"max_failures": 3},
        waves=[{"name": "w", "supervisors": refs("vc-east", *ids)}],
    )
    path = plan.write(tmp_path, sim)
    result = fleet_cli("run", str(path), "--dry-run")
    assert result.exit_code == 1, result.output
    assert result.outcomes() == {
        "vc-east/supervisor-1": "unhealthy_before",
        "vc-east/supervisor-2": "unhealthy_before",
        "vc-east/supervisor-3": "would_upgrade",
    }
    assert result.report["totals"].get("would_upgrade") == 1
    reasons = {k: v["reason"] for k, v in _rows(result).items()}
    assert "config ERROR" in reasons["supervisor-1"]
    assert "config CONFIGURING" in reasons["supervisor-2"]
    assert "--allow-unhealthy" in reasons["supervisor-1"]
    first = result.run_dir
    allowed = fleet_cli("run", str(path), "--dry-run", "--allow-unhealthy")
    assert allowed.exit_code == 0, allowed.output
    (second,) = {p for p in allowed.runs_dir.iterdir() if p.is_dir()} - {first}
    report = json.loads((second / "report.json").read_text(encoding="utf-8"))
    assert {s["outcome"] for s in report["waves"][0]["supervisors"]} == {"would_upgrade"}
    assert sim.stats()["creates"] == {}
