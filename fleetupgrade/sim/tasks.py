"""Which cis tasks a ``Tasks.FilterSpec`` selects (docs/wire.md, cis Tasks): all criteria match."""

from __future__ import annotations

from fleetupgrade.sim.inputs import TaskFilter
from fleetupgrade.sim.machine import Job
from fleetupgrade.sim.views import SERVICE_ID, SUPERVISOR_TYPE, task_status


def task_matches(job: Job, spec: TaskFilter, now: float) -> bool:
    """Whether an upgrade job's task passes the filter (ids are checked by the caller)."""
    if spec.services and SERVICE_ID not in spec.services:
        return False
    if spec.operations and "create" not in spec.operations:
        return False
    if spec.users and job.user not in spec.users:
        return False
    if spec.status and task_status(job, now) not in spec.status:
        return False
    return not spec.targets or any(
        t.type == SUPERVISOR_TYPE and t.id == job.supervisor for t in spec.targets
    )
