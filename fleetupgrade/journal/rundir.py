"""Run directories and the per-plan lock.

A run lives in ``RUNS_DIR/<run_id>/`` with the exact plan it ran, its journal, its events
log and its report files, so that everything about a maintenance window can be read (and
re-rendered) afterwards. A lock file per plan name keeps two runs of the same plan from
firing at once; the kernel releases it when the holder dies, so a crashed run never
leaves a stale lock behind.
"""

from __future__ import annotations

import fcntl
import json
import os
import secrets
import socket
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import IO

from fleetupgrade.errors import LockHeld, NothingToResume

PLAN_FILE = "plan.toml"
JOURNAL_FILE = "state.db"
EVENTS_FILE = "events.jsonl"


def new_run_id(plan_name: str, now: datetime | None = None) -> str:
    """A sortable, unique run id: ``20261205T220000Z-<plan>-3f9a``."""
    stamp = (now or datetime.now(UTC)).strftime("%Y%m%dT%H%M%SZ")
    return f"{stamp}-{plan_name}-{secrets.token_hex(2)}"


@dataclass(frozen=True, slots=True)
class RunDir:
    """Paths of one run's files."""

    path: Path

    @property
    def run_id(self) -> str:
        """The run id is the directory's name."""
        return self.path.name

    @property
    def plan_file(self) -> Path:
        """The exact plan text the run began with."""
        return self.path / PLAN_FILE

    @property
    def journal_file(self) -> Path:
        """The SQLite journal."""
        return self.path / JOURNAL_FILE

    @property
    def events_file(self) -> Path:
        """The structured log (JSON lines)."""
        return self.path / EVENTS_FILE


def create_run_dir(runs_dir: Path, run_id: str, plan_text: str) -> RunDir:
    """Make a new run directory holding a copy of the plan."""
    run_dir = RunDir(runs_dir / run_id)
    run_dir.path.mkdir(parents=True, exist_ok=False)
    run_dir.plan_file.write_text(plan_text, encoding="utf-8")
    return run_dir


def unfinished_runs(runs_dir: Path, plan_name: str) -> list[RunDir]:
    """Run directories of this plan that never reached a final result, newest first."""
    from fleetupgrade.journal.store import Journal

    found = []
    if not runs_dir.is_dir():
        return []
    for path in sorted(runs_dir.glob(f"*-{plan_name}-*"), reverse=True):
        journal_file = path / JOURNAL_FILE
        if not journal_file.is_file():
            continue
        journal = Journal(journal_file, readonly=True)
        try:
            meta = journal.meta()
        finally:
            journal.close()
        if meta.get("plan_name") != plan_name or meta.get("mode") != "run":
            continue
        if meta.get("result") in (None, "stopped"):
            found.append(RunDir(path))
    return found


def find_run_to_resume(runs_dir: Path, plan_name: str, explicit: Path | None) -> RunDir:
    """The run ``--resume`` continues: the one named, or the latest unfinished of this plan."""
    if explicit is not None:
        if not (explicit / JOURNAL_FILE).is_file():
            raise NothingToResume(f"{explicit} is not a run directory (no {JOURNAL_FILE})")
        return RunDir(explicit)
    runs = unfinished_runs(runs_dir, plan_name)
    if not runs:
        raise NothingToResume(f"no unfinished run of plan {plan_name!r} in {runs_dir}")
    return runs[0]


class PlanLock:
    """An exclusive, crash-safe lock on one plan name inside a runs directory."""

    def __init__(self, runs_dir: Path, plan_name: str) -> None:
        self.path = runs_dir / f".{plan_name}.lock"
        self._file: IO[str] | None = None

    def acquire(self, run_id: str) -> None:
        """Take the lock or raise :class:`LockHeld` naming the holder."""
        self.path.parent.mkdir(parents=True, exist_ok=True)
        handle = self.path.open("a+", encoding="utf-8")
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            handle.seek(0)
            holder = handle.read().strip() or "unknown holder"
            handle.close()
            raise LockHeld(f"another run of this plan is in progress ({holder})") from None
        handle.seek(0)
        handle.truncate()
        me = {"pid": os.getpid(), "host": socket.gethostname(), "run_id": run_id}
        handle.write(json.dumps(me))
        handle.flush()
        self._file = handle

    def release(self) -> None:
        """Let the next run of this plan start."""
        if self._file is not None:
            self._file.seek(0)
            self._file.truncate()
            fcntl.flock(self._file, fcntl.LOCK_UN)
            self._file.close()
            self._file = None
