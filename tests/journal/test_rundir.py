"""Run directories: exact plan matching, damaged runs never block, final runs, permissions."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from fleetupgrade.errors import JournalUnreadable, NothingToResume
from fleetupgrade.journal.rundir import (
    RunId,
    create_run_dir,
    find_run_to_resume,
    is_final,
    parse_run_id,
    private_files,
    scan_runs,
    secure_file,
    unfinished_runs,
)
from fleetupgrade.journal.store import Journal
from fleetupgrade.outcomes import WaveStatus
from tests.journal.builders import Wave, make_run, set_meta

GARBAGE = b"this is not a database at all, just some text" * 20


@pytest.fixture
def wide_umask() -> Iterator[None]:
    """The usual 022 umask, restored afterwards."""
    previous = os.umask(0o022)
    yield
    os.umask(previous)


def _mode(path: Path) -> int:
    return path.stat().st_mode & 0o777


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("20261205T220000Z-dk-3f9a", RunId("20261205T220000Z", "dk", "3f9a")),
        ("20261205T220000Z-dk-2-3f9a", RunId("20261205T220000Z", "dk-2", "3f9a")),
        ("20261205T220000Z-dk-3f9a-dry-run", RunId("20261205T220000Z", "dk", "3f9a", True)),
        ("20261205T220000Z-dk", None),
        ("notes", None),
    ],
)
def test_parse_run_id(name: str, expected: RunId | None) -> None:
    """A run id is ``<stamp>-<plan>-<4 hex>[-dry-run]``; the plan is everything between."""
    assert parse_run_id(name) == expected


def test_runs_of_a_longer_plan_name_are_not_this_plans(tmp_path: Path) -> None:
    """Runs of plan dk-2 (even damaged ones) are invisible to plan dk, and vice versa."""
    runs = tmp_path / "runs"
    dk2 = make_run(runs, plan="dk-2", waves=[Wave("w", ["launched"])])
    broken = make_run(runs, plan="dk-2", run_id="20261205T230000Z-dk-2-beef")
    broken.journal_file.write_bytes(GARBAGE)
    dk = make_run(runs, plan="dk", waves=[Wave("w", ["intent"])])
    assert unfinished_runs(runs, "dk") == [dk]
    scan = scan_runs(runs, "dk")
    assert scan.damaged == ()
    assert unfinished_runs(runs, "dk-2") == [dk2]


@pytest.mark.parametrize(
    "content", [b"", GARBAGE, b"SQLite format 3\x00\x10\x00"], ids=["empty", "garbage", "truncated"]
)
def test_damaged_run_is_skipped_and_reported(tmp_path: Path, content: bytes) -> None:
    """A damaged state.db is reported by the scan and never stops the lookup of other runs."""
    runs = tmp_path / "runs"
    good = make_run(runs, waves=[Wave("w", ["launched"])])
    bad = make_run(runs, run_id="20261206T010000Z-q4-beef")
    bad.journal_file.write_bytes(content)
    scan = scan_runs(runs, "q4")
    assert scan.unfinished == (good,)
    assert [item.run_dir for item in scan.damaged] == [bad]
    assert str(bad.journal_file) in scan.damaged[0].reason
    assert unfinished_runs(runs, "q4") == [good]
    assert find_run_to_resume(runs, "q4", None) == good


def test_explicit_damaged_run_dir_names_the_path(tmp_path: Path) -> None:
    """``--resume RUN_DIR`` of a damaged run: JournalUnreadable with path and SQLite's words."""
    run = make_run(tmp_path / "runs")
    run.journal_file.write_bytes(GARBAGE)
    with pytest.raises(JournalUnreadable) as caught:
        find_run_to_resume(tmp_path / "runs", "q4", run.path)
    assert str(caught.value) == (
        f"cannot open the journal {run.journal_file}: file is not a database"
    )


@pytest.mark.parametrize(
    ("result", "states", "final"),
    [
        (None, ["upgraded", "pending"], False),
        ("stopped", ["upgraded", "not_started"], False),
        ("halted", ["precheck_error", "not_started"], True),
        ("succeeded", ["upgraded"], True),
        ("completed_with_failures", ["failed"], True),
        ("halted", ["precheck_error", "detached"], False),
        ("succeeded", ["upgraded", "intent"], False),
        ("succeeded", ["upgraded", "launched"], False),
    ],
)
def test_final_means_a_result_and_nothing_in_doubt(
    tmp_path: Path, result: str | None, states: list[str], final: bool
) -> None:
    """Final: a result other than stopped and no intent, launched or detached Supervisor."""
    runs = tmp_path / "runs"
    run = make_run(runs, waves=[Wave("w", states, WaveStatus.COMPLETED)])
    if result is not None:
        set_meta(run, result=result)
    assert is_final(run) is final
    assert is_final(run.path) is final
    assert (unfinished_runs(runs, "q4") == [run]) is not final


def test_resume_of_a_final_run_is_refused_and_leaves_it_untouched(tmp_path: Path) -> None:
    """``--resume RUN_DIR`` of a halted run: NothingToResume, files byte for byte the same."""
    run = make_run(tmp_path / "runs", waves=[Wave("w", ["precheck_error"], WaveStatus.HALTED)])
    set_meta(run, result="halted", exit_code=3)
    before = {p.name: p.read_bytes() for p in run.path.iterdir()}
    with pytest.raises(NothingToResume, match="final \\(halted\\)"):
        find_run_to_resume(tmp_path / "runs", "q4", run.path)
    assert {name: (run.path / name).read_bytes() for name in before} == before


def test_resume_of_another_plans_run_or_a_dry_run_is_refused(tmp_path: Path) -> None:
    """``--resume RUN_DIR`` checks that RUN_DIR is a real run of this very plan."""
    other = make_run(tmp_path / "runs", plan="dk-2", waves=[Wave("w", ["launched"])])
    with pytest.raises(NothingToResume, match="run of plan dk-2, not of plan dk"):
        find_run_to_resume(tmp_path / "runs", "dk", other.path)
    dry = make_run(
        tmp_path / "runs", run_id="20261205T220001Z-q4-3f9a-dry-run", meta={"mode": "dry-run"}
    )
    with pytest.raises(NothingToResume, match="dry run"):
        find_run_to_resume(tmp_path / "runs", "q4", dry.path)
    assert unfinished_runs(tmp_path / "runs", "q4") == []


def test_run_dir_and_every_file_are_owner_only(tmp_path: Path, wide_umask: None) -> None:
    """Run dir 0700, plan.toml 0600; state.db, -wal, -shm and a log opened in private_files 0600."""
    runs = tmp_path / "runs"
    runs.mkdir(mode=0o755)
    run = create_run_dir(runs, "20261205T220001Z-q4-3f9a", "name = 'q4'\n")
    assert _mode(runs) == 0o755  # the runs dir is not widened, nor narrowed behind our back
    assert _mode(run.path) == 0o700
    assert _mode(run.plan_file) == 0o600
    with private_files():
        journal = Journal(run.journal_file)
        events = run.events_file.open("a", encoding="utf-8")
    try:
        journal.set_meta(run_id=run.run_id)
        events.write("{}\n")
        created = sorted(p.name for p in run.path.iterdir())
        assert created == ["events.jsonl", "plan.toml", "state.db", "state.db-shm", "state.db-wal"]
        assert {name: _mode(run.path / name) for name in created} == dict.fromkeys(created, 0o600)
    finally:
        events.close()
        journal.close()
    created_after = (tmp_path / "after.txt").open("w")
    created_after.close()
    assert _mode(tmp_path / "after.txt") == 0o644  # the umask is restored after the block


def test_missing_runs_dir_is_created_owner_only(tmp_path: Path, wide_umask: None) -> None:
    """A runs directory that does not exist yet is created 0700."""
    run = create_run_dir(tmp_path / "runs", "20261205T220001Z-q4-3f9a", "")
    assert _mode(tmp_path / "runs") == 0o700
    assert _mode(run.path) == 0o700


def test_secure_file_creates_or_tightens(tmp_path: Path, wide_umask: None) -> None:
    """secure_file makes a missing file 0600 and tightens a 0644 one, keeping its content."""
    fresh = secure_file(tmp_path / "new.log")
    assert _mode(fresh) == 0o600
    wide = tmp_path / "wide.log"
    wide.write_text("kept\n", encoding="utf-8")
    assert _mode(wide) == 0o644
    secure_file(wide)
    assert _mode(wide) == 0o600
    assert wide.read_text(encoding="utf-8") == "kept\n"


def test_a_journal_of_another_layout_is_never_written(tmp_path: Path) -> None:
    """Reopening for writing a journal of another layout refuses with a clear error (exit 2)."""
    from fleetupgrade.errors import JournalIncompatible
    from fleetupgrade.journal.store import Journal

    path = tmp_path / "state.db"
    journal = Journal(path)
    journal.set_meta(run_id="r", journal_schema=1)
    journal.close()
    with pytest.raises(JournalIncompatible, match="another version of fleetupgrade"):
        Journal(path)
    reader = Journal(path, readonly=True)  # status may still read what it can
    assert reader.meta()["run_id"] == "r"
    reader.close()
