"""The journal's logs: decisions, history, operator controls, notifications, counters.

Append-mostly tables that explain a run to a change board; none of them decides
anything by itself.
"""

from __future__ import annotations

import json

from fleetupgrade.decide.gates import Culprit, Decision
from fleetupgrade.journal.base import JournalBase, from_row, ts
from fleetupgrade.journal.records import (
    ControlRecord,
    HistoryRecord,
    NotificationRecord,
    VCenterRecord,
)
from fleetupgrade.timefmt import utcnow

__all__ = ["Logbook"]


class Logbook(JournalBase):
    """Decisions, history, controls, notifications and per-vCenter counters."""

    def add_decision(self, d: Decision) -> None:
        """Append one gate evaluation (or a human or admission decision) to the log."""
        culprits = json.dumps([[c.supervisor, list(c.ids)] for c in d.culprits])
        with self._tx() as db:
            db.execute(
                "INSERT INTO decisions(at, wave, rule, errors, failures, size, limit_value, "
                "verdict, culprits, reason) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (
                    ts(d.at),
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
            from_row(
                Decision,
                row,
                limit=row["limit_value"],
                culprits=tuple(Culprit(s, tuple(ids)) for s, ids in json.loads(row["culprits"])),
            )
            for row in self._rows("SELECT * FROM decisions ORDER BY seq")
        ]

    def add_history(self, event: str, *, by: str | None = None, reason: str | None = None) -> None:
        """A run-level event for the report's history."""
        with self._tx() as db:
            db.execute(
                "INSERT INTO history(at, event, by, reason) VALUES (?, ?, ?, ?)",
                (ts(utcnow()), event, by, reason),
            )

    def history(self) -> list[HistoryRecord]:
        """The run's history in order."""
        return [
            from_row(HistoryRecord, r) for r in self._rows("SELECT * FROM history ORDER BY seq")
        ]

    def add_control(self, command: str, *, wave: str | None, by: str, reason: str | None) -> int:
        """An operator's command, written by another process; returns its sequence number."""
        with self._tx() as db:
            cursor = db.execute(
                "INSERT INTO controls(at, command, wave, by, reason) VALUES (?, ?, ?, ?, ?)",
                (ts(utcnow()), command, wave, by, reason),
            )
            return int(cursor.lastrowid or 0)

    def controls(self, *, pending_only: bool = False) -> list[ControlRecord]:
        """Operator commands in order (only the unhandled ones, if asked)."""
        where = " WHERE handled_at IS NULL" if pending_only else ""
        return [
            from_row(ControlRecord, r)
            for r in self._rows(f"SELECT * FROM controls{where} ORDER BY seq")  # noqa: S608
        ]

    def mark_control_handled(self, seq: int) -> None:
        """The run acted on a command."""
        with self._tx() as db:
            db.execute("UPDATE controls SET handled_at = ? WHERE seq = ?", (ts(utcnow()), seq))

    def add_notification(self, record: NotificationRecord) -> None:
        """The final result of one webhook delivery."""
        with self._tx() as db:
            db.execute(
                "INSERT INTO notifications(at, target, event, status, attempts) "
                "VALUES (?, ?, ?, ?, ?)",
                (ts(record.at), record.target, record.event, record.status, record.attempts),
            )

    def notifications(self) -> list[NotificationRecord]:
        """Every delivery result in order."""
        return [
            from_row(NotificationRecord, r)
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
            from_row(VCenterRecord, r) for r in self._rows("SELECT * FROM vcenters ORDER BY rowid")
        ]
