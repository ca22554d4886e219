"""``fleetupgrade run`` end to end against the simulator over HTTPS on loopback."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import pytest

from fleetupgrade.journal.rundir import PlanLock
from tests.rollout.conftest import PlanSpec
from tests.rollout.scenarios import error_check, refs, scenario, sup, warning_check


def test_every_supervisor_upgraded(start_sim: Any, fleet_cli: Any, tmp_path: Path) -> None:
    """A clean wave upgrades every Supervisor once, exits 0 and writes every report file."""
    sim = start_sim(
        scenario({"vc-east": [sup("supervisor-1"), sup("supervisor-2"), sup("supervisor-3")]})
    )
    plan = PlanSpec(
        waves=[
            {
                "name": "all",
                "supervisors": refs("vc-east", "supervisor-1", "supervisor-2", "supervisor-3"),
            }
        ]
    )
    result = fleet_cli("run", str(plan.write(tmp_path, sim)))
    assert result.exit_code == 0, result.output
    assert set(result.outcomes().values()) == {"upgraded"}
    stats = sim.stats()
    assert stats["creates"] == {f"vc-east/supervisor-{i}": 1 for i in (1, 2, 3)}
    assert all(s["current_version"] == "9.1.0" for s in stats["supervisors"].values())
    report = result.report
    assert report["result"] == "succeeded"
    assert report["exit_code"] == 0
    assert report["totals"] == {"upgraded": 3}
    sv = report["waves"][0]["supervisors"][0]
    assert (sv["from_version"], sv["to_version"]) == ("9.0.0", "9.1.0")
    assert sv["task_id"]
    assert sv["started_at"]
    assert sv["finished_at"]
    for name in (
        "plan.toml",
        "state.db",
        "events.jsonl",
        "report.json",
        "report.md",
        "report.html",
        "junit.xml",
    ):
        assert (result.run_dir / name).is_file(), name


def test_each_outcome_is_classified(start_sim: Any, fleet_cli: Any, tmp_path: Path) -> None:
    """Prechecks, failures, refusals and already-current Supervisors each get their outcome."""
    sim = start_sim(
        scenario(
            {
                "vc-east": [
                    sup("supervisor-1"),
                    sup("supervisor-2", current_version="9.1.0", available_versions=[]),
                    sup("supervisor-3", prechecks=error_check()),
                    sup("supervisor-4", prechecks=warning_check()),
                    sup("supervisor-5", prechecks=warning_check()),
                    sup("supervisor-6", fail_at_percent=50),
                    sup("supervisor-7", unsupported=True),
                    sup("supervisor-8", available_versions=["9.2.0"]),
                ]
            }
        )
    )
    supervisors = refs("vc-east", *(f"supervisor-{i}" for i in range(1, 9)))
    supervisors[4] = {**supervisors[4], "ignore_precheck_warnings": True}
    plan = PlanSpec(
        waves=[
            {
                "name": "mixed",
                "max_precheck_errors": 5,
                "max_failures": 8,
                "supervisors": supervisors,
            }
        ],
        defaults={"max_concurrent_per_vcenter": 4},
    )
    result = fleet_cli("run", str(plan.write(tmp_path, sim)))
    assert result.exit_code == 1, result.output
    assert result.outcomes() == {
        "vc-east/supervisor-1": "upgraded",
        "vc-east/supervisor-2": "already_current",
        "vc-east/supervisor-3": "precheck_error",
        "vc-east/supervisor-4": "precheck_warning",
        "vc-east/supervisor-5": "upgraded",
        "vc-east/supervisor-6": "failed",
        "vc-east/supervisor-7": "rejected",
        "vc-east/supervisor-8": "rejected",
    }
    creates = sim.stats()["creates"]
    assert "vc-east/supervisor-2" not in creates
    assert "vc-east/supervisor-8" not in creates
    by_name = {s["name"]: s for s in result.report["waves"][0]["supervisors"]}
    assert by_name["sv-3"]["messages"][0]["severity"] == "ERROR"
    assert "tkc" in by_name["sv-3"]["reason"].lower()
    assert "not available" in by_name["sv-8"]["reason"]
    assert result.report["result"] == "completed_with_failures"


def test_missing_privilege_is_rejected(start_sim: Any, fleet_cli: Any, tmp_path: Path) -> None:
    """A user without Namespaces.Upgrade gets 403 on create: ``rejected``, nothing fired."""
    sim = start_sim(
        scenario(
            {"vc-east": [sup("supervisor-1")]},
            users=[
                {
                    "username": "administrator@vsphere.local",
                    "password": "sim-password",
                    "privileges": [],
                }
            ],
        )
    )
    plan = PlanSpec(waves=[{"name": "w", "supervisors": refs("vc-east", "supervisor-1")}])
    result = fleet_cli("run", str(plan.write(tmp_path, sim)))
    assert result.exit_code == 3  # a rejection is a failure: the wave's failure gate halts
    assert result.outcomes() == {"vc-east/supervisor-1": "rejected"}
    assert "UNAUTHORIZED" in result.report["waves"][0]["supervisors"][0]["reason"]
    assert sim.stats()["creates"] == {}


def test_supervisor_named_not_by_id(start_sim: Any, fleet_cli: Any, tmp_path: Path) -> None:
    """A Supervisor named in the plan is resolved to its id; an unknown name is rejected."""
    sim = start_sim(scenario({"vc-east": [sup("supervisor-1", name="sv-lab-01")]}))
    plan = PlanSpec(
        waves=[
            {
                "name": "w",
                "supervisors": [
                    {"vcenter": "vc-east", "name": "sv-lab-01"},
                    {"vcenter": "vc-east", "name": "sv-nowhere"},
                ],
            }
        ]
    )
    result = fleet_cli("run", str(plan.write(tmp_path, sim)))
    assert result.outcomes() == {
        "vc-east/supervisor-1": "upgraded",
        "vc-east/sv-nowhere": "rejected",
    }
    assert result.report["waves"][0]["supervisors"][0]["id"] == "supervisor-1"


@pytest.mark.parametrize(
    ("timeouts", "duration", "reason"),
    [
        ({"upgrade_timeout": "700ms"}, "1000s", "upgrade_timeout"),
        ({"stall_timeout": "400ms"}, "100000s", "stalled"),
    ],
)
def test_slow_upgrade_times_out(
    start_sim: Any,
    fleet_cli: Any,
    tmp_path: Path,
    timeouts: dict[str, str],
    duration: str,
    reason: str,
) -> None:
    """A job past upgrade_timeout, or without progress for stall_timeout, is ``timed_out``."""
    sim = start_sim(scenario({"vc-east": [sup("supervisor-1", upgrade_duration=duration)]}))
    plan = PlanSpec(
        waves=[{"name": "w", "supervisors": refs("vc-east", "supervisor-1")}], defaults=timeouts
    )
    result = fleet_cli("run", str(plan.write(tmp_path, sim)))
    assert result.exit_code == 3  # a failure: the default failure gate (0) halts
    supervisor = result.report["waves"][0]["supervisors"][0]
    assert supervisor["outcome"] == "timed_out"
    assert reason in supervisor["reason"]
    assert sim.stats()["supervisors"]["vc-east/supervisor-1"]["state"] == "INPROGRESS"


def test_down_vcenter_is_isolated(start_sim: Any, fleet_cli: Any, tmp_path: Path) -> None:
    """A vCenter that refuses connections makes only its own Supervisors ``unreachable``."""
    sim = start_sim(
        scenario(
            {"vc-east": [sup("supervisor-1")], "vc-west": [sup("supervisor-1")]},
            faults={"vc-west": {"down": True}},
        )
    )
    plan = PlanSpec(
        waves=[
            {
                "name": "w",
                "max_failures": 1,
                "supervisors": refs("vc-east", "supervisor-1") + refs("vc-west", "supervisor-1"),
            }
        ]
    )
    result = fleet_cli("run", str(plan.write(tmp_path, sim)))
    assert result.exit_code == 1
    assert result.outcomes() == {
        "vc-east/supervisor-1": "upgraded",
        "vc-west/supervisor-1": "unreachable",
    }
    events = [e for e in result.events() if e["event"] == "vcenter_unreachable"]
    assert events
    assert events[0]["vcenter"] == "vc-west"


def test_wrong_password_is_unreachable_not_precheck_error(
    start_sim: Any, fleet_cli: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Bad credentials make the vCenter's Supervisors ``unreachable`` (a failure), never a
    precheck ERROR."""
    sim = start_sim(scenario({"vc-east": [sup("supervisor-1")]}))
    monkeypatch.setenv("FLEETUPGRADE_TEST_PASSWORD", "wrong-sentinel-password")
    plan = PlanSpec(waves=[{"name": "w", "supervisors": refs("vc-east", "supervisor-1")}])
    result = fleet_cli("run", str(plan.write(tmp_path, sim)))
    assert result.exit_code == 3  # a failure: the default failure gate (0) halts
    assert result.outcomes() == {"vc-east/supervisor-1": "unreachable"}
    for path in result.run_dir.iterdir():
        if path.is_file() and path.suffix != ".db":
            assert "wrong-sentinel-password" not in path.read_text(
                encoding="utf-8", errors="replace"
            )
    assert "wrong-sentinel-password" not in result.output


def test_missing_password_variable_exits_2(
    fleet_cli: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """``run`` refuses to start without its credentials, before anything is fired."""
    monkeypatch.delenv("FLEETUPGRADE_TEST_PASSWORD")
    plan = PlanSpec(waves=[{"name": "w", "supervisors": refs("vc-east", "supervisor-1")}])
    result = fleet_cli("run", str(plan.write(tmp_path, None)))
    assert result.exit_code == 2
    assert "FLEETUPGRADE_TEST_PASSWORD" in result.output
    assert "Traceback" not in result.output


def test_invalid_plan_exits_2_with_location(fleet_cli: Any, tmp_path: Path) -> None:
    """An invalid plan is reported with its location and exit 2, no traceback."""
    path = tmp_path / "bad.toml"
    path.write_text(
        'version = 1\nname = "x"\n[defaults]\nmax_precheck_error = 1\n', encoding="utf-8"
    )
    result = fleet_cli("run", str(path))
    assert result.exit_code == 2
    assert "max_precheck_error" in result.output
    assert "Traceback" not in result.output


def test_second_run_of_same_plan_is_locked(start_sim: Any, fleet_cli: Any, tmp_path: Path) -> None:
    """While another run holds the plan's lock, ``run`` exits 75 and names the holder."""
    sim = start_sim(scenario({"vc-east": [sup("supervisor-1")]}))
    plan = PlanSpec(waves=[{"name": "w", "supervisors": refs("vc-east", "supervisor-1")}])
    path = plan.write(tmp_path, sim)
    lock = PlanLock(tmp_path / "runs", plan.name)
    lock.acquire("20261205T220000Z-test-plan-beef")
    try:
        result = fleet_cli("run", str(path))
    finally:
        lock.release()
    assert result.exit_code == 75
    assert "20261205T220000Z-test-plan-beef" in result.output
    assert sim.stats()["creates"] == {}


def test_simulate_runs_the_demo_without_credentials(
    fleet_cli: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """``--simulate`` with the demo scenario runs end to end and needs no password."""
    monkeypatch.delenv("FLEETUPGRADE_TEST_PASSWORD")
    root = Path(__file__).resolve().parents[2]
    result = fleet_cli(
        "run", str(root / "plans/demo.toml"), "--simulate", str(root / "plans/scenarios/demo.toml")
    )
    assert result.exit_code in (0, 1, 3), result.output
    assert result.report["mode"] == "run"
    assert all(outcome is not None for outcome in result.outcomes().values())
    assert "report" in result.output.lower()


def test_simulate_derives_a_scenario_from_the_plan(fleet_cli: Any, tmp_path: Path) -> None:
    """``--simulate`` without a scenario serves the plan's own fleet; every upgrade succeeds."""
    plan = PlanSpec(
        waves=[
            {
                "name": "one",
                "supervisors": [*refs("vc-a", "supervisor-1"), {"vcenter": "vc-b", "name": "sv-x"}],
            },
            {"name": "two", "supervisors": refs("vc-a", "supervisor-2")},
        ],
        defaults={"poll_interval": "30s"},
    )
    result = fleet_cli("run", str(plan.write(tmp_path, None)), "--simulate")
    assert result.exit_code == 0, result.output
    assert set(result.outcomes().values()) == {"upgraded"}


def test_upgrade_in_progress_is_adopted_not_fired_again(
    start_sim: Any, fleet_cli: Any, tmp_path: Path
) -> None:
    """A job already running toward the desired version is watched, never created twice;
    one toward another version, or a Supervisor in ERROR, is ``rejected``."""
    sim = start_sim(
        scenario(
            {
                "vc-east": [
                    sup("supervisor-1", upgrade_duration="120s"),
                    sup(
                        "supervisor-2",
                        upgrade_duration="100000s",
                        available_versions=["9.1.0", "9.2.0"],
                    ),
                    sup("supervisor-3", fail_at_percent=5),
                ]
            }
        )
    )
    sim.start_job("vc-east", "supervisor-1", "9.1.0")
    sim.start_job("vc-east", "supervisor-2", "9.2.0")
    sim.start_job("vc-east", "supervisor-3", "9.1.0")
    while sim.stats()["supervisors"]["vc-east/supervisor-3"]["state"] != "ERROR":
        time.sleep(0.05)
    plan = PlanSpec(
        waves=[
            {
                "name": "w",
                "max_precheck_errors": 5,
                "supervisors": refs("vc-east", "supervisor-1", "supervisor-2", "supervisor-3"),
            }
        ],
        defaults={"max_concurrent_per_vcenter": 3},
    )
    result = fleet_cli("run", str(plan.write(tmp_path, sim)))
    assert result.outcomes() == {
        "vc-east/supervisor-1": "upgraded",
        "vc-east/supervisor-2": "rejected",
        "vc-east/supervisor-3": "rejected",
    }
    assert sim.stats()["creates"] == {f"vc-east/supervisor-{i}": 1 for i in (1, 2, 3)}
    assert any(e["event"] == "upgrade_adopted" for e in result.events())
