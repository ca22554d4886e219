"""Read a run's journal without writing to it, and name a damaged one instead of crashing.

``status``, ``--resume`` and the lookup of a plan's unfinished runs all need the same
facts (meta, waves, Supervisor rows) from journals that may belong to a run in progress
(WAL lets us read while it writes) or may be damaged: empty, truncated, garbage. A damaged
journal becomes one :class:`~fleetupgrade.errors.JournalUnreadable` naming the file and
SQLite's own words, never a traceback and never a blocked plan.
"""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from fleetupgrade.errors import JournalUnreadable, RunDirIOError
from fleetupgrade.journal.records import Phase, SupervisorRecord, WaveRecord
from fleetupgrade.journal.store import Journal
from fleetupgrade.outcomes import Outcome

__all__ = ["IN_DOUBT_PHASES", "RunRecord", "in_doubt", "read_run"]

# A job may exist on vCenter for a Supervisor in these phases (docs/design.md, Run directory).
IN_DOUBT_PHASES = frozenset({Phase.INTENT, Phase.LAUNCHED})


def in_doubt(row: SupervisorRecord) -> bool:
    """Whether a Supervisor's fate is unsettled: an intent or job without an end, or detached."""
    return row.phase in IN_DOUBT_PHASES or row.outcome is Outcome.DETACHED


@dataclass(frozen=True, slots=True)
class RunRecord:
    """Everything a reader needs from one journal, read in one go."""

    journal_file: Path
    meta: dict[str, Any]
    waves: tuple[WaveRecord, ...]
    supervisors: tuple[SupervisorRecord, ...]

    @property
    def result(self) -> str | None:
        """The run's recorded result, None while unfinished."""
        value = self.meta.get("result")
        return value if isinstance(value, str) else None

    @property
    def in_doubt(self) -> tuple[SupervisorRecord, ...]:
        """Supervisors whose fate must be settled with vCenter before the run can be final."""
        return tuple(row for row in self.supervisors if in_doubt(row))

    @property
    def final(self) -> bool:
        """Halted or finished with nothing in doubt: ``--resume`` has nothing to do."""
        return self.result not in (None, "stopped") and not self.in_doubt


def _damaged(journal_file: Path, detail: str) -> JournalUnreadable:
    return JournalUnreadable(f"cannot open the journal {journal_file}: {detail}")


def _sqlite_words(exc: BaseException) -> str:
    """SQLite's own message, without the wrapping of the store's I/O error."""
    cause = exc.__cause__ if isinstance(exc, RunDirIOError) else None
    return str(cause if cause is not None else exc)


def read_run(journal_file: Path) -> RunRecord:
    """Read meta, waves and Supervisor rows read-only; a damaged journal raises.

    Raises :class:`~fleetupgrade.errors.JournalUnreadable` (exit 2) with the path and
    SQLite's message ("file is not a database", "database disk image is malformed") or
    what is wrong with a row.
    """
    try:
        size = journal_file.stat().st_size
    except OSError as exc:
        raise _damaged(journal_file, exc.strerror or str(exc)) from exc
    if size == 0:
        raise _damaged(journal_file, "empty file (not a journal)")
    try:
        journal = Journal(journal_file, readonly=True)
    except (sqlite3.Error, RunDirIOError) as exc:
        raise _damaged(journal_file, _sqlite_words(exc)) from exc
    try:
        meta = journal.meta()
        waves = tuple(journal.waves())
        rows = tuple(journal.supervisors())
    except (sqlite3.Error, RunDirIOError) as exc:
        raise _damaged(journal_file, _sqlite_words(exc)) from exc
    except (ValueError, TypeError, KeyError) as exc:  # a row that does not decode
        raise _damaged(journal_file, f"unreadable row: {exc}") from exc
    finally:
        journal.close()
    return RunRecord(journal_file=journal_file, meta=meta, waves=waves, supervisors=rows)
