"""Follow one upgrade job to its end from the bulk poller's snapshots.

The job runs on vCenter, not here: watching only reads. It ends in a classified outcome,
or ``timed_out`` when the job outlives ``upgrade_timeout`` (counted from its creation) or
its progress stays frozen for ``stall_timeout``; a timed-out job is left running on
vCenter and reported, never cancelled.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import datetime

import anyio
import structlog

from fleetupgrade.decide.classify import Verdict, finished_job, task_ended
from fleetupgrade.errors import APIError
from fleetupgrade.journal.store import Journal, utcnow
from fleetupgrade.outcomes import Outcome
from fleetupgrade.rollout.fleet import VCenterHandle
from fleetupgrade.vcenter import TaskInfo, UpgradeState, UpgradeSummary

log = structlog.get_logger("fleetupgrade.engine")


@dataclass(frozen=True, slots=True)
class WatchLimits:
    """How long a job may run, and stay without progress, before it is ``timed_out``."""

    upgrade_timeout: float
    stall_timeout: float


def _progress_of(task: TaskInfo | None) -> int | None:
    return None if task is None or task.progress is None else task.progress.completed


async def wait_job_done(
    handle: VCenterHandle,
    journal: Journal,
    *,
    key: str,
    supervisor_id: str,
    task_id: str | None,
    desired: str,
    ignore_warnings: bool,
    started_at: datetime,
    limits: WatchLimits,
) -> Verdict:
    """Wait until the job on ``supervisor_id`` ends; classify how it ended."""
    poller = handle.poller
    poller.watch(supervisor_id, task_id)
    try:
        last_progress: int | None = None
        last_change = anyio.current_time()
        elapsed = (utcnow() - started_at).total_seconds()
        deadline = anyio.current_time() + max(0.0, limits.upgrade_timeout - elapsed)
        while True:
            snapshot = None
            with anyio.move_on_after(max(0.0, deadline - anyio.current_time())):
                snapshot = await poller.next_snapshot()
            now = anyio.current_time()
            if snapshot is None or now >= deadline:
                return Verdict(
                    Outcome.TIMED_OUT, "upgrade_timeout reached; left running on vCenter"
                )
            if snapshot.error is not None:
                continue
            task = snapshot.tasks.get(task_id) if task_id else None
            summary = snapshot.upgrades.get(supervisor_id)
            progress = _progress_of(task)
            if progress != last_progress:
                last_progress, last_change = progress, now
                journal.set_progress(key, progress)
                log.info("upgrade_progress", percent=progress, task_id=task_id)
            ended = task_ended(task) if task is not None else _summary_ended(summary)
            if ended:
                return await _classify(handle, supervisor_id, task_id, desired, ignore_warnings)
            if limits.stall_timeout < math.inf and now - last_change >= limits.stall_timeout:
                return Verdict(
                    Outcome.TIMED_OUT,
                    f"stalled: no progress for {limits.stall_timeout:g}s; left running on vCenter",
                )
    finally:
        poller.unwatch(supervisor_id)


def _summary_ended(summary: UpgradeSummary | None) -> bool:
    """Without a task: the job is over once the Supervisor is READY or in ERROR again."""
    return summary is not None and summary.state in (UpgradeState.READY, UpgradeState.ERROR)


async def _classify(
    handle: VCenterHandle,
    supervisor_id: str,
    task_id: str | None,
    desired: str,
    ignore_warnings: bool,
) -> Verdict:
    info = await handle.client.get_upgrade(supervisor_id)
    task = None
    if task_id is not None:
        try:
            task = await handle.client.get_task(task_id)
        except APIError as exc:
            if exc.error_type != "NOT_FOUND":
                raise
    return finished_job(info, task, desired=desired, ignore_warnings=ignore_warnings)
