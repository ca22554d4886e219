"""What vCenter shows about an upgrade job create whose answer was lost.

Why: a create is never repeated blindly. When its outcome is unknown (connection dropped
after sending, timeout, malformed answer) — or when a resumed run finds an intent without a
task id — vCenter's own state decides: the Supervisor's upgrade tasks (a task started at
or after the create, minus a clock-skew allowance, or still PENDING) and Upgrades.get (an
upgrade running toward the desired version). This module holds the pure part: the
result and the choice of the task.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from fleetupgrade.vcenter.models import TaskInfo, UpgradeInfo, UpgradeState

__all__ = [
    "DEFAULT_CLOCK_SKEW",
    "JOBS_SERVICE",
    "SUPERVISOR_TYPE",
    "Reconciliation",
    "newest_job_task",
]

JOBS_SERVICE = "com.vmware.vcenter.namespace_management.software.supervisors.upgrades.jobs"
SUPERVISOR_TYPE = "com.vmware.vcenter.namespace_management.supervisor.Supervisor"
DEFAULT_CLOCK_SKEW = timedelta(minutes=2)


@dataclass(frozen=True, slots=True)
class Reconciliation:
    """The result of re-reading vCenter after a create.

    ``task_id``/``task``: the newest upgrade task of the Supervisor started at or after
    ``since`` minus the clock-skew allowance (or still PENDING); ``upgrade``: its
    Upgrades.Info when read.
    """

    supervisor_id: str
    desired_version: str
    since: datetime
    task_id: str | None
    task: TaskInfo | None
    upgrade: UpgradeInfo

    @property
    def in_progress(self) -> bool:
        """Tell whether an upgrade toward ``desired_version`` is running."""
        status = self.upgrade.upgrade_status
        return (
            self.upgrade.state is UpgradeState.INPROGRESS
            and status is not None
            and status.desired_version == self.desired_version
        )

    @property
    def job_found(self) -> bool:
        """Tell whether a job exists (its task found, or the upgrade seen running)."""
        return self.task_id is not None or self.in_progress

    def describe(self) -> str:
        """Say in one line what was found (for messages and logs)."""
        if self.task_id is not None and self.task is not None:
            return f"found task {self.task_id} ({self.task.status.value})"
        if self.in_progress:
            return f"an upgrade to {self.desired_version} is running but no task of it was found"
        return (
            f"no upgrade task since {self.since.isoformat(timespec='seconds')} and state "
            f"{self.upgrade.state.value} at version {self.upgrade.current_version}"
        )


def newest_job_task(
    supervisor_id: str, tasks: dict[str, TaskInfo], cutoff: datetime
) -> tuple[str | None, TaskInfo | None]:
    """Pick the newest upgrade job task of the Supervisor started at/after ``cutoff``."""
    newest: tuple[datetime, str, TaskInfo] | None = None
    for task_id, task in tasks.items():
        if task.service != JOBS_SERVICE:
            continue
        if task.target is not None and task.target.id != supervisor_id:
            continue
        started = task.start_time or datetime.max.replace(tzinfo=UTC)  # PENDING: newest
        if started < cutoff:
            continue
        if newest is None or started > newest[0]:
            newest = (started, task_id, task)
    return (None, None) if newest is None else (newest[1], newest[2])
