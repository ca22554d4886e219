"""The journal as one read-only view for everyone who shows a run: status, live, report.

A wave's counts and a run's totals are derived here from the Supervisors' rows, the one
place that owns them, so no reader can disagree with another.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from typing import Any

from fleetupgrade.decide.gates import Decision, Tally, tally
from fleetupgrade.journal.records import (
    HistoryRecord,
    NotificationRecord,
    Phase,
    SupervisorRecord,
    VCenterRecord,
    WaveRecord,
)
from fleetupgrade.journal.store import Journal

__all__ = ["RunView", "WaveView", "load_view"]


@dataclass(frozen=True, slots=True)
class WaveView:
    """A wave's row with its Supervisors and their derived counts."""

    record: WaveRecord
    supervisors: tuple[SupervisorRecord, ...]

    @property
    def counts(self) -> Tally:
        """Precheck ERRORs, failures and successes among the settled Supervisors."""
        return tally(
            len(self.supervisors),
            [r.outcome if r.phase is Phase.DONE else None for r in self.supervisors],
        )

    @property
    def in_flight(self) -> tuple[SupervisorRecord, ...]:
        """Supervisors whose job may be running now."""
        return tuple(r for r in self.supervisors if r.in_doubt and r.outcome is None)

    @property
    def done(self) -> tuple[SupervisorRecord, ...]:
        """Supervisors with a final outcome (``not_started`` and ``detached`` are not final)."""
        return tuple(r for r in self.supervisors if r.phase is Phase.DONE)

    @property
    def status_word(self) -> str:
        """The wave's status, or ``pending`` before it started."""
        if self.record.status is not None:
            return self.record.status.value
        return "pending"


@dataclass(frozen=True, slots=True)
class RunView:
    """Everything the journal knows of a run, read at one instant."""

    meta: dict[str, Any]
    waves: tuple[WaveView, ...]
    decisions: tuple[Decision, ...]
    history: tuple[HistoryRecord, ...]
    notifications: tuple[NotificationRecord, ...]
    vcenters: tuple[VCenterRecord, ...]

    @property
    def supervisors(self) -> tuple[SupervisorRecord, ...]:
        """Every Supervisor in plan order."""
        return tuple(r for w in self.waves for r in w.supervisors)

    def totals(self) -> dict[str, int]:
        """Outcome → count (``pending`` for Supervisors without one yet)."""
        counts = Counter(r.outcome.value if r.outcome else "pending" for r in self.supervisors)
        return dict(sorted(counts.items()))

    @property
    def in_doubt(self) -> bool:
        """Some Supervisor's job may exist with its outcome unknown (the run is unfinished)."""
        return any(r.in_doubt for r in self.supervisors)


def load_view(journal: Journal) -> RunView:
    """Read the whole journal once."""
    rows = journal.supervisors()
    by_wave: dict[str, list[SupervisorRecord]] = {}
    for row in rows:
        by_wave.setdefault(row.wave, []).append(row)
    return RunView(
        meta=journal.meta(),
        waves=tuple(WaveView(w, tuple(by_wave.get(w.name, ()))) for w in journal.waves()),
        decisions=tuple(journal.decisions()),
        history=tuple(journal.history()),
        notifications=tuple(journal.notifications()),
        vcenters=tuple(journal.vcenters()),
    )
