"""The outcome vocabulary (docs/design.md, "Outcomes"): what users, reports and exits speak."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from typing import Literal, get_args


@dataclass(frozen=True, slots=True)
class Message:
    """One precheck, upgrade or health message as reports show it (severity, id, text)."""

    severity: str
    id: str
    text: str


class Outcome(StrEnum):
    """How one Supervisor ended in a run (or would end, in a dry run)."""

    UPGRADED = "upgraded"
    ALREADY_CURRENT = "already_current"
    PRECHECK_ERROR = "precheck_error"
    PRECHECK_WARNING = "precheck_warning"
    REJECTED = "rejected"
    FAILED = "failed"
    TIMED_OUT = "timed_out"
    NOT_STARTED = "not_started"
    DETACHED = "detached"
    UNREACHABLE = "unreachable"
    UNHEALTHY = "unhealthy"
    # dry-run only
    WOULD_UPGRADE = "would_upgrade"
    IN_PROGRESS = "in_progress"
    UNHEALTHY_BEFORE = "unhealthy_before"


SUCCESS_OUTCOMES = frozenset({Outcome.UPGRADED, Outcome.ALREADY_CURRENT})
# What a wave's failure gate counts (docs/design.md, "Failure gate").
GATE_FAILURE_OUTCOMES = frozenset(
    {
        Outcome.FAILED,
        Outcome.TIMED_OUT,
        Outcome.UNHEALTHY,
        Outcome.REJECTED,
        Outcome.UNREACHABLE,
    }
)
DRY_RUN_SUCCESS_OUTCOMES = frozenset({Outcome.WOULD_UPGRADE, Outcome.ALREADY_CURRENT})
# JUnit: these are failures; NOT_STARTED and DETACHED are skipped.
FAILURE_OUTCOMES = GATE_FAILURE_OUTCOMES | {
    Outcome.PRECHECK_ERROR,
    Outcome.PRECHECK_WARNING,
    Outcome.IN_PROGRESS,
    Outcome.UNHEALTHY_BEFORE,
}
SKIPPED_OUTCOMES = frozenset({Outcome.NOT_STARTED, Outcome.DETACHED})


class WaveStatus(StrEnum):
    """How a wave ended."""

    AWAITING_APPROVAL = "awaiting_approval"
    RUNNING = "running"
    COMPLETED = "completed"
    HALTED = "halted"
    STOPPED = "stopped"
    NOT_STARTED = "not_started"


class RunResult(StrEnum):
    """How the whole run ended."""

    SUCCEEDED = "succeeded"
    COMPLETED_WITH_FAILURES = "completed_with_failures"
    HALTED = "halted"
    STOPPED = "stopped"


class ExitCode:
    """Exit codes (docs/design.md, "Exit codes"); when several apply, PRECEDENCE decides."""

    OK = 0
    FAILURES = 1
    USAGE = 2
    HALTED = 3
    STOPPED = 4
    INTERNAL = 70
    IO_ERROR = 74
    LOCKED = 75

    PRECEDENCE = (INTERNAL, IO_ERROR, LOCKED, USAGE, STOPPED, HALTED, FAILURES, OK)


NotifyEvent = Literal[
    "run_started",
    "wave_started",
    "wave_awaiting_approval",
    "wave_halted",
    "wave_finished",
    "run_finished",
    "run_stopped",
    "vcenter_unreachable",
]
"""The run events a ``[[notify]]`` target may subscribe to (docs/notify.md)."""
NOTIFY_EVENTS: tuple[str, ...] = get_args(NotifyEvent)
DEFAULT_NOTIFY_EVENTS: tuple[NotifyEvent, ...] = (
    "wave_awaiting_approval",
    "wave_halted",
    "run_finished",
    "run_stopped",
)
"""The events of a target that lists none: the ones a human acts on."""
