"""Window-fit admission, end to end: no upgrade starts that cannot finish inside the window."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from tests.rollout.conftest import PASSWORD_ENV, ROOT, SIM_PASSWORD, PlanSpec
from tests.rollout.scenarios import error_check, refs, scenario, sup


def _iso(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"


def _window(end_in: timedelta, **extra: str) -> dict[str, str]:
    now = datetime.now(UTC)
    return {"start": _iso(now - timedelta(hours=1)), "end": _iso(now + end_in), **extra}


def _rows(result: Any) -> dict[str, dict[str, Any]]:
    return {s["id"]: s for w in result.report["waves"] for s in w["supervisors"]}


def _refusals(result: Any) -> list[dict[str, Any]]:
    return [d for d in result.report["decisions"] if d["verdict"] == "refused"]


@pytest.mark.parametrize(
    "expected",
    [{"expected_upgrade_duration": "1h"}, {"expected_upgrade_duration_per_node": "20m"}],
)
def test_expected_duration_refuses_an_overrun_and_resume_launches_it(
    start_sim: Any, fleet_cli: Any, tmp_path: Path, expected: dict[str, str]
) -> None:
    """A launch predicted (1h, or 3 nodes x 20m) past the end is refused; --resume runs it."""
    sim = start_sim(scenario({"vc-east": [sup("supervisor-1")]}, speed=1000.0))
    plan = PlanSpec(
        defaults=expected,
        window=_window(timedelta(minutes=30, seconds=20)),
        waves=[{"name": "w", "supervisors": refs("vc-east", "supervisor-1")}],
    )
    path = plan.write(tmp_path, sim)
    result = fleet_cli("run", str(path))
    assert result.exit_code == 4, result.output
    row = _rows(result)["supervisor-1"]
    assert row["outcome"] == "not_started"
    assert row["reason"] == "predicted 1h, 30m left in the window"
    refusals = _refusals(result)
    assert len(refusals) == 1
    assert refusals[0]["wave"] == "w"
    assert "predicted 1h, 30m left in the window" in refusals[0]["rule"]
    assert [c["supervisor"] for c in refusals[0]["culprits"]] == ["vc-east/sv-1"]
    assert sim.stats()["creates"] == {}
    resumed = fleet_cli("run", str(path), "--resume", "--ignore-window")
    assert resumed.exit_code == 0, resumed.output
    assert resumed.run_dir == result.run_dir
    assert resumed.outcomes() == {"vc-east/supervisor-1": "upgraded"}
    assert sim.stats()["creates"] == {"vc-east/supervisor-1": 1}


def test_a_launch_that_fits_is_admitted(start_sim: Any, fleet_cli: Any, tmp_path: Path) -> None:
    """A launch predicted to end before the window's end goes ahead."""
    sim = start_sim(scenario({"vc-east": [sup("supervisor-1")]}, speed=1000.0))
    plan = PlanSpec(
        defaults={"expected_upgrade_duration": "10m"},
        window=_window(timedelta(minutes=30)),
        waves=[{"name": "w", "supervisors": refs("vc-east", "supervisor-1")}],
    )
    result = fleet_cli("run", str(plan.write(tmp_path, sim)))
    assert result.exit_code == 0, result.output
    assert result.outcomes() == {"vc-east/supervisor-1": "upgraded"}
    assert _refusals(result) == []


def test_admission_start_launches_until_the_end(
    start_sim: Any, fleet_cli: Any, tmp_path: Path
) -> None:
    """``admission = "start"`` launches what is predicted to overrun, as before."""
    sim = start_sim(scenario({"vc-east": [sup("supervisor-1")]}, speed=1000.0))
    plan = PlanSpec(
        defaults={"expected_upgrade_duration": "1h"},
        window=_window(timedelta(minutes=30), admission='"start"'),
        waves=[{"name": "w", "supervisors": refs("vc-east", "supervisor-1")}],
    )
    result = fleet_cli("run", str(plan.write(tmp_path, sim)))
    assert result.exit_code == 0, result.output
    assert result.outcomes() == {"vc-east/supervisor-1": "upgraded"}
    assert _refusals(result) == []


@pytest.mark.slow
def test_learned_median_refuses_an_overrun(start_sim: Any, fleet_cli: Any, tmp_path: Path) -> None:
    """After three upgrades of ~2 s, a launch with less than that left in the window is refused."""
    first = [f"supervisor-{i}" for i in (1, 2, 3)]
    sim = start_sim(
        scenario(
            {"vc-east": [sup(i, upgrade_duration="200s") for i in [*first, "supervisor-4"]]},
            speed=100.0,
        )
    )
    plan = PlanSpec(
        defaults={"health_timeout": "5s"},
        vcenters={"vc-east": {"max_concurrent": 3}},
        # Wave one ends ~2.3 s in: ~1 s is then left, half the learned ~2 s.
        window=_window(timedelta(seconds=3.3)),
        waves=[
            {"name": "one", "supervisors": refs("vc-east", *first)},
            {"name": "two", "supervisors": refs("vc-east", "supervisor-4")},
        ],
    )
    result = fleet_cli("run", str(plan.write(tmp_path, sim)))
    assert result.exit_code == 4, result.output
    assert result.outcomes() == {
        "vc-east/supervisor-1": "upgraded",
        "vc-east/supervisor-2": "upgraded",
        "vc-east/supervisor-3": "upgraded",
        "vc-east/supervisor-4": "not_started",
    }
    reason = _rows(result)["supervisor-4"]["reason"]
    found = re.fullmatch(r"predicted (\d)s, (\d)s left in the window", reason)
    assert found is not None, reason
    assert int(found[1]) in (2, 3)  # the median of three ~2 s jobs, rounded up
    assert int(found[2]) < 2
    assert [d["wave"] for d in _refusals(result)] == ["two"]
    assert "supervisor-4" not in {k.rsplit("/")[-1] for k in sim.stats()["creates"]}


def test_dry_run_prints_gates_would_halt_and_window_fit(
    start_sim: Any, fleet_cli: Any, tmp_path: Path
) -> None:
    """Dry run: per wave the gate arithmetic, "would halt" (never "halted"), and the fit."""
    main = [f"supervisor-{i}" for i in range(2, 7)]
    sim = start_sim(
        scenario(
            {
                "vc-east": [
                    sup("supervisor-1"),
                    *(sup(i, prechecks=error_check() if i in main[:2] else []) for i in main),
                ]
            },
            speed=1000.0,
        )
    )
    plan = PlanSpec(
        defaults={"expected_upgrade_duration": "20m"},
        vcenters={"vc-east": {"max_concurrent": 2}},
        window=_window(timedelta(minutes=50)),
        waves=[
            {"name": "canary", "supervisors": refs("vc-east", "supervisor-1")},
            {
                "name": "main",
                "max_precheck_error_percent": 25,
                "supervisors": refs("vc-east", *main),
            },
        ],
    )
    runs = tmp_path / "runs"
    # A separate process: the summary is what the real command prints on stdout.
    command = [sys.executable, "-m", "fleetupgrade", "run", str(plan.write(tmp_path, sim))]
    done = subprocess.run(
        [*command, "--dry-run", "--prechecks", "--runs-dir", str(runs), "--no-progress"],
        env={**os.environ, PASSWORD_ENV: SIM_PASSWORD},
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
        cwd=ROOT,
    )
    assert done.returncode == 3, done.stderr
    summary = done.stdout
    assert ": would halt (exit code 3)" in summary.splitlines()[0], summary
    assert "halted" not in summary
    assert (
        "Wave canary: precheck gate: halts at the 1st ERROR of 1; "
        "failure gate: halts at the 1st failure of 1"
    ) in summary
    assert (
        "Wave main: precheck gate: halts at the 2nd ERROR of 5; "
        "failure gate: halts at the 1st failure of 5"
    ) in summary
    assert "  would halt: rule max_precheck_error_percent" in summary
    assert "  window: 1 upgrade(s) of ~20m in 1 round(s): predicted to end " in summary
    assert ": fits" in summary
    assert "  window: 3 upgrade(s) of ~20m in 2 round(s): predicted to end " in summary
    assert "does not fit; launches predicted to overrun would be refused" in summary
    (run_dir,) = runs.iterdir()
    report = json.loads((run_dir / "report.json").read_text(encoding="utf-8"))
    fits = [d for d in report["decisions"] if d["rule"].startswith("window fit")]
    assert [(d["wave"], d["verdict"]) for d in fits] == [
        ("canary", "continue"),
        ("main", "refused"),
    ]
    assert sim.stats()["creates"] == {}
