"""Wave thresholds at their exact boundaries, limits, work conservation and bulk polling."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import Any

import pytest

from tests.rollout.conftest import PlanSpec
from tests.rollout.scenarios import error_check, refs, scenario, sup


def _wave_of_four(errors_at: tuple[int, ...]) -> str:
    return scenario(
        {
            "vc-east": [
                sup(f"supervisor-{i}", prechecks=error_check() if i in errors_at else [])
                for i in range(1, 5)
            ]
        }
    )


UP, PE, NS = "upgraded", "precheck_error", "not_started"


@pytest.mark.parametrize(
    ("rule", "errors_at", "exit_code", "expected"),
    [
        ({"max_precheck_errors": 0}, (1,), 3, [PE, NS, NS, NS]),
        ({"max_precheck_errors": 1}, (1,), 1, [PE, UP, UP, UP]),
        ({"max_precheck_errors": 1}, (1, 3), 3, [PE, UP, PE, NS]),
        ({"max_precheck_error_percent": 25}, (2,), 1, [UP, PE, UP, UP]),  # 100 > 100 is false
        ({"max_precheck_error_percent": 25}, (2, 3), 3, [UP, PE, PE, NS]),  # 200 > 100
        ({"max_precheck_error_percent": 24.9}, (4,), 3, [UP, UP, UP, PE]),  # 100 > 99.6
    ],
)
def test_threshold_boundaries(
    start_sim: Any,
    fleet_cli: Any,
    tmp_path: Path,
    rule: dict[str, Any],
    errors_at: tuple[int, ...],
    exit_code: int,
    expected: list[str],
) -> None:
    """A wave halts exactly when E exceeds the rule; the rest of the wave is ``not_started``."""
    sim = start_sim(_wave_of_four(errors_at))
    plan = PlanSpec(
        waves=[
            {
                "name": "first",
                **rule,
                "supervisors": refs("vc-east", *(f"supervisor-{i}" for i in range(1, 5))),
            }
        ]
    )
    result = fleet_cli("run", str(plan.write(tmp_path, sim)))
    assert result.exit_code == exit_code, result.output
    assert list(result.outcomes().values()) == expected
    wave = result.report["waves"][0]
    assert wave["status"] == ("halted" if exit_code == 3 else "completed")
    assert wave["precheck_errors"] == expected.count(PE)
    decisions = result.report["decisions"]
    assert [d["errors"] for d in decisions if d["verdict"] == "halt"][:1] == (
        [expected.count(PE)] if exit_code == 3 else []
    )
    assert sum(sim.stats()["creates"].values()) == 4 - expected.count(NS)


def test_halted_wave_stops_later_waves(start_sim: Any, fleet_cli: Any, tmp_path: Path) -> None:
    """After a halt, in-flight jobs finish, later waves never start, exit code 3."""
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
            {"name": "canary", "supervisors": refs("vc-east", "supervisor-1", "supervisor-2")},
            {"name": "rest", "supervisors": refs("vc-east", "supervisor-3")},
        ],
        defaults={"max_concurrent_per_vcenter": 2},
    )
    result = fleet_cli("run", str(plan.write(tmp_path, sim)))
    assert result.exit_code == 3
    assert result.outcomes() == {
        "vc-east/supervisor-1": "precheck_error",
        "vc-east/supervisor-2": "upgraded",
        "vc-east/supervisor-3": "not_started",
    }
    statuses = [w["status"] for w in result.report["waves"]]
    assert statuses == ["halted", "not_started"]
    assert result.report["result"] == "halted"
    assert "vc-east/supervisor-3" not in sim.stats()["creates"]
    assert any(e["event"] == "wave_halted" for e in result.events())


def test_upgrade_failures_halt_when_configured(
    start_sim: Any, fleet_cli: Any, tmp_path: Path
) -> None:
    """``max_upgrade_failures`` halts on upgrades that failed after their prechecks passed."""
    sim = start_sim(
        scenario({"vc-east": [sup("supervisor-1", fail_at_percent=30), sup("supervisor-2")]})
    )
    plan = PlanSpec(
        waves=[
            {
                "name": "w",
                "max_upgrade_failures": 0,
                "supervisors": refs("vc-east", "supervisor-1", "supervisor-2"),
            }
        ]
    )
    result = fleet_cli("run", str(plan.write(tmp_path, sim)))
    assert result.exit_code == 3
    assert result.outcomes() == {
        "vc-east/supervisor-1": "failed",
        "vc-east/supervisor-2": "not_started",
    }


def _parse(ts: str) -> datetime:
    return datetime.fromisoformat(ts.replace("Z", "+00:00"))


def test_limits_hold_and_slots_never_idle(start_sim: Any, fleet_cli: Any, tmp_path: Path) -> None:
    """Per-vCenter and fleet caps are never exceeded, and are used to the full."""
    sim = start_sim(
        scenario(
            {vc: [sup(f"supervisor-{i}") for i in range(1, 6)] for vc in ("vc-east", "vc-west")}
        )
    )
    plan = PlanSpec(
        waves=[
            {
                "name": "all",
                "supervisors": refs("vc-east", *(f"supervisor-{i}" for i in range(1, 6)))
                + refs("vc-west", *(f"supervisor-{i}" for i in range(1, 6))),
            }
        ],
        defaults={"max_concurrent_per_vcenter": 2, "max_concurrent_total": 3},
    )
    result = fleet_cli("run", str(plan.write(tmp_path, sim)))
    assert result.exit_code == 0, result.output
    stats = sim.stats()
    peaks = stats["peak_in_progress"]
    assert peaks["*"] == 3
    assert max(peaks["vc-east"], peaks["vc-west"]) == 2
    # Work conservation: whenever a job ended while others waited, a new one was created
    # within a couple of poll intervals (simulated time: speed 100, poll 50 ms → 5 s).
    jobs = sorted(stats["jobs"], key=lambda j: _parse(j["created_at"]))
    ends = sorted(_parse(j["ended_at"]) for j in jobs)
    for job, previous_end in zip(jobs[3:], ends, strict=False):
        gap = (_parse(job["created_at"]) - previous_end).total_seconds()
        assert gap < 40, gap


def test_status_is_polled_in_bulk(start_sim: Any, fleet_cli: Any, tmp_path: Path) -> None:
    """One Upgrades list per vCenter per poll interval, however many jobs are in flight."""
    count = 8
    sim = start_sim(
        scenario(
            {
                "vc-east": [
                    sup(f"supervisor-{i}", upgrade_duration="100s") for i in range(1, count + 1)
                ]
            }
        )
    )
    plan = PlanSpec(
        waves=[
            {
                "name": "all",
                "supervisors": refs("vc-east", *(f"supervisor-{i}" for i in range(1, count + 1))),
            }
        ],
        defaults={"max_concurrent_per_vcenter": count, "poll_interval": "100ms"},
    )
    started = datetime.now()
    result = fleet_cli("run", str(plan.write(tmp_path, sim)))
    elapsed = (datetime.now() - started).total_seconds()
    assert result.exit_code == 0, result.output
    requests = sim.stats()["vcenter_requests"]["vc-east"]
    lists = requests["GET /api/vcenter/namespace-management/software/supervisors/upgrades"]
    assert lists <= elapsed / 0.1 + 2
    gets = requests.get(
        "GET /api/vcenter/namespace-management/software/supervisors/upgrades/{supervisor}", 0
    )
    # an all-success wave is classified from the bulk answers alone: no single reads
    assert gets == 0
