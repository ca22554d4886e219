"""How long an upgrade takes, as this run has learned it: one prediction for two uses.

Window-fit admission refuses a launch predicted to overrun the window, and the bulk
poller stays quiet until a job's predicted end; both ask this one book, so the run never
holds two opinions of how long an upgrade lasts. The rule itself is
:func:`fleetupgrade.decide.admission.predict_seconds` (docs/design.md, "Window-fit
admission"); this module only keeps its input: the durations of the run's finished
upgrades by control-plane size, kept sorted as they arrive, and seeded from the journal
so that a resumed run keeps what it learned before.
"""

from __future__ import annotations

import bisect
from collections.abc import Callable, Iterable
from datetime import datetime

from fleetupgrade.decide.admission import predict_seconds
from fleetupgrade.journal.records import SupervisorRecord
from fleetupgrade.outcomes import Outcome

__all__ = ["ASSUMED_NODES", "UpgradeDurations", "counted_from", "learned_duration"]

ASSUMED_NODES = 3
"""vCenter reports no node count for an idle Supervisor; three is vSphere's default."""


def counted_from(row: SupervisorRecord) -> datetime | None:
    """Where an upgrade's duration is counted from: when its create was sent (its intent).

    The job began between sending the create and reading the answer; the send is the
    earliest it can have begun. Counting from the answer instead would make a duration
    learned while answers were read late (a busy run, a slow vCenter) too short for jobs
    whose answers are read on time, and rounds would come before those jobs end.
    """
    return row.intent_at or row.started_at


def learned_duration(row: SupervisorRecord) -> tuple[int, float] | None:
    """(control-plane nodes, seconds from create to job end) of an upgrade that teaches.

    Only upgrades this run watched from their creation teach: an adopted job's start is
    unknown, and a failure's length says nothing of a success's.
    """
    since = counted_from(row)
    if row.outcome is not Outcome.UPGRADED or row.adopted or since is None:
        return None
    ended = row.job_ended_at or row.finished_at
    if ended is None:
        return None
    return row.control_plane_nodes or ASSUMED_NODES, (ended - since).total_seconds()


class UpgradeDurations:
    """The run's finished upgrade durations by size, and the plan's expectation."""

    def __init__(self, expected: Callable[[int], float | None]) -> None:
        self._expected = expected
        self._by_nodes: dict[int, list[float]] = {}
        self._counted: set[str] = set()

    @classmethod
    def from_rows(
        cls, rows: Iterable[SupervisorRecord], expected: Callable[[int], float | None]
    ) -> UpgradeDurations:
        """A book holding what the journal already knows (a resumed run)."""
        book = cls(expected)
        for row in rows:
            book.record(row)
        return book

    def record(self, row: SupervisorRecord) -> None:
        """Learn from a Supervisor that just finished (once per row; others are ignored)."""
        learned = learned_duration(row)
        if learned is None or row.key in self._counted:
            return
        self._counted.add(row.key)
        nodes, seconds = learned
        bisect.insort(self._by_nodes.setdefault(nodes, []), seconds)

    def predict(self, nodes: int | None) -> float | None:
        """Predicted seconds for an upgrade of a Supervisor with ``nodes`` control-plane nodes."""
        size = nodes or ASSUMED_NODES
        return predict_seconds(self._by_nodes.get(size, ()), self._expected(size))
