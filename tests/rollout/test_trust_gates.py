"""Gates an operator can trust: failures count, a canary that upgraded nothing halts.

End to end against the simulator (issue: decisions an operator can trust unattended,
items 1, 2 and 5): report.json outcomes, exit codes, the decision log and the
simulator's create counts.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from tests.rollout.conftest import PlanSpec, RunResult
from tests.rollout.scenarios import error_check, refs, scenario, sup

UP, FA, RJ, NS, PE = "upgraded", "failed", "rejected", "not_started", "precheck_error"


def _halts(result: RunResult) -> list[dict[str, Any]]:
    return [d for d in result.report["decisions"] if d["verdict"] == "halt"]


@pytest.mark.parametrize(
    ("limits", "rule"),
    [
        ({}, "max_failures: failures > 0"),
        ({"max_failures": 5}, "no Supervisor of the wave upgraded or was already current"),
    ],
    ids=["default-failure-gate", "no-success-rule"],
)
def test_canary_all_rejected_never_releases_next_wave(
    start_sim: Any, fleet_cli: Any, tmp_path: Path, limits: dict[str, Any], rule: str
) -> None:
    """A canary whose Supervisors all end ``rejected`` halts (exit 3); the next wave never starts."""
    sim = start_sim(
        scenario(
            {
                "vc-east": [
                    sup("supervisor-1", available_versions=[]),
                    sup("supervisor-2", available_versions=[]),
                    sup("supervisor-3"),
                ]
            }
        )
    )
    plan = PlanSpec(
        waves=[
            {
                "name": "canary",
                **limits,
                "supervisors": refs("vc-east", "supervisor-1", "supervisor-2"),
            },
            {"name": "prod", "supervisors": refs("vc-east", "supervisor-3")},
        ],
        defaults={"max_concurrent_per_vcenter": 2},
    )
    result = fleet_cli("run", str(plan.write(tmp_path, sim)))
    assert result.exit_code == 3, result.output
    assert result.outcomes() == {
        "vc-east/supervisor-1": RJ,
        "vc-east/supervisor-2": RJ,
        "vc-east/supervisor-3": NS,
    }
    assert [w["status"] for w in result.report["waves"]] == ["halted", "not_started"]
    halts = _halts(result)
    assert halts[0]["rule"] == rule, halts
    assert halts[0]["wave"] == "canary"
    assert halts[0]["failures"] == (2 if limits else 1)
    assert halts[0]["culprits"] or limits, halts
    assert sim.stats()["creates"] == {}


def _four(fail_at: tuple[int, ...]) -> str:
    return scenario(
        {
            "vc-east": [
                sup(f"supervisor-{i}", fail_at_percent=30 if i in fail_at else 0)
                for i in range(1, 5)
            ]
        },
        speed=400.0,
    )


@pytest.mark.parametrize(
    ("rule", "fail_at", "exit_code", "expected"),
    [
        ({}, (2,), 3, [UP, FA, NS, NS]),  # default max_failures = 0
        ({"max_failures": 1}, (2,), 1, [UP, FA, UP, UP]),
        ({"max_failures": 1}, (2, 3), 3, [UP, FA, FA, NS]),
        ({"max_failure_percent": 25}, (2,), 1, [UP, FA, UP, UP]),  # 100 > 100 is false
        ({"max_failure_percent": 24.9}, (4,), 3, [UP, UP, UP, FA]),  # 100 > 99.6
        ({"max_upgrade_failures": 1}, (2, 3), 3, [UP, FA, FA, NS]),  # deprecated alias
    ],
)
def test_failure_gate_boundaries(
    start_sim: Any,
    fleet_cli: Any,
    tmp_path: Path,
    rule: dict[str, Any],
    fail_at: tuple[int, ...],
    exit_code: int,
    expected: list[str],
) -> None:
    """The failure gate halts exactly when F exceeds the limit, with the tipping Supervisor."""
    sim = start_sim(_four(fail_at))
    plan = PlanSpec(
        waves=[
            {
                "name": "w",
                **rule,
                "supervisors": refs("vc-east", *(f"supervisor-{i}" for i in range(1, 5))),
            }
        ]
    )
    result = fleet_cli("run", str(plan.write(tmp_path, sim)))
    assert result.exit_code == exit_code, result.output
    assert list(result.outcomes().values()) == expected
    failures = [d for d in result.report["decisions"] if d["failures"] and d["rule"] != ""]
    assert failures, result.report["decisions"]
    halts = _halts(result)
    if exit_code == 3:
        first = halts[0]
        assert first["failures"] == expected.count(FA)
        assert first["size"] == 4
        tipping = f"vc-east/sv-{fail_at[-1]}"
        assert any(tipping == c["supervisor"] for c in first["culprits"]), json.dumps(halts)
    else:
        assert halts == []
        assert all(d["verdict"] == "continue" for d in failures)
    assert sum(sim.stats()["creates"].values()) == 4 - expected.count(NS)
    assert set(sim.stats()["creates"].values()) == {1}


def test_max_upgrade_failures_alias_warns_in_validate(fleet_cli: Any, tmp_path: Path) -> None:
    """``max_upgrade_failures`` is accepted by validate, with a deprecation warning."""
    plan = PlanSpec(
        waves=[{"name": "w", "max_upgrade_failures": 1, "supervisors": refs("vc-east", "s-1")}]
    )
    result = fleet_cli("validate", str(plan.write(tmp_path, None)))
    assert result.exit_code == 0, result.output
    assert "max_upgrade_failures" in result.output
    assert "max_failures" in result.output
    assert "deprecat" in result.output.lower()


@pytest.mark.parametrize("omit", [False, True], ids=["with-conditions", "messages-only"])
def test_precheck_error_halts_from_either_source(
    start_sim: Any, fleet_cli: Any, tmp_path: Path, omit: bool
) -> None:
    """A precheck ERROR halts the wave whether vCenter reports it in conditions or messages."""
    faults = {"vc-east": {"omit_upgrade_prechecks": True}} if omit else None
    sim = start_sim(
        scenario(
            {
                "vc-east": [
                    sup("supervisor-1", prechecks=error_check()),
                    sup("supervisor-2"),
                ]
            },
            faults=faults,
        )
    )
    plan = PlanSpec(
        waves=[
            {"name": "canary", "supervisors": refs("vc-east", "supervisor-1", "supervisor-2")},
            {"name": "rest", "max_failures": 3, "supervisors": refs("vc-east", "supervisor-3")},
        ]
    )
    result = fleet_cli("run", str(plan.write(tmp_path, sim)))
    assert result.exit_code == 3, result.output
    assert result.outcomes() == {
        "vc-east/supervisor-1": PE,
        "vc-east/supervisor-2": NS,
        "vc-east/supervisor-3": NS,
    }
    halts = _halts(result)
    assert halts[0]["errors"] == 1
    assert halts[0]["culprits"][0]["ids"] == ["tkc.compat"]
    assert sim.stats()["creates"] == {"vc-east/supervisor-1": 1}


def test_adopted_job_judged_by_its_own_flag(start_sim: Any, fleet_cli: Any, tmp_path: Path) -> None:
    """A job started elsewhere ignoring warnings that fails at 50% is ``failed`` and counted."""
    sim = start_sim(
        scenario(
            {
                "vc-east": [
                    sup(
                        "supervisor-1",
                        fail_at_percent=50,
                        upgrade_duration="200s",
                        prechecks=[{"severity": "WARNING", "id": "disk.space", "text": "low"}],
                    ),
                    sup("supervisor-2"),
                ]
            }
        )
    )
    sim.start_job("vc-east", "supervisor-1", ignore_warnings=True)  # elsewhere, before the run
    plan = PlanSpec(
        waves=[
            {"name": "w", "supervisors": refs("vc-east", "supervisor-1")},
            {"name": "next", "supervisors": refs("vc-east", "supervisor-2")},
        ]
    )
    result = fleet_cli("run", str(plan.write(tmp_path, sim)))
    assert result.exit_code == 3, result.output
    rows = result.report["waves"][0]["supervisors"]
    assert result.outcomes() == {"vc-east/supervisor-1": FA, "vc-east/supervisor-2": NS}, rows
    assert "50%" in (rows[0]["reason"] or ""), rows
    assert _halts(result)[0]["failures"] == 1
    assert sim.stats()["creates"] == {"vc-east/supervisor-1": 1}  # the other admin's, not ours


def test_adopted_preexisting_job_that_fails_is_failed(
    start_sim: Any, fleet_cli: Any, tmp_path: Path
) -> None:
    """An upgrade already running at start (``in_progress_to``) that fails at 50% is ``failed``."""
    sim = start_sim(
        scenario(
            {
                "vc-east": [
                    # Long enough to be still running when the run first reads it (~2 s).
                    sup(
                        "supervisor-1",
                        in_progress_to="9.1.0",
                        fail_at_percent=50,
                        upgrade_duration="400s",
                    ),
                    sup("supervisor-2"),
                ]
            }
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
    assert result.outcomes() == {"vc-east/supervisor-1": FA, "vc-east/supervisor-2": NS}
    assert _halts(result)[0]["failures"] == 1
    assert sim.stats()["creates"] == {}
