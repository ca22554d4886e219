"""Turn what vCenter reports into the outcomes of DESIGN §3 — pure functions, no I/O.

A finished job is classified from the task, the precheck severities and the versions
together, never from ``state`` alone (a real vCenter may report ``ERROR`` after a precheck
block, our simulator ``READY``). Unknown enum values (``UNRECOGNIZED``) are never taken
for success: they match none of the branches that lead to ``upgraded``.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from fleetupgrade.journal.store import MessageRecord
from fleetupgrade.outcomes import Outcome
from fleetupgrade.vcenter import (
    Condition,
    ConditionStatus,
    Severity,
    TaskInfo,
    TaskStatus,
    UpgradeInfo,
    UpgradeMessage,
    UpgradeState,
)

RUNNING_TASK_STATES = frozenset({TaskStatus.PENDING, TaskStatus.RUNNING, TaskStatus.BLOCKED})
_SEVERITY_ORDER = {"ERROR": 0, "WARNING": 1, "INFO": 2}


@dataclass(frozen=True, slots=True)
class Verdict:
    """How a Supervisor ended; ``outcome=None`` means go ahead (launch, or adopt)."""

    outcome: Outcome | None
    reason: str | None = None
    adopt: bool = False
    messages: tuple[MessageRecord, ...] = ()


def before_launch(info: UpgradeInfo, desired: str) -> Verdict:
    """Decide from a Supervisor's upgrade state whether a job may be created for it."""
    if info.state is UpgradeState.INPROGRESS:
        target = info.upgrade_status.desired_version if info.upgrade_status else None
        if target == desired:
            return Verdict(outcome=None, adopt=True, reason="upgrade already in progress")
        return Verdict(
            Outcome.REJECTED,
            f"an upgrade toward {target or 'an unknown version'} is already in progress",
        )
    if info.current_version == desired:
        return Verdict(Outcome.ALREADY_CURRENT, f"already at {desired}")
    if info.state is UpgradeState.ERROR:
        return Verdict(
            Outcome.REJECTED, "in ERROR state after a failed upgrade: needs intervention"
        )
    if info.state is not UpgradeState.READY:
        return Verdict(Outcome.REJECTED, f"unknown upgrade state {info.state.value!r}")
    if desired not in info.available_versions:
        available = ", ".join(info.available_versions) or "none"
        return Verdict(
            Outcome.REJECTED, f"version {desired} is not available (available: {available})"
        )
    return Verdict(outcome=None)


def precheck_messages(conditions: Iterable[Condition]) -> tuple[MessageRecord, ...]:
    """Messages of the prechecks that did not pass, worst first."""
    found = []
    for condition in conditions:
        if condition.status is not ConditionStatus.FALSE:
            continue
        details = [m.details.default_message for m in condition.messages if m.details]
        text = "; ".join([condition.description.default_message, *details])
        found.append(
            MessageRecord(
                severity=condition.severity.value,
                id=condition.description.id or condition.type,
                text=text or condition.reason,
            )
        )
    return tuple(sorted(found, key=lambda m: _SEVERITY_ORDER.get(m.severity, 3)))


def upgrade_messages(messages: Iterable[UpgradeMessage]) -> tuple[MessageRecord, ...]:
    """Upgrades.Message entries as report messages."""
    return tuple(
        MessageRecord(m.severity.value, m.details.id, m.details.default_message) for m in messages
    )


def precheck_verdict(
    prechecks: tuple[MessageRecord, ...],
    *,
    ignore_warnings: bool,
    messages: tuple[MessageRecord, ...],
) -> Verdict | None:
    """``precheck_error`` / ``precheck_warning`` when the prechecks blocked, else None."""
    errors = [m.id for m in prechecks if m.severity == Severity.ERROR.value]
    if errors:
        return Verdict(
            Outcome.PRECHECK_ERROR,
            f"prechecks reported ERROR: {', '.join(errors)}",
            messages=messages,
        )
    warnings = [m.id for m in prechecks if m.severity == Severity.WARNING.value]
    if warnings and not ignore_warnings:
        return Verdict(
            Outcome.PRECHECK_WARNING,
            f"prechecks reported WARNING (not ignored): {', '.join(warnings)}",
            messages=messages,
        )
    return None


def task_ended(task: TaskInfo) -> bool:
    """Whether a cis task reached a final status (unknown statuses are not final)."""
    return task.status in (TaskStatus.SUCCEEDED, TaskStatus.FAILED)


def finished_job(
    info: UpgradeInfo, task: TaskInfo | None, *, desired: str, ignore_warnings: bool
) -> Verdict:
    """Classify a job that has ended, from Upgrades.get (``info``) and the cis task."""
    prechecks = precheck_messages(info.upgrade_prechecks or ())
    info_messages = upgrade_messages(info.messages)
    messages = prechecks + tuple(m for m in info_messages if m not in prechecks)
    reached = info.current_version == desired and info.state is UpgradeState.READY
    if (task is not None and task.status is TaskStatus.SUCCEEDED) or (task is None and reached):
        if reached:
            return Verdict(Outcome.UPGRADED, None, messages=messages)
        return Verdict(
            Outcome.FAILED,
            f"the task succeeded but the Supervisor is at {info.current_version} "
            f"in state {info.state.value}",
            messages=messages,
        )
    blocked = precheck_verdict(prechecks, ignore_warnings=ignore_warnings, messages=messages)
    if blocked is not None:
        return blocked
    if task is not None and task.status is TaskStatus.FAILED:
        why = "; ".join(task.error.texts()) if task.error else ""
        kind = task.error.error_type if task.error and task.error.error_type else "FAILED"
        return Verdict(
            Outcome.FAILED, f"{kind}: {why or 'the upgrade task failed'}", messages=messages
        )
    errors = [m.text for m in info_messages if m.severity == Severity.ERROR.value]
    reason = "; ".join(errors) or f"the job ended in state {info.state.value} without upgrading"
    return Verdict(Outcome.FAILED, reason, messages=messages)
