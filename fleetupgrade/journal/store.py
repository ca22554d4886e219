"""The run's SQLite journal (``state.db``): the single source of truth for what was fired.

Every step that matters is committed *before* the next one happens: the intent to create
a job before the request leaves, the task id as soon as vCenter answers, every outcome as
soon as it is known. A run killed at any instant therefore leaves a journal from which
``--resume`` can tell, for every Supervisor, whether a job may exist on vCenter (phase
``intent`` or ``launched``) and must be reconciled before anything else is fired.

The journal is written by one process (the run holds the plan's lock) and may be read at
the same time by ``fleetupgrade status`` (WAL mode). Writes are synchronous and tiny.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from enum import StrEnum
from pathlib import Path
from typing import Any

from fleetupgrade.logs import redact_text
from fleetupgrade.outcomes import Outcome, WaveStatus
from fleetupgrade.timefmt import utcnow

_SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT);
CREATE TABLE IF NOT EXISTS waves (
    position INTEGER PRIMARY KEY, name TEXT UNIQUE NOT NULL, status TEXT,
    threshold_kind TEXT NOT NULL, threshold_limit TEXT NOT NULL,
    precheck_errors INTEGER NOT NULL DEFAULT 0, upgrade_failures INTEGER NOT NULL DEFAULT 0,
    started_at TEXT, finished_at TEXT);
CREATE TABLE IF NOT EXISTS supervisors (
    key TEXT PRIMARY KEY, wave TEXT NOT NULL, position INTEGER NOT NULL,
    vcenter TEXT NOT NULL, ref_id TEXT, ref_name TEXT, id TEXT, name TEXT,
    from_version TEXT, to_version TEXT NOT NULL, phase TEXT NOT NULL, outcome TEXT,
    reason TEXT, task_id TEXT, intent_at TEXT, started_at TEXT, finished_at TEXT,
    progress INTEGER, messages TEXT NOT NULL DEFAULT '[]');
CREATE TABLE IF NOT EXISTS decisions (
    seq INTEGER PRIMARY KEY AUTOINCREMENT, at TEXT NOT NULL, wave TEXT NOT NULL,
    rule TEXT NOT NULL, errors INTEGER NOT NULL, failures INTEGER NOT NULL,
    size INTEGER NOT NULL, limit_value TEXT NOT NULL, verdict TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS vcenters (
    name TEXT PRIMARY KEY, url TEXT NOT NULL, requests INTEGER NOT NULL DEFAULT 0,
    retries INTEGER NOT NULL DEFAULT 0, errors INTEGER NOT NULL DEFAULT 0);
"""


class Phase(StrEnum):
    """Where a Supervisor stands; ``intent`` and ``launched`` mean a job may exist on vCenter."""

    PENDING = "pending"
    INTENT = "intent"
    LAUNCHED = "launched"
    DONE = "done"


def _ts(value: datetime | None) -> str | None:
    return None if value is None else value.astimezone(UTC).isoformat()


def _dt(value: str | None) -> datetime | None:
    return None if value is None else datetime.fromisoformat(value)


@dataclass(frozen=True, slots=True)
class MessageRecord:
    """One precheck or upgrade message kept for the report."""

    severity: str
    id: str
    text: str


@dataclass(frozen=True, slots=True)
class SupervisorRecord:
    """A Supervisor's row: what the plan asked and how far the run got."""

    key: str
    wave: str
    position: int
    vcenter: str
    ref_id: str | None
    ref_name: str | None
    to_version: str
    phase: Phase = Phase.PENDING
    id: str | None = None
    name: str | None = None
    from_version: str | None = None
    outcome: Outcome | None = None
    reason: str | None = None
    task_id: str | None = None
    intent_at: datetime | None = None
    started_at: datetime | None = None
    finished_at: datetime | None = None
    progress: int | None = None
    messages: tuple[MessageRecord, ...] = field(default=())

    @property
    def label(self) -> str:
        """``vcenter/name-or-id`` as operators read it."""
        return f"{self.vcenter}/{self.name or self.ref_name or self.id or self.ref_id}"


@dataclass(frozen=True, slots=True)
class WaveRecord:
    """A wave's row."""

    position: int
    name: str
    threshold_kind: str
    threshold_limit: str
    status: WaveStatus | None = None
    precheck_errors: int = 0
    upgrade_failures: int = 0
    started_at: datetime | None = None
    finished_at: datetime | None = None


@dataclass(frozen=True, slots=True)
class DecisionRecord:
    """One evaluation of a wave's threshold."""

    at: datetime
    wave: str
    rule: str
    errors: int
    failures: int
    size: int
    limit: str
    verdict: str


@dataclass(frozen=True, slots=True)
class VCenterRecord:
    """Request counters of one vCenter, for the report."""

    name: str
    url: str
    requests: int = 0
    retries: int = 0
    errors: int = 0


_SUP_COLUMNS = [
    "key",
    "wave",
    "position",
    "vcenter",
    "ref_id",
    "ref_name",
    "id",
    "name",
    "from_version",
    "to_version",
    "phase",
    "outcome",
    "reason",
    "task_id",
    "intent_at",
    "started_at",
    "finished_at",
    "progress",
    "messages",
]


class Journal:
    """The SQLite journal of one run directory."""

    def __init__(self, path: Path, *, readonly: bool = False) -> None:
        self.path = path
        if readonly:
            self._db = sqlite3.connect(f"file:{path}?mode=ro", uri=True, timeout=10)
        else:
            self._db = sqlite3.connect(path, timeout=10, isolation_level=None)
            self._db.execute("PRAGMA journal_mode=WAL")
            self._db.execute("PRAGMA synchronous=FULL")
            self._db.executescript(_SCHEMA)
        self._db.row_factory = sqlite3.Row

    def close(self) -> None:
        """Close the database (every write is already committed)."""
        self._db.close()

    @contextmanager
    def _tx(self) -> Iterator[sqlite3.Connection]:
        self._db.execute("BEGIN IMMEDIATE")
        try:
            yield self._db
        except BaseException:
            self._db.execute("ROLLBACK")
            raise
        self._db.execute("COMMIT")

    # -- meta ---------------------------------------------------------------------------
    def set_meta(self, **values: Any) -> None:
        """Record run-level facts (run id, plan hash, result …)."""
        with self._tx() as db:
            db.executemany(
                "INSERT INTO meta(key, value) VALUES (?, ?) "
                "ON CONFLICT(key) DO UPDATE SET value = excluded.value",
                [(k, json.dumps(v, default=str)) for k, v in values.items()],
            )

    def meta(self) -> dict[str, Any]:
        """Every run-level fact."""
        rows = self._db.execute("SELECT key, value FROM meta").fetchall()
        return {row["key"]: json.loads(row["value"]) for row in rows}

    # -- setup --------------------------------------------------------------------------
    def initialise(
        self,
        waves: Sequence[WaveRecord],
        supervisors: Sequence[SupervisorRecord],
        vcenters: Sequence[VCenterRecord],
    ) -> None:
        """Write the plan's rows once, when the run begins (idempotent on resume)."""
        with self._tx() as db:
            db.executemany(
                "INSERT OR IGNORE INTO waves(position, name, threshold_kind, threshold_limit) "
                "VALUES (?, ?, ?, ?)",
                [(w.position, w.name, w.threshold_kind, w.threshold_limit) for w in waves],
            )
            db.executemany(
                "INSERT OR IGNORE INTO supervisors(key, wave, position, vcenter, ref_id, "
                "ref_name, to_version, phase) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                [
                    (
                        s.key,
                        s.wave,
                        s.position,
                        s.vcenter,
                        s.ref_id,
                        s.ref_name,
                        s.to_version,
                        "pending",
                    )
                    for s in supervisors
                ],
            )
            db.executemany(
                "INSERT OR IGNORE INTO vcenters(name, url) VALUES (?, ?)",
                [(v.name, v.url) for v in vcenters],
            )

    # -- supervisors --------------------------------------------------------------------
    def save(self, record: SupervisorRecord) -> None:
        """Commit a Supervisor's row as it is now (text from vCenters is redacted first)."""
        values = {
            "wave": record.wave,
            "position": record.position,
            "vcenter": record.vcenter,
            "ref_id": record.ref_id,
            "ref_name": record.ref_name,
            "id": record.id,
            "name": record.name,
            "from_version": record.from_version,
            "to_version": record.to_version,
            "phase": record.phase.value,
            "outcome": None if record.outcome is None else record.outcome.value,
            "reason": None if record.reason is None else redact_text(record.reason),
            "task_id": record.task_id,
            "intent_at": _ts(record.intent_at),
            "started_at": _ts(record.started_at),
            "finished_at": _ts(record.finished_at),
            "progress": record.progress,
            "messages": json.dumps(
                [[m.severity, m.id, redact_text(m.text)] for m in record.messages]
            ),
        }
        assignments = ", ".join(f"{name} = :{name}" for name in values)
        with self._tx() as db:
            cursor = db.execute(
                f"UPDATE supervisors SET {assignments} WHERE key = :key",  # noqa: S608 - fixed names
                {**values, "key": record.key},
            )
            if cursor.rowcount != 1:
                raise KeyError(record.key)

    def set_progress(self, key: str, progress: int | None) -> None:
        """Record live progress (read by ``status``).

        Not needed for safety, so it skips the fsync: in WAL mode the next FULL commit
        (an intent, a task id, an outcome) makes it durable along with itself.
        """
        self._db.execute("PRAGMA synchronous=NORMAL")
        try:
            with self._tx() as db:
                db.execute("UPDATE supervisors SET progress = ? WHERE key = ?", (progress, key))
        finally:
            self._db.execute("PRAGMA synchronous=FULL")

    def supervisors(self, wave: str | None = None) -> list[SupervisorRecord]:
        """Supervisor rows in plan order, optionally of one wave."""
        query = f"SELECT {', '.join(_SUP_COLUMNS)} FROM supervisors"  # noqa: S608
        params: tuple[str, ...] = ()
        if wave is not None:
            query += " WHERE wave = ?"
            params = (wave,)
        query += (
            " ORDER BY (SELECT position FROM waves w WHERE w.name = supervisors.wave), position"
        )
        return [_supervisor_from_row(row) for row in self._db.execute(query, params)]

    # -- waves --------------------------------------------------------------------------
    def save_wave(self, record: WaveRecord) -> None:
        """Commit a wave's row as it is now."""
        with self._tx() as db:
            db.execute(
                "UPDATE waves SET status = ?, precheck_errors = ?, upgrade_failures = ?, "
                "started_at = ?, finished_at = ? WHERE name = ?",
                (
                    None if record.status is None else record.status.value,
                    record.precheck_errors,
                    record.upgrade_failures,
                    _ts(record.started_at),
                    _ts(record.finished_at),
                    record.name,
                ),
            )

    def waves(self) -> list[WaveRecord]:
        """Wave rows in plan order."""
        rows = self._db.execute("SELECT * FROM waves ORDER BY position").fetchall()
        return [
            WaveRecord(
                position=row["position"],
                name=row["name"],
                threshold_kind=row["threshold_kind"],
                threshold_limit=row["threshold_limit"],
                status=None if row["status"] is None else WaveStatus(row["status"]),
                precheck_errors=row["precheck_errors"],
                upgrade_failures=row["upgrade_failures"],
                started_at=_dt(row["started_at"]),
                finished_at=_dt(row["finished_at"]),
            )
            for row in rows
        ]

    # -- decisions ----------------------------------------------------------------------
    def add_decision(self, decision: DecisionRecord) -> None:
        """Append one threshold evaluation to the decision log."""
        with self._tx() as db:
            db.execute(
                "INSERT INTO decisions(at, wave, rule, errors, failures, size, limit_value, "
                "verdict) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                (
                    _ts(decision.at),
                    decision.wave,
                    decision.rule,
                    decision.errors,
                    decision.failures,
                    decision.size,
                    decision.limit,
                    decision.verdict,
                ),
            )

    def decisions(self) -> list[DecisionRecord]:
        """The decision log in order."""
        rows = self._db.execute("SELECT * FROM decisions ORDER BY seq").fetchall()
        return [
            DecisionRecord(
                at=datetime.fromisoformat(row["at"]),
                wave=row["wave"],
                rule=row["rule"],
                errors=row["errors"],
                failures=row["failures"],
                size=row["size"],
                limit=row["limit_value"],
                verdict=row["verdict"],
            )
            for row in rows
        ]

    # -- vcenters -----------------------------------------------------------------------
    def save_vcenter_counters(self, record: VCenterRecord) -> None:
        """Record a vCenter's request counters (cumulative over resumes)."""
        with self._tx() as db:
            db.execute(
                "UPDATE vcenters SET requests = ?, retries = ?, errors = ? WHERE name = ?",
                (record.requests, record.retries, record.errors, record.name),
            )

    def vcenters(self) -> list[VCenterRecord]:
        """Per-vCenter counters."""
        rows = self._db.execute("SELECT * FROM vcenters ORDER BY rowid").fetchall()
        return [
            VCenterRecord(
                name=row["name"],
                url=row["url"],
                requests=row["requests"],
                retries=row["retries"],
                errors=row["errors"],
            )
            for row in rows
        ]


def _supervisor_from_row(row: sqlite3.Row) -> SupervisorRecord:
    return SupervisorRecord(
        key=row["key"],
        wave=row["wave"],
        position=row["position"],
        vcenter=row["vcenter"],
        ref_id=row["ref_id"],
        ref_name=row["ref_name"],
        id=row["id"],
        name=row["name"],
        from_version=row["from_version"],
        to_version=row["to_version"],
        phase=Phase(row["phase"]),
        outcome=None if row["outcome"] is None else Outcome(row["outcome"]),
        reason=row["reason"],
        task_id=row["task_id"],
        intent_at=_dt(row["intent_at"]),
        started_at=_dt(row["started_at"]),
        finished_at=_dt(row["finished_at"]),
        progress=row["progress"],
        messages=tuple(MessageRecord(*m) for m in json.loads(row["messages"])),
    )


__all__ = [
    "DecisionRecord",
    "Journal",
    "MessageRecord",
    "Phase",
    "SupervisorRecord",
    "VCenterRecord",
    "WaveRecord",
    "utcnow",
]
