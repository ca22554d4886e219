"""Read a run's journal without writing to it, and name a damaged one instead of crashing.

``status``, ``--resume`` and the lookup of a plan's unfinished runs all need the same
facts (meta, waves, Supervisor rows) from journals that may belong to a run in progress
(WAL lets us read while it writes) or may be damaged: empty, truncated, garbage. A damaged
journal becomes one :class:`~fleetupgrade.errors.JournalUnreadable` naming the file and
SQLite's own words, never a traceback and never a blocked plan.
"""

from __future__ import annotations

import sqlite3
from pathlib import Path

from fleetupgrade.errors import JournalUnreadable, RunDirIOError
from fleetupgrade.journal.store import Journal
from fleetupgrade.journal.views import RunView, load_view

__all__ = ["is_final_view", "read_run", "run_result"]


def run_result(view: RunView) -> str | None:
    """The run's recorded result, None while unfinished."""
    value = view.meta.get("result")
    return value if isinstance(value, str) and value else None


def is_final_view(view: RunView) -> bool:
    """Halted or finished with nothing in doubt: ``--resume`` has nothing to do."""
    return run_result(view) not in (None, "stopped") and not view.in_doubt


def _damaged(journal_file: Path, detail: str) -> JournalUnreadable:
    return JournalUnreadable(f"cannot open the journal {journal_file}: {detail}")


def _sqlite_words(exc: BaseException) -> str:
    """SQLite's own message, without the wrapping of the store's I/O error."""
    cause = exc.__cause__ if isinstance(exc, RunDirIOError) else None
    return str(cause if cause is not None else exc)


def read_run(journal_file: Path) -> RunView:
    """Read the whole journal once, read-only; a damaged journal raises.

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
        return load_view(journal)
    except (sqlite3.Error, RunDirIOError) as exc:
        raise _damaged(journal_file, _sqlite_words(exc)) from exc
    except (ValueError, TypeError, KeyError) as exc:  # a row that does not decode
        raise _damaged(journal_file, f"unreadable row: {exc}") from exc
    finally:
        journal.close()
