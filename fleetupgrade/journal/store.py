"""The run's SQLite journal (``state.db``): the single source of truth for what was fired.

Every step that matters is committed *before* the next one happens: the intent to create
a job before the request leaves, the task id as soon as vCenter answers, every outcome as
soon as it is known (docs/design.md, "Crash safety"). A run killed at any instant leaves a
journal from which ``--resume`` can tell, for every Supervisor, whether a job may exist.

This class is the only writer of a Supervisor's row, and it writes it only through named
transitions that enforce the phase order ``pending → intent → launched → done`` (an
intent proven to have made no job goes back to ``pending``; ``detached`` and
``not_started`` keep their phase so that a resume can take them up). A transition
against that order raises :class:`JournalTransitionError`: it is a bug, never a decision.

Waves carry no counts: a wave's counts are derived from its Supervisors' rows whenever
they are needed, so they cannot disagree. I/O failures surface as :class:`RunDirIOError`
naming the file and the operation (exit 74).
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from datetime import datetime
from pathlib import Path
from typing import Any

from fleetupgrade.decide.gates import Culprit, Decision
from fleetupgrade.errors import JournalTransitionError, RunDirIOError
from fleetupgrade.journal.records import (
    ControlRecord,
    HistoryRecord,
    NotificationRecord,
    Phase,
    SupervisorRecord,
    VCenterRecord,
    WaveRecord,
)
from fleetupgrade.logs import redact_text
from fleetupgrade.outcomes import Message, Outcome, WaveStatus
from fleetupgrade.timefmt import utcnow

__all__ = ["Journal", "Phase", "utcnow"]

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
    intent_at TEXT, started_at TEXT, job_ended_at TEXT, finished_at TEXT,
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

_OPEN = frozenset({Phase.PENDING, Phase.INTENT, Phase.LAUNCHED})


def _ts(value: datetime | None) -> str | None:
    return None if value is None else value.isoformat()


def _dt(value: str | None) -> datetime | None:
    return None if value is None else datetime.fromisoformat(value)


class Journal:
    """The SQLite journal of one run directory."""

    def __init__(self, path: Path, *, readonly: bool = False) -> None:
        self.path = path
        try:
            if readonly:
                self._db = sqlite3.connect(f"file:{path}?mode=ro", uri=True, timeout=10)
            else:
                self._db = sqlite3.connect(path, timeout=10, isolation_level=None)
                self._db.execute("PRAGMA journal_mode=WAL")
                self._db.execute("PRAGMA synchronous=FULL")
                self._db.executescript(_SCHEMA)
            self._db.row_factory = sqlite3.Row
            self._db.execute("SELECT count(*) FROM meta").fetchone()
        except sqlite3.Error as exc:
            raise RunDirIOError(path, "open the journal", exc) from exc

    def close(self) -> None:
        """Close the database (every write is already committed)."""
        self._db.close()

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
    def _tx(self, operation: str = "write the journal") -> Iterator[sqlite3.Connection]:
        with self._io(operation):
            self._db.execute("BEGIN IMMEDIATE")
            try:
                yield self._db
            except BaseException:
                self._db.execute("ROLLBACK")
                raise
            self._db.execute("COMMIT")

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
                "INSERT OR IGNORE INTO waves(position, name, threshold_kind, threshold_limit, "
                "failure_kind, failure_limit) VALUES (?, ?, ?, ?, ?, ?)",
                [
                    (
                        w.position,
                        w.name,
                        w.threshold_kind,
                        w.threshold_limit,
                        w.failure_kind,
                        w.failure_limit,
                    )
                    for w in waves
                ],
            )
            db.executemany(
                "INSERT OR IGNORE INTO supervisors(key, wave, position, vcenter, ref_id, "
                "ref_name, to_version, ignore_warnings, phase) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                [
                    (
                        s.key,
                        s.wave,
                        s.position,
                        s.vcenter,
                        s.ref_id,
                        s.ref_name,
                        s.to_version,
                        int(s.ignore_warnings),
                        Phase.PENDING.value,
                    )
                    for s in supervisors
                ],
            )
            db.executemany(
                "INSERT OR IGNORE INTO vcenters(name, url) VALUES (?, ?)",
                [(v.name, v.url) for v in vcenters],
            )

    # -- a Supervisor's transitions (the only writes of its row) ------------------------
    def _move(self, key: str, allowed: frozenset[Phase], what: str, **columns: Any) -> None:
        assignments = ", ".join(f"{name} = :{name}" for name in columns)
        phases = ", ".join(f"'{p.value}'" for p in allowed)
        with self._tx() as db:
            cursor = db.execute(
                f"UPDATE supervisors SET {assignments} "  # noqa: S608 - fixed names
                f"WHERE key = :key AND phase IN ({phases})",
                {**columns, "key": key},
            )
            if cursor.rowcount != 1:
                raise JournalTransitionError(f"{key}: cannot {what} from its current phase")

    def resolve(
        self, key: str, *, id: str, name: str | None, from_version: str, nodes: int | None
    ) -> None:
        """The plan's reference now names a Supervisor (id, name, version before)."""
        self._move(
            key,
            _OPEN,
            "resolve",
            id=id,
            name=name,
            from_version=from_version,
            control_plane_nodes=nodes,
        )

    def mark_intent(self, key: str) -> int:
        """Commit (fsynced) the intent to create a job, before it is sent; returns the attempt."""
        now = utcnow()
        with self._tx() as db:
            row = db.execute(
                "SELECT attempts FROM supervisors WHERE key = ? AND phase = 'pending'", (key,)
            ).fetchone()
            if row is None:
                raise JournalTransitionError(f"{key}: an intent needs phase pending")
            attempt = int(row["attempts"]) + 1
            db.execute(
                "UPDATE supervisors SET phase = 'intent', intent_at = ?, attempts = ?, "
                "outcome = NULL, reason = NULL WHERE key = ?",
                (_ts(now), attempt, key),
            )
            db.execute(
                "INSERT INTO attempts(key, attempt, intent_at) VALUES (?, ?, ?)",
                (key, attempt, _ts(now)),
            )
        return attempt

    def mark_launched(
        self, key: str, *, task_id: str | None, started_at: datetime, adopted: bool = False
    ) -> None:
        """VCenter has a job for this Supervisor (created, found, or adopted)."""
        self._move(
            key,
            frozenset({Phase.PENDING, Phase.INTENT, Phase.LAUNCHED}),
            "launch",
            phase=Phase.LAUNCHED.value,
            task_id=task_id,
            started_at=_ts(started_at),
            adopted=int(adopted),
            outcome=None,
            reason=None,
        )
        self._attempt_result(key, "job", task_id)

    def mark_no_job(self, key: str, why: str) -> None:
        """The last intent made no job (vCenter proved or said so): back to pending."""
        self._move(key, frozenset({Phase.INTENT}), "clear an intent", phase="pending")
        self._attempt_result(key, why, None)

    def _attempt_result(self, key: str, result: str, task_id: str | None) -> None:
        with self._tx() as db:
            db.execute(
                "UPDATE attempts SET result = ?, task_id = ? WHERE key = ? AND attempt = "
                "(SELECT max(attempt) FROM attempts WHERE key = ?) AND result IS NULL",
                (redact_text(result), task_id, key, key),
            )

    def mark_job_ended(self, key: str, at: datetime) -> None:
        """The job ended successfully; the health wait starts now."""
        self._move(key, frozenset({Phase.LAUNCHED}), "end a job", job_ended_at=_ts(at))

    def set_progress(self, key: str, progress: int | None) -> None:
        """Record live progress (read by ``status``); not needed for safety, so no fsync."""
        with self._io("write progress"):
            self._db.execute("PRAGMA synchronous=NORMAL")
            try:
                self._db.execute(
                    "UPDATE supervisors SET progress = ? WHERE key = ?", (progress, key)
                )
            finally:
                self._db.execute("PRAGMA synchronous=FULL")

    def mark_done(
        self,
        key: str,
        outcome: Outcome,
        reason: str | None,
        messages: Sequence[Message] = (),
    ) -> None:
        """The Supervisor's final outcome (from pending: nothing was fired)."""
        self._move(
            key,
            frozenset({Phase.PENDING, Phase.LAUNCHED}),
            f"finish as {outcome.value}",
            phase=Phase.DONE.value,
            outcome=outcome.value,
            reason=None if reason is None else redact_text(reason),
            messages=_messages_json(messages),
            finished_at=_ts(utcnow()),
        )

    def mark_detached(self, key: str, reason: str) -> None:
        """A job may be running on vCenter and the run stops watching it (resumable)."""
        self._move(
            key,
            frozenset({Phase.INTENT, Phase.LAUNCHED}),
            "detach",
            outcome=Outcome.DETACHED.value,
            reason=redact_text(reason),
        )

    def mark_not_started(self, key: str, reason: str) -> None:
        """Never launched (wave halted, window closed, run stopped): resumable."""
        self._move(
            key,
            frozenset({Phase.PENDING}),
            "mark not started",
            outcome=Outcome.NOT_STARTED.value,
            reason=reason,
        )

    # -- reading Supervisors ------------------------------------------------------------
    def supervisors(self, wave: str | None = None) -> list[SupervisorRecord]:
        """Supervisor rows in plan order, optionally of one wave."""
        query = "SELECT s.* FROM supervisors s JOIN waves w ON w.name = s.wave"
        params: tuple[str, ...] = ()
        if wave is not None:
            query += " WHERE s.wave = ?"
            params = (wave,)
        query += " ORDER BY w.position, s.position"
        return [_supervisor(row) for row in self._rows(query, params)]

    def supervisor(self, key: str) -> SupervisorRecord:
        """One row by key."""
        rows = self._rows("SELECT * FROM supervisors WHERE key = ?", (key,))
        if not rows:
            raise KeyError(key)
        return _supervisor(rows[0])

    # -- waves --------------------------------------------------------------------------
    def set_wave_status(
        self,
        name: str,
        status: WaveStatus | None,
        *,
        started_at: datetime | None = None,
        finished_at: datetime | None = None,
    ) -> None:
        """A wave's status (its counts are derived, never stored)."""
        with self._tx() as db:
            db.execute(
                "UPDATE waves SET status = ?, started_at = coalesce(?, started_at), "
                "finished_at = ? WHERE name = ?",
                (None if status is None else status.value, _ts(started_at), _ts(finished_at), name),
            )

    def waves(self) -> list[WaveRecord]:
        """Wave rows in plan order."""
        return [
            WaveRecord(
                position=row["position"],
                name=row["name"],
                threshold_kind=row["threshold_kind"],
                threshold_limit=row["threshold_limit"],
                failure_kind=row["failure_kind"],
                failure_limit=row["failure_limit"],
                status=None if row["status"] is None else WaveStatus(row["status"]),
                started_at=_dt(row["started_at"]),
                finished_at=_dt(row["finished_at"]),
            )
            for row in self._rows("SELECT * FROM waves ORDER BY position")
        ]

    # -- decisions, history, controls, notifications ------------------------------------
    def add_decision(self, d: Decision) -> None:
        """Append one gate evaluation (or a human or admission decision) to the log."""
        culprits = json.dumps([[c.supervisor, list(c.ids)] for c in d.culprits])
        with self._tx() as db:
            db.execute(
                "INSERT INTO decisions(at, wave, rule, errors, failures, size, limit_value, "
                "verdict, culprits, reason) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (
                    _ts(d.at),
                    d.wave,
                    d.rule,
                    d.errors,
                    d.failures,
                    d.size,
                    d.limit,
                    d.verdict,
                    culprits,
                    d.reason,
                ),
            )

    def decisions(self) -> list[Decision]:
        """The decision log in order."""
        return [
            Decision(
                at=datetime.fromisoformat(row["at"]),
                wave=row["wave"],
                rule=row["rule"],
                errors=row["errors"],
                failures=row["failures"],
                size=row["size"],
                limit=row["limit_value"],
                verdict=row["verdict"],
                culprits=tuple(Culprit(s, tuple(ids)) for s, ids in json.loads(row["culprits"])),
                reason=row["reason"],
            )
            for row in self._rows("SELECT * FROM decisions ORDER BY seq")
        ]

    def add_history(self, event: str, *, by: str | None = None, reason: str | None = None) -> None:
        """A run-level event for the report's history."""
        with self._tx() as db:
            db.execute(
                "INSERT INTO history(at, event, by, reason) VALUES (?, ?, ?, ?)",
                (_ts(utcnow()), event, by, reason),
            )

    def history(self) -> list[HistoryRecord]:
        """The run's history in order."""
        return [
            HistoryRecord(datetime.fromisoformat(r["at"]), r["event"], r["by"], r["reason"])
            for r in self._rows("SELECT * FROM history ORDER BY seq")
        ]

    def add_control(self, command: str, *, wave: str | None, by: str, reason: str | None) -> int:
        """An operator's command, written by another process; returns its sequence number."""
        with self._tx() as db:
            cursor = db.execute(
                "INSERT INTO controls(at, command, wave, by, reason) VALUES (?, ?, ?, ?, ?)",
                (_ts(utcnow()), command, wave, by, reason),
            )
            return int(cursor.lastrowid or 0)

    def controls(self, *, pending_only: bool = False) -> list[ControlRecord]:
        """Operator commands in order (only the unhandled ones, if asked)."""
        where = " WHERE handled_at IS NULL" if pending_only else ""
        return [
            ControlRecord(
                seq=r["seq"],
                at=datetime.fromisoformat(r["at"]),
                command=r["command"],
                wave=r["wave"],
                by=r["by"],
                reason=r["reason"],
                handled_at=_dt(r["handled_at"]),
            )
            for r in self._rows(f"SELECT * FROM controls{where} ORDER BY seq")  # noqa: S608
        ]

    def mark_control_handled(self, seq: int) -> None:
        """The run acted on a command."""
        with self._tx() as db:
            db.execute("UPDATE controls SET handled_at = ? WHERE seq = ?", (_ts(utcnow()), seq))

    def add_notification(self, record: NotificationRecord) -> None:
        """The final result of one webhook delivery."""
        with self._tx() as db:
            db.execute(
                "INSERT INTO notifications(at, target, event, status, attempts) "
                "VALUES (?, ?, ?, ?, ?)",
                (_ts(record.at), record.target, record.event, record.status, record.attempts),
            )

    def notifications(self) -> list[NotificationRecord]:
        """Every delivery result in order."""
        return [
            NotificationRecord(
                datetime.fromisoformat(r["at"]), r["target"], r["event"], r["status"], r["attempts"]
            )
            for r in self._rows("SELECT * FROM notifications ORDER BY seq")
        ]

    # -- vcenters -----------------------------------------------------------------------
    def add_vcenter_counters(self, record: VCenterRecord) -> None:
        """Add this process's request counters to a vCenter's (cumulative over resumes)."""
        with self._tx() as db:
            db.execute(
                "UPDATE vcenters SET requests = requests + ?, retries = retries + ?, "
                "errors = errors + ?, paced_waits = paced_waits + ?, "
                "breaker_opens = breaker_opens + ? WHERE name = ?",
                (
                    record.requests,
                    record.retries,
                    record.errors,
                    record.paced_waits,
                    record.breaker_opens,
                    record.name,
                ),
            )

    def vcenters(self) -> list[VCenterRecord]:
        """Per-vCenter counters."""
        return [
            VCenterRecord(
                r["name"],
                r["url"],
                r["requests"],
                r["retries"],
                r["errors"],
                r["paced_waits"],
                r["breaker_opens"],
            )
            for r in self._rows("SELECT * FROM vcenters ORDER BY rowid")
        ]


def _messages_json(messages: Sequence[Message]) -> str:
    return json.dumps([[m.severity, m.id, redact_text(m.text)] for m in messages])


def _supervisor(row: sqlite3.Row) -> SupervisorRecord:
    return SupervisorRecord(
        key=row["key"],
        wave=row["wave"],
        position=row["position"],
        vcenter=row["vcenter"],
        ref_id=row["ref_id"],
        ref_name=row["ref_name"],
        to_version=row["to_version"],
        ignore_warnings=bool(row["ignore_warnings"]),
        phase=Phase(row["phase"]),
        id=row["id"],
        name=row["name"],
        from_version=row["from_version"],
        control_plane_nodes=row["control_plane_nodes"],
        outcome=None if row["outcome"] is None else Outcome(row["outcome"]),
        reason=row["reason"],
        task_id=row["task_id"],
        adopted=bool(row["adopted"]),
        attempts=row["attempts"],
        intent_at=_dt(row["intent_at"]),
        started_at=_dt(row["started_at"]),
        job_ended_at=_dt(row["job_ended_at"]),
        finished_at=_dt(row["finished_at"]),
        progress=row["progress"],
        messages=tuple(Message(*m) for m in json.loads(row["messages"])),
    )
