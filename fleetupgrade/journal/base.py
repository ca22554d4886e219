"""The journal's connection: SQLite in WAL mode, transactions, and I/O errors named.

Every write is one transaction (``BEGIN IMMEDIATE`` … ``COMMIT``), fsynced unless it is a
step that a resume re-derives from vCenter when a power loss drops it; every SQLite
I/O failure becomes :class:`RunDirIOError` naming the file and the operation (exit 74).
"""

from __future__ import annotations

import contextlib
import dataclasses
import json
import sqlite3
import types
import typing
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from datetime import datetime
from enum import Enum
from pathlib import Path
from typing import Any, TypeVar

from fleetupgrade.errors import JournalIncompatible, RunDirIOError

__all__ = ["JOURNAL_SCHEMA", "JournalBase", "from_row", "ts"]

R = TypeVar("R")

JOURNAL_SCHEMA = 2
"""The layout of state.db; a run begun under another layout is not resumed by this one."""

_SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT);
CREATE TABLE IF NOT EXISTS waves (
    position INTEGER PRIMARY KEY, name TEXT UNIQUE NOT NULL, status TEXT,
    threshold_kind TEXT NOT NULL, threshold_limit TEXT NOT NULL,
    failure_kind TEXT NOT NULL, failure_limit TEXT NOT NULL,
    started_at TEXT, finished_at TEXT);
CREATE TABLE IF NOT EXISTS supervisors (
    key TEXT PRIMARY KEY, wave TEXT NOT NULL, position INTEGER NOT NULL,
    vcenter TEXT NOT NULL, ref_id TEXT, ref_name TEXT, id TEXT, name TEXT,
    from_version TEXT, to_version TEXT NOT NULL, ignore_warnings INTEGER NOT NULL,
    control_plane_nodes INTEGER, phase TEXT NOT NULL, outcome TEXT, reason TEXT,
    task_id TEXT, adopted INTEGER NOT NULL DEFAULT 0, attempts INTEGER NOT NULL DEFAULT 0,
    intent_at TEXT, vcenter_intent_at TEXT, started_at TEXT, job_ended_at TEXT, finished_at TEXT,
    progress INTEGER, messages TEXT NOT NULL DEFAULT '[]');
CREATE TABLE IF NOT EXISTS attempts (
    key TEXT NOT NULL, attempt INTEGER NOT NULL, intent_at TEXT NOT NULL,
    result TEXT, task_id TEXT, PRIMARY KEY (key, attempt));
CREATE TABLE IF NOT EXISTS decisions (
    seq INTEGER PRIMARY KEY AUTOINCREMENT, at TEXT NOT NULL, wave TEXT NOT NULL,
    rule TEXT NOT NULL, errors INTEGER NOT NULL, failures INTEGER NOT NULL,
    size INTEGER NOT NULL, limit_value TEXT NOT NULL, verdict TEXT NOT NULL,
    culprits TEXT NOT NULL DEFAULT '[]', reason TEXT);
CREATE TABLE IF NOT EXISTS vcenters (
    name TEXT PRIMARY KEY, url TEXT NOT NULL, requests INTEGER NOT NULL DEFAULT 0,
    retries INTEGER NOT NULL DEFAULT 0, errors INTEGER NOT NULL DEFAULT 0,
    paced_waits INTEGER NOT NULL DEFAULT 0, breaker_opens INTEGER NOT NULL DEFAULT 0);
CREATE TABLE IF NOT EXISTS controls (
    seq INTEGER PRIMARY KEY AUTOINCREMENT, at TEXT NOT NULL, command TEXT NOT NULL,
    wave TEXT, by TEXT NOT NULL, reason TEXT, handled_at TEXT);
CREATE TABLE IF NOT EXISTS history (
    seq INTEGER PRIMARY KEY AUTOINCREMENT, at TEXT NOT NULL, event TEXT NOT NULL,
    by TEXT, reason TEXT);
CREATE TABLE IF NOT EXISTS notifications (
    seq INTEGER PRIMARY KEY AUTOINCREMENT, at TEXT NOT NULL, target TEXT NOT NULL,
    event TEXT NOT NULL, status TEXT NOT NULL, attempts INTEGER NOT NULL);
"""


def ts(value: datetime | None) -> str | None:
    """A journal timestamp (ISO 8601 with offset)."""
    return None if value is None else value.isoformat()


def from_row(record: type[R], row: sqlite3.Row, **given: Any) -> R:
    """A record read back from a row whose columns carry the record's field names.

    Every record type the journal returns is built here, so a column's stored form
    becomes its field's type in one place: a timestamp a datetime, a 0/1 a bool, a word
    its enum. ``given`` supplies the fields that are no plain column (a JSON list, a
    column of another name).
    """
    readers = _readers(record).items()
    values = {name: read(row[name]) for name, read in readers if name not in given}
    return record(**values, **given)


def read_columns(record: type[Any], columns: Mapping[str, Any]) -> dict[str, Any]:
    """Stored column values as the record's field values (what :func:`from_row` would give).

    Lets a writer update its in-memory copy of a row from the values it just wrote,
    instead of reading the row back.
    """
    readers = _readers(record)
    return {name: readers[name](value) for name, value in columns.items()}


_READERS: dict[type[Any], dict[str, Callable[[Any], Any]]] = {}


def _readers(record: type[Any]) -> dict[str, Callable[[Any], Any]]:
    """Each field of a record dataclass, in order, with the function that reads its column."""
    readers = _READERS.get(record)
    if readers is None:
        hints = typing.get_type_hints(record)
        readers = {f.name: _reader(hints[f.name]) for f in dataclasses.fields(record)}
        _READERS[record] = readers
    return readers


def _reader(hint: Any) -> Callable[[Any], Any]:
    """How a column of this field type is read (optional types keep NULL as None)."""
    args = typing.get_args(hint)
    if isinstance(hint, types.UnionType) and type(None) in args:
        inner = next(arg for arg in args if arg is not type(None))
        read = _reader(inner)
        if read is _same:
            return _same
        return lambda value: None if value is None else read(value)
    if hint is datetime:
        return datetime.fromisoformat
    if hint is bool:
        return bool
    if isinstance(hint, type) and issubclass(hint, Enum):
        return hint
    return _same


def _same(value: Any) -> Any:
    return value


class JournalBase:
    """The SQLite database of one run directory."""

    def __init__(self, path: Path, *, readonly: bool = False) -> None:
        self.path = path
        self.readonly = readonly
        try:
            if readonly:
                self._db = sqlite3.connect(f"file:{path}?mode=ro", uri=True, timeout=10)
            else:
                self._db = sqlite3.connect(path, timeout=10, isolation_level=None)
                self._db.execute("PRAGMA journal_mode=WAL")
                # Most commits need not wait for the disk (see _tx); those that must switch
                # to FULL for their commit only.
                self._db.execute("PRAGMA synchronous=NORMAL")
                self._db.executescript(_SCHEMA)
            self._db.row_factory = sqlite3.Row
            self._db.execute("SELECT count(*) FROM meta").fetchone()
        except sqlite3.Error as exc:
            raise RunDirIOError(path, "open the journal", exc) from exc
        if not readonly:
            self._check_schema()

    def _check_schema(self) -> None:
        """A journal written by another journal layout is never written to (exit 2)."""
        rows = dict(self._db.execute("SELECT key, value FROM meta").fetchall())
        if not rows:
            self._db.execute(
                "INSERT INTO meta(key, value) VALUES ('journal_schema', ?)",
                (json.dumps(JOURNAL_SCHEMA),),
            )
            return
        found = json.loads(rows["journal_schema"]) if "journal_schema" in rows else 1
        if found != JOURNAL_SCHEMA:
            self._db.close()
            raise JournalIncompatible(
                f"{self.path} was written by another version of fleetupgrade (journal layout "
                f"{found}, this version writes {JOURNAL_SCHEMA}): finish that run with the "
                "version that began it, or start anew with --new"
            )

    def close(self) -> None:
        """Close the database (every write is already committed)."""
        self._db.close()

    def seal(self) -> None:
        """Fold the WAL in and leave WAL mode: a final run is one file from now on.

        Readers later (status, a refused ``--resume``) then open it without creating
        ``-wal``/``-shm`` beside it. Best effort: a reader holding the database keeps it in
        WAL mode, which is harmless.
        """
        with contextlib.suppress(sqlite3.OperationalError):
            self._db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
            self._db.execute("PRAGMA journal_mode=DELETE")

    def checkpoint(self) -> None:
        """Fold the WAL into the main file (at wave boundaries and at the end)."""
        with self._io("checkpoint the journal"):
            self._db.execute("PRAGMA wal_checkpoint(TRUNCATE)")

    @contextmanager
    def _io(self, operation: str) -> Iterator[None]:
        try:
            yield
        except sqlite3.OperationalError as exc:
            raise RunDirIOError(self.path, operation, exc) from exc

    @contextmanager
    def _tx(
        self, operation: str = "write the journal", *, fsync: bool = True
    ) -> Iterator[sqlite3.Connection]:
        """One transaction; ``fsync=False`` commits without waiting for the disk.

        Such a commit survives a killed process (it is in the WAL) but not a power loss
        until the next fsynced commit, which makes every earlier one durable too (the WAL
        is written in order). So a journal after a power loss is always a prefix of its
        commits ending at or after the last fsynced one: the intent before every create is
        fsynced; the steps after it (task id, job end, outcome) are re-derived from vCenter
        on resume when lost.
        """
        with self._io(operation):
            if fsync:
                self._db.execute("PRAGMA synchronous=FULL")
            try:
                self._db.execute("BEGIN IMMEDIATE")
                try:
                    yield self._db
                except BaseException:
                    self._db.execute("ROLLBACK")
                    raise
                self._db.execute("COMMIT")
            finally:
                if fsync:
                    self._db.execute("PRAGMA synchronous=NORMAL")

    def _rows(self, query: str, params: Sequence[Any] = ()) -> list[sqlite3.Row]:
        with self._io("read the journal"):
            return self._db.execute(query, params).fetchall()

    # -- meta ---------------------------------------------------------------------------
    def set_meta(self, **values: Any) -> None:
        """Record run-level facts (run id, plan hash, mode, result …)."""
        with self._tx() as db:
            db.executemany(
                "INSERT INTO meta(key, value) VALUES (?, ?) "
                "ON CONFLICT(key) DO UPDATE SET value = excluded.value",
                [(k, json.dumps(v, default=str)) for k, v in values.items()],
            )

    def meta(self) -> dict[str, Any]:
        """Every run-level fact."""
        return {r["key"]: json.loads(r["value"]) for r in self._rows("SELECT * FROM meta")}
