"""``fleetupgrade run`` and its run directories: lock refusal, damaged and final runs, modes."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner

from fleetupgrade.cli.main import cli
from fleetupgrade.journal.lock import PlanLock
from fleetupgrade.outcomes import WaveStatus
from tests.journal.builders import Wave, make_run, set_meta
from tests.rollout.conftest import PlanSpec
from tests.rollout.scenarios import refs

PLAN = "test-plan"
GARBAGE = b"this is not a database at all, just some text" * 20


@pytest.fixture
def plan_file(tmp_path: Path) -> Path:
    """A one-Supervisor plan, run with ``--simulate`` (no credentials, no network)."""
    spec = PlanSpec(waves=[{"name": "w", "supervisors": refs("vc-east", "supervisor-1")}])
    return spec.write(tmp_path, None)


def _run(plan: Path, runs: Path, *args: str) -> tuple[int, str]:
    result = CliRunner().invoke(
        cli, ["run", str(plan), "--simulate", "--no-progress", "--runs-dir", str(runs), *args]
    )
    assert result.exception is None or isinstance(result.exception, SystemExit), result.output
    return result.exit_code, result.output


def _run_dirs(runs: Path) -> list[Path]:
    return sorted(p for p in runs.iterdir() if p.is_dir())


def test_held_lock_is_refused_with_a_sentence(plan_file: Path, tmp_path: Path) -> None:
    """Another run holds the plan's lock: exit 75 and a sentence naming it, not raw JSON."""
    runs = tmp_path / "runs"
    lock = PlanLock(runs, PLAN)
    lock.acquire(f"20261205T220001Z-{PLAN}-beef")
    try:
        code, output = _run(plan_file, runs)
    finally:
        lock.release()
    assert code == 75
    assert f"another run of plan {PLAN} is in progress: held by pid " in output
    assert f"(run 20261205T220001Z-{PLAN}-beef)" in output
    assert "{" not in output
    assert _run_dirs(runs) == []


def test_damaged_run_dir_never_blocks_the_plan_and_new_runs_are_private(
    plan_file: Path, tmp_path: Path
) -> None:
    """Damaged or other-plan run dirs never block a new run; its dir is 0700, its files 0600."""
    runs = tmp_path / "runs"
    damaged = make_run(runs, plan=PLAN, run_id=f"20200101T000000Z-{PLAN}-dead")
    damaged.journal_file.write_bytes(GARBAGE)
    other = make_run(runs, plan=f"{PLAN}-2", waves=[Wave("w", ["launched"])])
    code, output = _run(plan_file, runs)
    assert code == 0, output
    (run_dir,) = [p for p in _run_dirs(runs) if p not in (damaged.path, other.path)]
    assert run_dir.stat().st_mode & 0o777 == 0o700
    modes = {p.name: oct(p.stat().st_mode & 0o777) for p in run_dir.iterdir() if p.is_file()}
    assert {"plan.toml", "state.db", "events.jsonl", "report.json"} <= modes.keys()
    assert {name: mode for name, mode in modes.items() if mode != oct(0o600)} == {}


def test_resume_of_a_damaged_run_dir_exits_2_naming_it(plan_file: Path, tmp_path: Path) -> None:
    """``--resume RUN_DIR`` of a damaged run: exit 2, the journal's path and SQLite's words."""
    runs = tmp_path / "runs"
    damaged = make_run(runs, plan=PLAN)
    damaged.journal_file.write_bytes(GARBAGE)
    code, output = _run(plan_file, runs, "--resume", str(damaged.path))
    assert code == 2
    assert f"cannot open the journal {damaged.journal_file}: file is not a database" in output
    assert "Traceback" not in output


def test_resume_of_a_final_run_exits_2_and_touches_nothing(plan_file: Path, tmp_path: Path) -> None:
    """``--resume RUN_DIR`` of a halted run: exit 2, its files byte for byte the same."""
    runs = tmp_path / "runs"
    halted = make_run(runs, plan=PLAN, waves=[Wave("w", ["precheck_error"], WaveStatus.HALTED)])
    set_meta(halted, result="halted", exit_code=3)
    before = {p.name: p.read_bytes() for p in halted.path.iterdir()}
    code, output = _run(plan_file, runs, "--resume", str(halted.path))
    assert code == 2
    assert "final (halted)" in output
    assert {name: (halted.path / name).read_bytes() for name in before} == before
