"""``run --dry-run [--prechecks]``: read-only classification and halt prediction."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import pytest
import trustme

from tests.rollout.conftest import PlanSpec
from tests.rollout.scenarios import error_check, refs, scenario, sup, warning_check


def test_dry_run_classifies_and_never_creates(
    start_sim: Any, fleet_cli: Any, tmp_path: Path
) -> None:
    """Every dry-run outcome is reported; the simulator sees no create from the dry run."""
    sim = start_sim(
        scenario(
            {
                "vc-east": [
                    sup("supervisor-1"),
                    sup("supervisor-2", current_version="9.1.0", available_versions=[]),
                    sup("supervisor-3", available_versions=["9.2.0"]),
                    sup("supervisor-4", upgrade_duration="100000s"),
                    sup(
                        "supervisor-5",
                        upgrade_duration="100000s",
                        available_versions=["9.1.0", "9.2.0"],
                    ),
                    sup("supervisor-6", fail_at_percent=10),
                ],
                "vc-west": [sup("supervisor-1")],
            },
            faults={"vc-west": {"down": True}},
        )
    )
    sim.start_job("vc-east", "supervisor-4", "9.1.0")
    sim.start_job("vc-east", "supervisor-5", "9.2.0")
    sim.start_job("vc-east", "supervisor-6", "9.1.0")
    deadline = time.monotonic() + 20
    while sim.stats()["supervisors"]["vc-east/supervisor-6"]["state"] != "ERROR":
        assert time.monotonic() < deadline
        time.sleep(0.05)
    creates_before = sim.stats()["creates"]
    plan = PlanSpec(
        waves=[
            {
                "name": "all",
                "supervisors": refs("vc-east", *(f"supervisor-{i}" for i in range(1, 7)))
                + refs("vc-east", "supervisor-99")
                + refs("vc-west", "supervisor-1"),
            }
        ]
    )
    result = fleet_cli("run", str(plan.write(tmp_path, sim)), "--dry-run")
    # rejected/unreachable are failures: the wave would halt
    assert result.exit_code == 3, result.output
    assert result.outcomes() == {
        "vc-east/supervisor-1": "would_upgrade",
        "vc-east/supervisor-2": "already_current",
        "vc-east/supervisor-3": "rejected",
        "vc-east/supervisor-4": "in_progress",
        "vc-east/supervisor-5": "rejected",
        "vc-east/supervisor-6": "rejected",
        "vc-east/supervisor-99": "rejected",
        "vc-west/supervisor-1": "unreachable",
    }
    reasons = {
        s["id"]: s["reason"]
        for s in result.report["waves"][0]["supervisors"]
        if s["vcenter"] == "vc-east"
    }
    assert "not available" in reasons["supervisor-3"]
    assert "9.2.0" in reasons["supervisor-5"]
    assert "ERROR state" in reasons["supervisor-6"]
    assert "not found" in reasons["supervisor-99"]
    assert result.report["mode"] == "dry-run"
    assert sim.stats()["creates"] == creates_before


def test_dry_run_all_clear_exits_0(start_sim: Any, fleet_cli: Any, tmp_path: Path) -> None:
    """When every Supervisor would upgrade, the dry run exits 0 and fires nothing."""
    sim = start_sim(scenario({"vc-east": [sup("supervisor-1"), sup("supervisor-2")]}))
    plan = PlanSpec(
        waves=[{"name": "w", "supervisors": refs("vc-east", "supervisor-1", "supervisor-2")}]
    )
    result = fleet_cli("run", str(plan.write(tmp_path, sim)), "--dry-run")
    assert result.exit_code == 0, result.output
    assert set(result.outcomes().values()) == {"would_upgrade"}
    assert sim.stats()["creates"] == {}


@pytest.mark.parametrize(
    ("errors", "exit_code", "status"),
    [(1, 1, "completed"), (2, 3, "halted")],
)
def test_prechecks_predict_the_halt(
    start_sim: Any, fleet_cli: Any, tmp_path: Path, errors: int, exit_code: int, status: str
) -> None:
    """--prechecks runs vCenter's prechecks and predicts a halt exactly at the boundary."""
    entries = [
        sup(f"supervisor-{i}", prechecks=error_check() if i <= errors else []) for i in range(1, 5)
    ]
    entries.append(sup("supervisor-5", prechecks=warning_check()))
    plan = PlanSpec(
        waves=[
            {
                "name": "w",
                "max_precheck_errors": 1,
                "supervisors": refs("vc-east", *(f"supervisor-{i}" for i in range(1, 6))),
            },
            {"name": "later", "supervisors": refs("vc-east", "supervisor-6")},
        ]
    )
    sim = start_sim(scenario({"vc-east": [*entries, sup("supervisor-6")]}))
    result = fleet_cli("run", str(plan.write(tmp_path, sim)), "--dry-run", "--prechecks")
    assert result.exit_code == exit_code, result.output
    outcomes = result.outcomes()
    assert list(outcomes.values()).count("precheck_error") == errors
    assert outcomes["vc-east/supervisor-5"] == "precheck_warning"
    assert result.report["waves"][0]["status"] == status
    assert result.report["waves"][0]["precheck_errors"] == errors
    sv1 = result.report["waves"][0]["supervisors"][0]
    assert sv1["messages"][0]["severity"] == "ERROR"
    assert sim.stats()["creates"] == {}
    if exit_code == 3:
        assert any(e["event"] == "wave_would_halt" for e in result.events())


def test_tls_failure_is_unreachable_with_advice(
    start_sim: Any, fleet_cli: Any, tmp_path: Path
) -> None:
    """An untrusted certificate makes the vCenter ``unreachable`` with a reason naming ca_file."""
    sim = start_sim(scenario({"vc-east": [sup("supervisor-1")]}))
    other_ca = tmp_path / "other-ca.pem"
    other_ca.write_bytes(trustme.CA().cert_pem.bytes())
    plan = PlanSpec(
        waves=[{"name": "w", "supervisors": refs("vc-east", "supervisor-1")}],
        vcenters={"vc-east": {"ca_file": str(other_ca)}},
    )
    result = fleet_cli("run", str(plan.write(tmp_path, sim)), "--dry-run")
    assert result.exit_code == 3  # rejected/unreachable are failures: the wave would halt
    supervisor = result.report["waves"][0]["supervisors"][0]
    assert supervisor["outcome"] == "unreachable"
    assert "ca_file" in supervisor["reason"]


def test_dry_run_with_simulate(fleet_cli: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    """A scenario can be rehearsed as a dry run with prechecks, with no credentials."""
    monkeypatch.delenv("FLEETUPGRADE_TEST_PASSWORD")
    root = Path(__file__).resolve().parents[2]
    result = fleet_cli(
        "run",
        str(root / "plans/demo.toml"),
        "--simulate",
        str(root / "plans/scenarios/demo.toml"),
        "--dry-run",
        "--prechecks",
    )
    assert result.exit_code in (0, 1, 3), result.output
    assert result.report["mode"] == "dry-run"
    assert "would_upgrade" in result.outcomes().values()
