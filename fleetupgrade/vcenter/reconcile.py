"""Did a create reach vCenter? The pure verdict from vCenter's two sources.

Why: a create is never repeated blindly. When its outcome is unknown (a 5xx, a connection
dropped after sending, a timeout, a malformed answer) — or when a resumed run finds an
intent without a task id — vCenter's own state decides, and only a *proof* of absence
lets the engine send again. Two sources are read (after a settle delay, see
``client.py``):

* the Supervisor's upgrade job tasks (matched by target, service and operation ``create``)
  started since the create, compared on **vCenter's clock**: the create instant is
  converted with the offset read from vCenter's ``Date`` header (:mod:`.vclock`), minus a
  margin (``DEFAULT_CLOCK_MARGIN``) for the estimate's error. A PENDING task (no start
  time yet) always counts as recent. Without any clock estimate start times cannot be
  placed: then a running task still counts, and a finished one makes the verdict unknown;
* Upgrades.get: an upgrade in progress (state ``INPROGRESS`` or an ``upgrade_status``).

The verdict (:class:`Verdict`):

* ``JOB_FOUND``: a recent task (``task_id`` set), or no task but an upgrade toward the
  desired version in progress (``task_id`` None: only Upgrades.get shows it);
* ``NO_JOB`` (proven): no recent task **and** no upgrade in progress;
* ``UNKNOWN``: a source could not be read, or the sources disagree or cannot be
  interpreted (an upgrade to another version running, an unrecognised state, finished
  tasks that cannot be placed in time). Never re-send then.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from enum import StrEnum

from fleetupgrade.vcenter.models import TaskInfo, TaskStatus, UpgradeInfo, UpgradeState

__all__ = [
    "DEFAULT_CLOCK_MARGIN",
    "JOBS_SERVICE",
    "JOB_OPERATION",
    "SUPERVISOR_TYPE",
    "Reconciliation",
    "Verdict",
    "judge",
    "unreadable",
]

JOBS_SERVICE = "com.vmware.vcenter.namespace_management.software.supervisors.upgrades.jobs"
JOB_OPERATION = "create"
SUPERVISOR_TYPE = "com.vmware.vcenter.namespace_management.supervisor.Supervisor"
DEFAULT_CLOCK_MARGIN = timedelta(minutes=2)

_RUNNING = frozenset({TaskStatus.PENDING, TaskStatus.RUNNING, TaskStatus.BLOCKED})


class Verdict(StrEnum):
    """What re-reading vCenter proved about a create."""

    JOB_FOUND = "job_found"
    NO_JOB = "no_job"
    UNKNOWN = "unknown"


@dataclass(frozen=True, slots=True)
class Reconciliation:
    """The result of re-reading vCenter after a create; switch on ``verdict``.

    ``reason`` says in one line what was found (for messages and logs); ``task_id`` /
    ``task``: the newest matching task (JOB_FOUND only, may be None when only Upgrades.get
    shows the job); ``upgrade``: the Upgrades.Info read, when it could be read.
    """

    supervisor_id: str
    desired_version: str
    verdict: Verdict
    reason: str
    task_id: str | None = None
    task: TaskInfo | None = None
    upgrade: UpgradeInfo | None = None

    @property
    def job_found(self) -> bool:
        """A job exists: adopt it (``task_id`` may be None)."""
        return self.verdict is Verdict.JOB_FOUND

    @property
    def no_job(self) -> bool:
        """Tell whether vCenter proved that no job exists (a new create may be sent)."""
        return self.verdict is Verdict.NO_JOB

    @property
    def in_progress(self) -> bool:
        """Upgrades.get showed an upgrade toward ``desired_version`` in progress."""
        status = None if self.upgrade is None else self.upgrade.upgrade_status
        return status is not None and status.desired_version == self.desired_version

    def describe(self) -> str:
        """The one-line reason."""
        return self.reason


def _is_job(supervisor_id: str, task: TaskInfo) -> bool:
    if task.service != JOBS_SERVICE or task.operation != JOB_OPERATION:
        return False
    return task.target is None or task.target.id == supervisor_id


def _newest(tasks: Mapping[str, TaskInfo]) -> tuple[str, TaskInfo] | None:
    """The newest task; a PENDING one (no start time yet) counts as the newest."""
    best: tuple[tuple[bool, datetime], str, TaskInfo] | None = None
    for task_id, task in tasks.items():
        rank = (task.start_time is None, task.start_time or _OLDEST)
        if best is None or rank > best[0]:
            best = (rank, task_id, task)
    return None if best is None else (best[1], best[2])


_OLDEST = datetime.min.replace(tzinfo=UTC)


def unreadable(supervisor_id: str, desired_version: str, why: str) -> Reconciliation:
    """The verdict when a source could not be read."""
    return Reconciliation(
        supervisor_id,
        desired_version,
        Verdict.UNKNOWN,
        f"vCenter could not be re-read to learn whether a job was created ({why})",
    )


def judge(
    supervisor_id: str,
    desired_version: str,
    tasks: Mapping[str, TaskInfo],
    upgrade: UpgradeInfo,
    cutoff: datetime | None,
) -> Reconciliation:
    """Decide from both sources (see the module docstring).

    ``cutoff``: the create instant on vCenter's clock minus the margin; None when
    vCenter's clock is unknown.
    """
    jobs = {tid: task for tid, task in tasks.items() if _is_job(supervisor_id, task)}
    unplaced = 0
    recent: dict[str, TaskInfo] = {}
    for task_id, task in jobs.items():
        if task.start_time is None:
            recent[task_id] = task
        elif cutoff is not None:
            if task.start_time >= cutoff:
                recent[task_id] = task
        elif task.status in _RUNNING:
            recent[task_id] = task
        else:
            unplaced += 1

    def result(
        verdict: Verdict, reason: str, found: tuple[str, TaskInfo] | None = None
    ) -> Reconciliation:
        task_id, task = found if found is not None else (None, None)
        return Reconciliation(
            supervisor_id, desired_version, verdict, reason, task_id, task, upgrade
        )

    newest = _newest(recent)
    if newest is not None:
        return result(
            Verdict.JOB_FOUND, f"found task {newest[0]} ({newest[1].status.value})", newest
        )
    status = upgrade.upgrade_status
    if status is not None and status.desired_version == desired_version:
        return result(
            Verdict.JOB_FOUND,
            f"an upgrade to {desired_version} is in progress but no task of it was found",
        )
    if status is not None:
        return result(
            Verdict.UNKNOWN, f"an upgrade to {status.desired_version} is in progress instead"
        )
    if upgrade.state is not UpgradeState.READY and upgrade.state is not UpgradeState.ERROR:
        return result(
            Verdict.UNKNOWN,
            f"state {upgrade.state.value} without an upgrade status cannot be interpreted",
        )
    if unplaced:
        return result(
            Verdict.UNKNOWN,
            f"{unplaced} finished upgrade task(s) cannot be placed in time "
            "(vCenter's answers carry no usable Date header)",
        )
    since = "" if cutoff is None else f" since {cutoff.isoformat(timespec='seconds')}"
    return result(
        Verdict.NO_JOB,
        f"no upgrade task{since} and no upgrade in progress "
        f"(state {upgrade.state.value} at version {upgrade.current_version})",
    )
