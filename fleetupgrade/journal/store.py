"""The run's SQLite journal (``state.db``): the single source of truth for what was fired.

Every step that matters is committed *before* the next one happens: the intent to create
a job before the request leaves, the task id as soon as vCenter answers, every outcome as
soon as it is known (docs/design.md, "Crash safety"). A run killed at any instant leaves a
journal from which ``--resume`` can tell, for every Supervisor, whether a job may exist.
The intent is also fsynced before its create leaves; the later steps are not waited on
(a power loss may drop them, never an intent, and a resume re-derives them from vCenter).

This class is the only writer of a Supervisor's row, and it writes it only through named
transitions that enforce the phase order ``pending → intent → launched → done`` (an
intent proven to have made no job goes back to ``pending``; ``detached`` and
``not_started`` keep their phase so that a resume can take them up). A transition
against that order raises :class:`JournalTransitionError`: it is a bug, never a decision.

Waves carry no counts: a wave's counts are derived from its Supervisors' rows whenever
they are needed, so they cannot disagree. Because this class is the only writer of those
rows, a writable journal keeps them in memory as well (write-through: every transition
re-reads the row it changed), so the engine's frequent reads of one row or of a wave cost
no SQL; a read-only journal (``status`` beside a live run) always reads the database.
I/O failures surface as :class:`RunDirIOError` naming the file and the operation (exit 74).
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Sequence
from dataclasses import replace
from datetime import datetime
from typing import Any

from fleetupgrade.errors import JournalTransitionError
from fleetupgrade.journal.base import from_row, read_columns, ts
from fleetupgrade.journal.logbook import Logbook
from fleetupgrade.journal.records import (
    Phase,
    SupervisorRecord,
    VCenterRecord,
    WaveRecord,
)
from fleetupgrade.logs import redact_text
from fleetupgrade.outcomes import Message, Outcome, WaveStatus
from fleetupgrade.timefmt import utcnow

__all__ = ["Journal", "Phase", "utcnow"]

_OPEN = frozenset({Phase.PENDING, Phase.INTENT, Phase.LAUNCHED})


class Journal(Logbook):
    """The SQLite journal of one run directory: a Supervisor's row changes only here."""

    _cache: dict[str, SupervisorRecord] | None = None  # key → row, in plan order
    _waves_keys: dict[str, list[str]] | None = None  # wave → its keys, in plan order

    # -- the in-memory copy of the rows (writable journals only) ------------------------
    def _loaded(self) -> dict[str, SupervisorRecord] | None:
        """The cached rows, loaded on first use; None for a read-only journal."""
        if self.readonly:
            return None
        if self._cache is None:
            rows = self._rows(_ALL_IN_ORDER)
            cache = {row["key"]: _supervisor(row) for row in rows}
            by_wave: dict[str, list[str]] = {}
            for record in cache.values():
                by_wave.setdefault(record.wave, []).append(record.key)
            self._cache, self._waves_keys = cache, by_wave
        return self._cache

    def _written(self, key: str, columns: dict[str, Any]) -> None:
        """Apply the column values just written to the cached row (no-op before it loads)."""
        if self._cache is None or key not in self._cache:
            return
        stored = dict(columns)
        changes: dict[str, Any] = {}
        if "messages" in stored:
            changes["messages"] = _messages(stored.pop("messages"))
        changes.update(read_columns(SupervisorRecord, stored))
        self._cache[key] = replace(self._cache[key], **changes)

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
        self._cache = self._waves_keys = None

    # -- a Supervisor's transitions (the only writes of its row) ------------------------
    def _move(
        self,
        key: str,
        allowed: frozenset[Phase],
        what: str,
        *,
        attempt_result: tuple[str, str | None] | None = None,
        **columns: Any,
    ) -> None:
        """One transition in one transaction; ``attempt_result`` closes the last attempt."""
        assignments = ", ".join(f"{name} = :{name}" for name in columns)
        phases = ", ".join(f"'{p.value}'" for p in allowed)
        with self._tx(fsync=False) as db:
            cursor = db.execute(
                f"UPDATE supervisors SET {assignments} "  # noqa: S608 - fixed names
                f"WHERE key = :key AND phase IN ({phases})",
                {**columns, "key": key},
            )
            if cursor.rowcount != 1:
                raise JournalTransitionError(f"{key}: cannot {what} from its current phase")
            if attempt_result is not None:
                result, task_id = attempt_result
                db.execute(
                    "UPDATE attempts SET result = ?, task_id = ? WHERE key = ? AND attempt = "
                    "(SELECT max(attempt) FROM attempts WHERE key = ?) AND result IS NULL",
                    (redact_text(result), task_id, key, key),
                )
        self._written(key, columns)

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

    def mark_intent(self, key: str, *, vcenter_at: datetime | None = None) -> int:
        """Commit (fsynced) the intent to create a job, before it is sent; returns the attempt.

        ``vcenter_at`` is the same instant on vCenter's clock, when known: reconciliation
        compares task start times on vCenter's clock, never ours.
        """
        now = utcnow()
        with self._tx() as db:
            row = db.execute(
                "SELECT attempts FROM supervisors WHERE key = ? AND phase = 'pending'", (key,)
            ).fetchone()
            if row is None:
                raise JournalTransitionError(f"{key}: an intent needs phase pending")
            attempt = int(row["attempts"]) + 1
            columns: dict[str, Any] = {
                "phase": Phase.INTENT.value,
                "intent_at": ts(now),
                "vcenter_intent_at": ts(vcenter_at),
                "attempts": attempt,
                "outcome": None,
                "reason": None,
            }
            db.execute(
                "UPDATE supervisors SET phase = :phase, intent_at = :intent_at, "
                "vcenter_intent_at = :vcenter_intent_at, attempts = :attempts, "
                "outcome = :outcome, reason = :reason WHERE key = :key",
                {**columns, "key": key},
            )
            db.execute(
                "INSERT INTO attempts(key, attempt, intent_at) VALUES (?, ?, ?)",
                (key, attempt, ts(now)),
            )
        self._written(key, columns)
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
            started_at=ts(started_at),
            adopted=int(adopted),
            outcome=None,
            reason=None,
            attempt_result=("job", task_id),
        )

    def mark_no_job(self, key: str, why: str) -> None:
        """The last intent made no job (vCenter proved or said so): back to pending."""
        self._move(
            key,
            frozenset({Phase.INTENT}),
            "clear an intent",
            phase="pending",
            attempt_result=(why, None),
        )

    def mark_job_ended(self, key: str, at: datetime) -> None:
        """The job ended successfully; the health wait starts now."""
        self._move(key, frozenset({Phase.LAUNCHED}), "end a job", job_ended_at=ts(at))

    def set_progress(self, key: str, progress: int | None) -> None:
        """Record live progress (read by ``status``); not needed for safety, so no fsync."""
        with self._tx("write progress", fsync=False) as db:
            db.execute("UPDATE supervisors SET progress = ? WHERE key = ?", (progress, key))
        self._written(key, {"progress": progress})

    def mark_done(
        self,
        key: str,
        outcome: Outcome,
        reason: str | None,
        messages: Sequence[Message] = (),
        *,
        job_ended_at: datetime | None = None,
    ) -> None:
        """The Supervisor's final outcome (from pending: nothing was fired).

        ``job_ended_at``: when its job ended, for a job whose end was not recorded apart
        (no health wait came between).
        """
        ended: dict[str, Any] = {} if job_ended_at is None else {"job_ended_at": ts(job_ended_at)}
        self._move(
            key,
            frozenset({Phase.PENDING, Phase.LAUNCHED}),
            f"finish as {outcome.value}",
            phase=Phase.DONE.value,
            outcome=outcome.value,
            reason=None if reason is None else redact_text(reason),
            messages=_messages_json(messages),
            finished_at=ts(utcnow()),
            **ended,
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
        cache = self._loaded()
        if cache is not None and self._waves_keys is not None:
            if wave is None:
                return list(cache.values())
            return [cache[key] for key in self._waves_keys.get(wave, ())]
        query = "SELECT s.* FROM supervisors s JOIN waves w ON w.name = s.wave"
        params: tuple[str, ...] = ()
        if wave is not None:
            query += " WHERE s.wave = ?"
            params = (wave,)
        query += " ORDER BY w.position, s.position"
        return [_supervisor(row) for row in self._rows(query, params)]

    def supervisor(self, key: str) -> SupervisorRecord:
        """One row by key."""
        cache = self._loaded()
        if cache is not None:
            return cache[key]
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
                (None if status is None else status.value, ts(started_at), ts(finished_at), name),
            )

    def waves(self) -> list[WaveRecord]:
        """Wave rows in plan order."""
        return [
            from_row(WaveRecord, row) for row in self._rows("SELECT * FROM waves ORDER BY position")
        ]


_ALL_IN_ORDER = (
    "SELECT s.* FROM supervisors s JOIN waves w ON w.name = s.wave ORDER BY w.position, s.position"
)


def _messages_json(messages: Sequence[Message]) -> str:
    return json.dumps([[m.severity, m.id, redact_text(m.text)] for m in messages])


def _messages(stored: str) -> tuple[Message, ...]:
    return tuple(Message(*m) for m in json.loads(stored))


def _supervisor(row: sqlite3.Row) -> SupervisorRecord:
    return from_row(SupervisorRecord, row, messages=_messages(row["messages"]))
