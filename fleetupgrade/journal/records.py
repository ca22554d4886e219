"""The rows of the journal as frozen values: what readers get and writers hand in."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum

from fleetupgrade.outcomes import Message, Outcome, WaveStatus
from fleetupgrade.report.model import VCenterReport

__all__ = [
    "ControlRecord",
    "HistoryRecord",
    "NotificationRecord",
    "Phase",
    "SupervisorRecord",
    "VCenterRecord",
    "WaveRecord",
]


class Phase(StrEnum):
    """Where a Supervisor stands; ``intent`` and ``launched`` mean a job may exist on vCenter."""

    PENDING = "pending"
    INTENT = "intent"
    LAUNCHED = "launched"
    DONE = "done"


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
    ignore_warnings: bool = False
    phase: Phase = Phase.PENDING
    id: str | None = None
    name: str | None = None
    from_version: str | None = None
    control_plane_nodes: int | None = None
    outcome: Outcome | None = None
    reason: str | None = None
    task_id: str | None = None
    adopted: bool = False
    attempts: int = 0
    intent_at: datetime | None = None
    vcenter_intent_at: datetime | None = None
    started_at: datetime | None = None
    job_ended_at: datetime | None = None
    finished_at: datetime | None = None
    progress: int | None = None
    messages: tuple[Message, ...] = field(default=())

    @property
    def label(self) -> str:
        """``vcenter/name-or-id`` as operators read it (the one definition)."""
        return f"{self.vcenter}/{self.name or self.ref_name or self.id or self.ref_id}"

    @property
    def in_doubt(self) -> bool:
        """A job may exist on vCenter and its outcome is not known here."""
        return self.phase in (Phase.INTENT, Phase.LAUNCHED) and self.outcome in (
            None,
            Outcome.DETACHED,
        )


@dataclass(frozen=True, slots=True)
class WaveRecord:
    """A wave's row: its gates as the plan set them, and how far it got."""

    position: int
    name: str
    threshold_kind: str
    threshold_limit: str
    failure_kind: str = "count"
    failure_limit: str = "0"
    status: WaveStatus | None = None
    started_at: datetime | None = None
    finished_at: datetime | None = None


@dataclass(frozen=True, slots=True)
class ControlRecord:
    """An operator's command to a running run (approve, reject, pause, continue, abort)."""

    seq: int
    at: datetime
    command: str
    wave: str | None
    by: str
    reason: str | None
    handled_at: datetime | None = None


@dataclass(frozen=True, slots=True)
class HistoryRecord:
    """A run-level event for the report's history: starts, stops, resumes, controls."""

    at: datetime
    event: str
    by: str | None = None
    reason: str | None = None


@dataclass(frozen=True, slots=True)
class NotificationRecord:
    """The final result of one webhook delivery."""

    at: datetime
    target: str
    event: str
    status: str
    attempts: int


VCenterRecord = VCenterReport
"""Request counters of one vCenter (cumulative over resumes): the journal stores them in
the report's own model, which shows them as they are."""
