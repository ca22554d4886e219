"""Crash reports go into the run directory (or the runs directory), private and redacted."""

from __future__ import annotations

import stat
from pathlib import Path

import pytest

from fleetupgrade.logs import crash_log_path, register_secret, write_crash_report


def test_crash_log_goes_into_the_run_directory(tmp_path: Path) -> None:
    """With a run directory the report lands there, never in the working directory."""
    run_dir = tmp_path / "runs" / "r1"
    path = crash_log_path(run_dir, tmp_path / "runs")
    assert path.parent == run_dir
    assert path.name.startswith("crash-")
    assert path.suffix == ".log"


def test_crash_log_before_a_run_directory_exists(tmp_path: Path) -> None:
    """Before a run directory exists, the runs directory takes it."""
    runs = tmp_path / "runs"
    assert crash_log_path(None, runs).parent == runs


def test_crash_report_is_private_and_redacted(tmp_path: Path) -> None:
    """Created 0600 in a 0700 directory, with registered secrets masked."""
    register_secret("Tr4ceback-secret")
    path = crash_log_path(None, tmp_path / "runs")
    write_crash_report(path, "Traceback ...\nValueError: Tr4ceback-secret\n")
    assert path.read_text(encoding="utf-8") == "Traceback ...\nValueError: ***\n"
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert stat.S_IMODE(path.parent.stat().st_mode) == 0o700


def test_unwritable_place_raises_oserror(tmp_path: Path) -> None:
    """When it cannot be written the caller gets OSError (and says so), nothing else."""
    blocker = tmp_path / "file"
    blocker.write_text("", encoding="utf-8")
    with pytest.raises(OSError, match=r"Not a directory|File exists"):
        write_crash_report(crash_log_path(None, blocker / "runs"), "boom")
