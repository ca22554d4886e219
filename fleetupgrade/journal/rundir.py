"""Run directories: where a run's files live, who may read them, and which run to resume.

A run lives in ``RUNS_DIR/<run_id>/`` with the exact plan it ran, its journal, its events
log and its report files, so that everything about a maintenance window can be read (and
re-rendered) afterwards. The directory is 0700 and every file in it 0600: the plan names
hosts and accounts, the journal and logs describe the fleet.

Finding "the latest unfinished run of this plan" must never be blocked by one damaged
directory (an empty or garbage ``state.db``), and must match the plan name exactly: the
run id ``<stamp>-<plan>-<4 hex>`` is parsed, so runs of plan ``dk-2`` are not runs of
plan ``dk``. The per-plan lock lives in :mod:`fleetupgrade.journal.lock`.
"""

from __future__ import annotations

import os
import re
import secrets
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import structlog

from fleetupgrade.errors import JournalUnreadable, NothingToResume
from fleetupgrade.journal.lock import Holder, PlanLock, lock_holder
from fleetupgrade.journal.readonly import is_final_view, read_run
from fleetupgrade.journal.views import RunView

__all__ = [
    "EVENTS_FILE",
    "JOURNAL_FILE",
    "PLAN_FILE",
    "DamagedRun",
    "Holder",
    "PlanLock",
    "RunDir",
    "RunId",
    "RunScan",
    "create_run_dir",
    "find_run_to_resume",
    "is_final",
    "lock_holder",
    "new_run_id",
    "parse_run_id",
    "private_files",
    "scan_runs",
    "secure_file",
    "unfinished_runs",
]

PLAN_FILE = "plan.toml"
JOURNAL_FILE = "state.db"
EVENTS_FILE = "events.jsonl"

DIR_MODE = 0o700
FILE_MODE = 0o600

log = structlog.get_logger("fleetupgrade.rundir")

_RUN_ID = re.compile(
    r"^(?P<stamp>\d{8}T\d{6}Z)-(?P<plan>[a-z0-9-]+)-(?P<suffix>[0-9a-f]{4})(?P<dry>-dry-run)?$"
)


@dataclass(frozen=True, slots=True)
class RunId:
    """A run id taken apart: ``20261205T220000Z-q4-supervisor-upgrade-3f9a[-dry-run]``."""

    stamp: str
    plan: str
    suffix: str
    dry_run: bool = False


def parse_run_id(name: str) -> RunId | None:
    """Parse a run directory's name; None when it is not a run id."""
    match = _RUN_ID.match(name)
    if match is None:
        return None
    return RunId(
        stamp=match["stamp"],
        plan=match["plan"],
        suffix=match["suffix"],
        dry_run=match["dry"] is not None,
    )


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


@contextmanager
def private_files() -> Iterator[None]:
    """Within this block every file and directory this process creates is owner-only.

    Wrap the opening of the journal (SQLite creates ``-wal``/``-shm`` with the database's
    mode), the events log and report writes. The umask is process-wide: keep the block
    around the opening calls.
    """
    previous = os.umask(0o077)
    try:
        yield
    finally:
        os.umask(previous)


def secure_file(path: Path) -> Path:
    """Make sure ``path`` exists and is 0600 (created empty if missing, tightened if wider).

    For files opened by name by code that does not choose the mode (logging sinks).
    """
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND | os.O_CLOEXEC, FILE_MODE)
    try:
        if os.fstat(fd).st_mode & 0o777 != FILE_MODE:
            os.fchmod(fd, FILE_MODE)
    finally:
        os.close(fd)
    return path


def _write_private(path: Path, text: str) -> None:
    """Write a new file, 0600 from its first byte."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_CLOEXEC, FILE_MODE)
    with os.fdopen(fd, "w", encoding="utf-8") as handle:
        handle.write(text)


def create_run_dir(runs_dir: Path, run_id: str, plan_text: str) -> RunDir:
    """Make a new run directory (0700) holding a copy of the plan (0600).

    The runs directory is created 0700 when missing and left as it is otherwise.
    """
    runs_dir.mkdir(parents=True, exist_ok=True, mode=DIR_MODE)
    run_dir = RunDir(runs_dir / run_id)
    run_dir.path.mkdir(mode=DIR_MODE)
    os.chmod(run_dir.path, DIR_MODE)  # exactly 0700, whatever the umask let mkdir give
    _write_private(run_dir.plan_file, plan_text)
    return run_dir


@dataclass(frozen=True, slots=True)
class DamagedRun:
    """A run directory whose journal cannot be read, and why."""

    run_dir: RunDir
    reason: str


@dataclass(frozen=True, slots=True)
class RunScan:
    """A plan's run directories sorted out: unfinished ones (newest first) and damaged ones."""

    unfinished: tuple[RunDir, ...]
    damaged: tuple[DamagedRun, ...]


def _is_unfinished(view: RunView, plan_name: str) -> bool:
    """A real run of this plan that is not final (result missing or stopped, or doubts)."""
    plan = view.meta.get("plan_name")
    if plan is not None and plan != plan_name:
        return False
    if view.in_doubt:
        return True
    if view.meta.get("mode") != "run":
        return False  # a dry run, or a journal whose run never recorded its start
    return not is_final_view(view)


def _plan_run_dirs(runs_dir: Path, plan_name: str) -> list[RunDir]:
    """The real (not dry) run directories of a plan that have a journal, newest first."""
    if not runs_dir.is_dir():
        return []
    found = []
    for path in runs_dir.iterdir():
        run_id = parse_run_id(path.name)
        if run_id is None or run_id.plan != plan_name or run_id.dry_run:
            continue
        if (path / JOURNAL_FILE).is_file():
            found.append(RunDir(path))
    return sorted(found, key=lambda run: run.run_id, reverse=True)


def scan_runs(runs_dir: Path, plan_name: str) -> RunScan:
    """Sort this plan's runs into unfinished and damaged; a damaged one never raises here."""
    unfinished: list[RunDir] = []
    damaged: list[DamagedRun] = []
    for run_dir in _plan_run_dirs(runs_dir, plan_name):
        try:
            view = read_run(run_dir.journal_file)
        except JournalUnreadable as exc:
            damaged.append(DamagedRun(run_dir, str(exc)))
            continue
        if _is_unfinished(view, plan_name):
            unfinished.append(run_dir)
    return RunScan(unfinished=tuple(unfinished), damaged=tuple(damaged))


def unfinished_runs(runs_dir: Path, plan_name: str) -> list[RunDir]:
    """Run directories of this plan that are not final, newest first.

    Damaged run directories are skipped and logged (``run_dir_damaged``); use
    :func:`scan_runs` to get them as data.
    """
    scan = scan_runs(runs_dir, plan_name)
    for item in scan.damaged:
        log.warning("run_dir_damaged", run_dir=str(item.run_dir.path), reason=item.reason)
    return list(scan.unfinished)


def is_final(run_dir: Path | RunDir) -> bool:
    """Halted or finished with nothing in doubt: such a run must not be resumed.

    Raises :class:`~fleetupgrade.errors.JournalUnreadable` for a damaged journal.
    """
    path = run_dir.path if isinstance(run_dir, RunDir) else run_dir
    return is_final_view(read_run(path / JOURNAL_FILE))


def _explicit_run(run_dir: RunDir, plan_name: str) -> RunDir:
    """Check a RUN_DIR given to ``--resume``: a readable, unfinished real run of this plan."""
    if not run_dir.path.is_dir():
        raise NothingToResume(f"no such run directory: {run_dir.path}")
    if not run_dir.journal_file.is_file():
        raise NothingToResume(f"{run_dir.path} is not a run directory (no {JOURNAL_FILE})")
    view = read_run(run_dir.journal_file)  # JournalUnreadable names the path
    plan = view.meta.get("plan_name")
    if plan is not None and plan != plan_name:
        raise NothingToResume(f"{run_dir.path} is a run of plan {plan}, not of plan {plan_name}")
    if view.meta.get("mode") not in (None, "run"):
        raise NothingToResume(f"{run_dir.path} is a dry run: there is nothing to resume")
    if is_final_view(view):
        raise NothingToResume(
            f"run {run_dir.run_id} is final ({view.meta.get('result')}): "
            "there is nothing to resume (start a new run without --resume)"
        )
    return run_dir


def find_run_to_resume(runs_dir: Path, plan_name: str, explicit: Path | None) -> RunDir:
    """The run ``--resume`` continues: the one named, or the latest unfinished of this plan.

    Raises :class:`~fleetupgrade.errors.NothingToResume` (no such run, a run of another
    plan, a dry run, a final run) or :class:`~fleetupgrade.errors.JournalUnreadable` for a
    damaged RUN_DIR; both exit 2 and leave the directory untouched.
    """
    if explicit is not None:
        return _explicit_run(RunDir(explicit), plan_name)
    scan = scan_runs(runs_dir, plan_name)
    if not scan.unfinished:
        skipped = "".join(f"; skipped damaged {item.reason}" for item in scan.damaged)
        raise NothingToResume(f"no unfinished run of plan {plan_name!r} in {runs_dir}{skipped}")
    return scan.unfinished[0]
