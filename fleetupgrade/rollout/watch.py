"""Follow one upgrade job to its end, then its Supervisor to health, from bulk rounds.

The job runs on vCenter, not here: watching only reads. Losing a poll is never an
outcome: the watcher keeps asking until the job ends, the run stops, or the job outlives
``upgrade_timeout`` (counted from its creation) or stays without progress for
``stall_timeout`` — both measured on our monotonic clock, so they run while polls fail.
A timed-out job is left running on vCenter and reported, never cancelled.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import datetime, timedelta

import anyio
import structlog

from fleetupgrade.decide.classify import JobEnd, job_ended
from fleetupgrade.journal.store import Journal
from fleetupgrade.rollout.fleet import VCenterHandle
from fleetupgrade.timefmt import utcnow
from fleetupgrade.vcenter import SupervisorSummary, TaskInfo, health_problem, is_healthy

log = structlog.get_logger("fleetupgrade.rollout")

__all__ = ["Ended", "HealthWatch", "TimedOut", "WatchLimits", "wait_job_end"]

PROGRESS_LOG_STEP = 10


@dataclass(frozen=True, slots=True)
class WatchLimits:
    """How long a job may run, and stay without progress, before it is ``timed_out``."""

    upgrade_timeout: float  # seconds left from now
    stall_timeout: float


@dataclass(frozen=True, slots=True)
class Ended:
    """What the bulk rounds saw of a job's end, and when it ended as far as they can tell.

    ``at`` is where the reads place the end (rollout/poller.py): the job's predicted end
    when the round due then found it ended, else that round. Learned durations are
    measured to it.
    """

    job: JobEnd
    at: datetime


@dataclass(frozen=True, slots=True)
class TimedOut:
    """The job is still running on vCenter past a limit."""

    reason: str


async def wait_job_end(
    handle: VCenterHandle,
    journal: Journal,
    *,
    key: str,
    supervisor_id: str,
    task_id: str | None,
    desired: str,
    health: bool,
    expected_seconds: float | None,
    limits: WatchLimits,
) -> Ended | TimedOut:
    """Wait until the job on ``supervisor_id`` ends; what the bulk rounds saw of its end.

    ``desired``, ``health`` and ``expected_seconds`` (how much longer the job should run)
    let the poller read less: see rollout/poller.py.
    """
    poller = handle.poller
    if task_id is not None:
        poller.follow(
            supervisor_id,
            task_id,
            desired=desired,
            health=health,
            expected_seconds=expected_seconds,
        )
    try:
        last_progress: int | None = None
        logged: int | None = None
        last_change = last_read = anyio.current_time()
        deadline = anyio.current_time() + max(0.0, limits.upgrade_timeout)
        while True:
            seen = None
            with anyio.move_on_after(max(0.0, deadline - anyio.current_time())):
                if task_id is None:
                    seen = await poller.read_upgrade(supervisor_id)
                else:
                    seen = await poller.next_round()
            now = anyio.current_time()
            if seen is None or now >= deadline:
                return TimedOut("upgrade_timeout reached; left running on vCenter")
            # A round may leave the task unread (the poller reads less while a job's end
            # is not due): progress is then unknown, not gone, and not a stall either.
            read = seen.error is not None or task_id is None or task_id in seen.asked
            if read:
                last_read = now
            stalled = (
                limits.stall_timeout < math.inf and last_read - last_change >= limits.stall_timeout
            )
            if seen.error is None:
                task = seen.tasks.get(task_id) if task_id is not None else None
                summary = seen.upgrades.get(supervisor_id)
                progress = (None if task is None else _percent(task)) if read else last_progress
                if progress != last_progress:
                    last_progress, last_change = progress, now
                    stalled = False
                    journal.set_progress(key, progress)
                    if progress is not None and (
                        logged is None or abs(progress - logged) >= PROGRESS_LOG_STEP
                    ):
                        logged = progress
                        log.debug("upgrade_progress", percent=progress, task_id=task_id)
                if job_ended(task, summary):
                    assert summary is not None
                    ago = now - seen.ended_at.get(supervisor_id, now)
                    return Ended(
                        JobEnd(task, summary.state, summary.current_version),
                        utcnow() - timedelta(seconds=max(0.0, ago)),
                    )
            if stalled:
                return TimedOut(
                    f"stalled: no progress for {limits.stall_timeout:g}s; left running on vCenter"
                )
    finally:
        poller.unfollow(supervisor_id)


def _percent(task: TaskInfo) -> int | None:
    return None if task.progress is None else task.progress.completed


class HealthWatch:
    """Waits for a Supervisor to be healthy (config RUNNING, Kubernetes READY) after its job.

    The caller owns the deadline (``health_timeout``); :meth:`problem` then says what the
    last read showed.
    """

    def __init__(self, handle: VCenterHandle, supervisor_id: str) -> None:
        self._handle = handle
        self._id = supervisor_id
        self._last: SupervisorSummary | None = None

    def healthy_now(self) -> bool:
        """Whether the round that saw the job succeed already showed the Supervisor healthy.

        Lets the caller finish without recording a health wait that never happened.
        """
        summary = self._handle.poller.take_health(self._id)
        if summary is None:
            return False
        self._last = summary
        return is_healthy(summary)

    async def wait_healthy(self) -> None:
        """Return once a bulk round shows the Supervisor healthy.

        For after :meth:`healthy_now` said no: the round that saw the job succeed is used
        by then, so every read here is a fresh round.
        """
        poller = self._handle.poller
        while True:
            seen = await poller.read_health(self._id)
            summary = seen.health.get(self._id)
            if summary is not None:
                self._last = summary
                if is_healthy(summary):
                    return

    def problem(self) -> str:
        """What the last read showed of an unhealthy Supervisor."""
        if self._last is None:
            return "its summary could not be read"
        return health_problem(self._last)
