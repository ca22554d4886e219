"""Smaller trust items: newer versions, missing privilege, the dry run's gate arithmetic.

End to end against the simulator (issue: decisions an operator can trust unattended,
item 8). The create shield's deadline is proven in test_trust_doubt.py (a stop cuts a
create whose answer never settles; the Supervisor stays in doubt; --resume settles it).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from tests.rollout.conftest import PlanSpec
from tests.rollout.scenarios import error_check, refs, scenario, sup


def test_newer_version_is_already_current(start_sim: Any, fleet_cli: Any, tmp_path: Path) -> None:
    """A Supervisor at 9.1.1 for a plan wanting 9.1.0 is ``already_current``, says so, no job."""
    sim = start_sim(
        scenario({"vc-east": [sup("supervisor-1", current_version="9.1.1", available_versions=[])]})
    )
    plan = PlanSpec(waves=[{"name": "w", "supervisors": refs("vc-east", "supervisor-1")}])
    result = fleet_cli("run", str(plan.write(tmp_path, sim)))
    assert result.exit_code == 0, result.output
    row = result.report["waves"][0]["supervisors"][0]
    assert row["outcome"] == "already_current"
    assert row["reason"] == "at 9.1.1, newer than 9.1.0"
    assert [d["verdict"] for d in result.report["decisions"]] == ["continue"] * 3
    assert sim.stats()["creates"] == {}


def test_forbidden_create_names_privilege_and_user(
    start_sim: Any, fleet_cli: Any, tmp_path: Path
) -> None:
    """403 on create: ``rejected``, the reason names Namespaces.Upgrade and the user; gate halts."""
    sim = start_sim(
        scenario(
            {"vc-east": [sup("supervisor-1"), sup("supervisor-2")]},
            users=[
                {
                    "username": "administrator@vsphere.local",
                    "password": "sim-password",
                    "privileges": [],
                }
            ],
        )
    )
    plan = PlanSpec(
        waves=[
            {"name": "w", "supervisors": refs("vc-east", "supervisor-1")},
            {"name": "next", "supervisors": refs("vc-east", "supervisor-2")},
        ]
    )
    result = fleet_cli("run", str(plan.write(tmp_path, sim)))
    assert result.exit_code == 3, result.output
    assert result.outcomes() == {
        "vc-east/supervisor-1": "rejected",
        "vc-east/supervisor-2": "not_started",
    }
    reason = result.report["waves"][0]["supervisors"][0]["reason"] or ""
    assert "Namespaces.Upgrade" in reason, reason
    assert "administrator@vsphere.local" in reason, reason
    halt = next(d for d in result.report["decisions"] if d["verdict"] == "halt")
    assert halt["rule"] == "max_failures: failures > 0"
    assert halt["culprits"][0]["supervisor"] == "vc-east/sv-1"
    assert sim.stats()["creates"] == {}


def test_dry_run_prints_gate_arithmetic_and_would_halt(
    start_sim: Any, fleet_cli: Any, tmp_path: Path
) -> None:
    """The dry run prints each wave's gate arithmetic and says "would halt", never "halted"."""
    sim = start_sim(
        scenario(
            {
                "vc-east": [
                    sup("supervisor-1", prechecks=error_check()),
                    sup("supervisor-2"),
                    sup("supervisor-3"),
                ]
            }
        )
    )
    plan = PlanSpec(
        waves=[
            {
                "name": "canary",
                "max_precheck_error_percent": 10,
                "supervisors": refs("vc-east", "supervisor-1", "supervisor-2"),
            },
            {"name": "rest", "supervisors": refs("vc-east", "supervisor-3")},
        ]
    )
    result = fleet_cli("run", str(plan.write(tmp_path, sim)), "--dry-run", "--prechecks")
    assert result.exit_code == 3, result.output
    out = "\n".join(line for line in result.output.splitlines() if not line.startswith("{"))
    assert "would halt" in out, result.output[-3000:]
    assert (
        "Wave canary: precheck gate: halts at the 1st ERROR of 2; "
        "failure gate: halts at the 1st failure of 2"
    ) in out
    assert "would halt" in out
    assert "tipped by vc-east/sv-1 (tkc.compat)" in out
    assert "halted" not in out
    assert result.outcomes()["vc-east/supervisor-1"] == "precheck_error"
    assert sim.stats()["creates"] == {}
