"""How a finished upgrade job ended — from the task, the precheck verdicts and the versions.

Pure functions over what vCenter reported. A finished job is never judged by ``state``
alone (docs/wire.md, "Classifying a finished job"): a real vCenter may report ``ERROR``
after a precheck block where the simulator reports ``READY``.

Precheck verdicts come from both places vCenter records them — the conditions of
``upgrade_prechecks`` and the severities of the upgrade messages — united and deduplicated
by id, so a vCenter that leaves ``upgrade_prechecks`` unset still halts a wave on ERROR.
A job counts as *blocked by its prechecks* only if the upgrade proper never began (the
task's progress never left 0 and no failure of the upgrade itself is reported); a job
that began and then failed is ``failed`` whatever warnings its prechecks raised, and so is
an adopted job whose own ``ignore_precheck_warnings`` flag we cannot know.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from fleetupgrade.decide.launch import Finish
from fleetupgrade.outcomes import Message, Outcome
from fleetupgrade.vcenter import (
    Condition,
    ConditionStatus,
    TaskInfo,
    TaskStatus,
    UpgradeInfo,
    UpgradeMessage,
    UpgradeState,
    UpgradeSummary,
)
from fleetupgrade.versions import is_newer

__all__ = [
    "NOT_VERDICTS",
    "RUNNING_TASK_STATES",
    "JobEnd",
    "at_target",
    "finished_job",
    "job_ended",
    "lost_job",
    "needs_messages",
    "precheck_verdict",
    "task_ended",
    "verdict_messages",
]

RUNNING_TASK_STATES = frozenset({TaskStatus.PENDING, TaskStatus.RUNNING, TaskStatus.BLOCKED})
_SEVERITY_ORDER = {"ERROR": 0, "WARNING": 1, "INFO": 2}
# Messages that describe the job, not a precheck verdict (docs/wire.md).
_BLOCKED_MARKER = "vcenter.wcp.upgrade.precheck.blocked"
NOT_VERDICTS = frozenset(
    {
        _BLOCKED_MARKER,
        "vcenter.wcp.upgrade.failed",
        "vcenter.wcp.upgrade.canceled",
        "vcenter.wcp.upgrade.completed",
        "vcenter.wcp.upgrade.precheck.completed",
    }
)


@dataclass(frozen=True, slots=True)
class JobEnd:
    """What the bulk polls (and, when needed, one single read) saw of an ended job."""

    task: TaskInfo | None  # None: not known (none, expired) or not read (ended at target)
    state: UpgradeState
    current_version: str
    info: UpgradeInfo | None = None  # the single read, only when messages are needed


def task_ended(task: TaskInfo) -> bool:
    """Whether a cis task reached a final status (unknown statuses are not final)."""
    return task.status in (TaskStatus.SUCCEEDED, TaskStatus.FAILED)


def job_ended(task: TaskInfo | None, summary: UpgradeSummary | None) -> bool:
    """Whether a round's reads show a followed job ended, with the upgrade state to judge it.

    Its task reached a final status; or its task was not read (or vCenter no longer knows
    it) and the Supervisor is idle (``READY``) or failed (``ERROR``). Without an Upgrades
    row there is nothing to judge the end by yet.
    """
    if summary is None:
        return False
    if task is not None:
        return task_ended(task)
    return summary.state in (UpgradeState.READY, UpgradeState.ERROR)


def at_target(state: UpgradeState, current_version: str, desired: str) -> bool:
    """Whether an upgrade state shows the job's end reached: idle at (or past) the target.

    The bulk poller uses it to skip a finished job's task read; classification uses it to
    call a job ``upgraded``: one definition for both.
    """
    reached = current_version == desired or is_newer(current_version, desired)
    return reached and state is UpgradeState.READY


def _reached(end: JobEnd, desired: str) -> bool:
    return at_target(end.state, end.current_version, desired)


def needs_messages(end: JobEnd, desired: str) -> bool:
    """Whether classifying needs the single Upgrades.get read (messages of a failure).

    A job idle at its target whose task succeeded, or was not read because the Upgrades
    list already showed that end, is ``upgraded``: nothing more to read.
    """
    task = end.task
    succeeded = task is None or task.status is TaskStatus.SUCCEEDED
    return not (succeeded and _reached(end, desired))


def _condition_messages(conditions: Iterable[Condition]) -> list[Message]:
    found = []
    for condition in conditions:
        if condition.status is not ConditionStatus.FALSE:
            continue
        details = [m.details.default_message for m in condition.messages if m.details]
        text = "; ".join([condition.description.default_message, *details])
        found.append(
            Message(
                severity=condition.severity.value,
                id=condition.description.id or condition.type,
                text=text or condition.reason,
            )
        )
    return found


def _upgrade_messages(messages: Iterable[UpgradeMessage]) -> list[Message]:
    return [Message(m.severity.value, m.details.id, m.details.default_message) for m in messages]


def _dedupe(messages: Iterable[Message]) -> tuple[Message, ...]:
    seen: dict[str, Message] = {}
    for message in messages:
        known = seen.get(message.id)
        if known is None or _SEVERITY_ORDER.get(message.severity, 3) < _SEVERITY_ORDER.get(
            known.severity, 3
        ):
            seen[message.id] = message
    return tuple(sorted(seen.values(), key=lambda m: _SEVERITY_ORDER.get(m.severity, 3)))


def verdict_messages(
    conditions: Iterable[Condition], messages: Iterable[UpgradeMessage]
) -> tuple[Message, ...]:
    """Every precheck verdict that did not pass, from both sources, by id, worst first."""
    united = [*_condition_messages(conditions), *_upgrade_messages(messages)]
    return _dedupe(m for m in united if m.id not in NOT_VERDICTS and m.severity != "INFO")


def precheck_verdict(
    verdicts: tuple[Message, ...], *, ignore_warnings: bool | None
) -> tuple[Outcome, str] | None:
    """``precheck_error`` / ``precheck_warning`` when the verdicts block, else None.

    ``ignore_warnings=None`` means the job's own flag is unknown (an adopted job): then
    WARNINGs are taken as blocking only when the caller knows the job was blocked.
    """
    errors = [m.id for m in verdicts if m.severity == "ERROR"]
    if errors:
        return Outcome.PRECHECK_ERROR, f"prechecks reported ERROR: {', '.join(errors)}"
    warnings = [m.id for m in verdicts if m.severity == "WARNING"]
    if warnings and ignore_warnings is not True:
        reason = f"prechecks reported WARNING (not ignored): {', '.join(warnings)}"
        if ignore_warnings is None:
            reason += "; the job was started elsewhere, its ignore flag is unknown"
        return Outcome.PRECHECK_WARNING, reason
    return None


def _all_messages(info: UpgradeInfo | None) -> tuple[list[Condition], list[UpgradeMessage]]:
    if info is None:
        return [], []
    conditions = list(info.upgrade_prechecks or ())
    messages = list(info.messages)
    if info.upgrade_status is not None:
        messages.extend(info.upgrade_status.messages)
    return conditions, messages


def _began_upgrading(end: JobEnd, messages: Iterable[UpgradeMessage]) -> bool:
    progressed = (
        end.task is not None and end.task.progress is not None and end.task.progress.completed > 0
    )
    failed_itself = any(m.details.id == "vcenter.wcp.upgrade.failed" for m in messages)
    return progressed or failed_itself


def lost_job(end: JobEnd, *, task_id: str | None, desired: str) -> str | None:
    """Why the job cannot be judged at all (None: it can): vCenter knows nothing of it.

    Our task id is absent from vCenter's task list, and the Supervisor shows no upgrade
    in progress and not the desired version: the job's fate is unknown (a vCenter that
    was rebuilt, a fresh simulator, an expired task). That is never a ``failed``; the
    Supervisor is ``detached`` with this reason, and a resume asks again.
    """
    if task_id is None or end.task is not None or _reached(end, desired):
        return None
    if end.state is not UpgradeState.READY:
        return None
    return (
        f"vCenter does not know task {task_id} and shows no upgrade "
        f"(at {end.current_version}, not {desired}): the job's outcome is unknown"
    )


def finished_job(end: JobEnd, *, desired: str, ignore_warnings: bool | None) -> Finish:
    """Classify a job that has ended (``ignore_warnings=None``: an adopted job)."""
    conditions, raw_messages = _all_messages(end.info)
    verdicts = verdict_messages(conditions, raw_messages)
    shown = _dedupe([*verdicts, *_upgrade_messages(raw_messages)])
    task = end.task
    succeeded = task is not None and task.status is TaskStatus.SUCCEEDED
    if succeeded or (task is None and _reached(end, desired)):
        if _reached(end, desired):
            return Finish(Outcome.UPGRADED, None, shown)
        return Finish(
            Outcome.FAILED,
            f"the task succeeded but the Supervisor is at {end.current_version} "
            f"in state {end.state.value}",
            shown,
        )
    blocked_marker = any(m.details.id == _BLOCKED_MARKER for m in raw_messages)
    if not _began_upgrading(end, raw_messages) and (verdicts or blocked_marker):
        verdict = precheck_verdict(verdicts, ignore_warnings=ignore_warnings)
        if verdict is not None:
            return Finish(verdict[0], verdict[1], shown)
        if blocked_marker and not verdicts:
            return Finish(
                Outcome.PRECHECK_ERROR, "blocked by its prechecks; vCenter gave no details", shown
            )
    if task is not None and task.status is TaskStatus.FAILED:
        why = "; ".join(task.error.texts()) if task.error else ""
        kind = task.error.error_type if task.error and task.error.error_type else "FAILED"
        return Finish(Outcome.FAILED, f"{kind}: {why or 'the upgrade task failed'}", shown)
    errors = [m.text for m in _upgrade_messages(raw_messages) if m.severity == "ERROR"]
    reason = "; ".join(errors) or f"the job ended in state {end.state.value} without upgrading"
    return Finish(Outcome.FAILED, reason, shown)
