"""Bulk status reads of one vCenter, shared by every Supervisor that waits on it.

Status is read in bulk, at most one round per poll interval per vCenter, however many
Supervisors are in flight there (docs/design.md, "Concurrency"). A round reads in one of
two orders:

* **task list first**, while the followed jobs are still running as far as anyone can
  tell: one cis task list for every followed job (status, progress, error), then the whole
  Upgrades list only if a task ended or vanished, or someone waits for upgrade state;
* **Upgrades list first**, when a followed job's predicted end has come or someone waits
  for upgrade state (a launch about to be decided): a job the list shows idle at its
  target has ended well and needs no task read; the task list is read only for jobs that
  ended otherwise (their task says why), jobs still in progress whose end is not
  predicted yet (their progress gives a rate), and jobs whose progress was last read
  :data:`MAX_QUIET_INTERVALS` intervals ago (the stall watch needs it). A job due but
  still in progress is read again, list first, one interval later. A task
  found ended while the list, read a moment before, still showed it in progress makes the
  round read the list again: the list a job is judged from is never older than its task.

Either way, the Summary list (health) is read when someone waits for health, and in the
round that sees a job succeed whose Supervisor will be checked for health: that check
then reads this round instead of waiting a whole interval for the next.

A job's end is predicted from its progress rate (two readings), else from the duration
the caller expects (learned from this run's finished upgrades, or the plan's
``expected_upgrade_duration``). Until then, or while only running jobs are followed,
rounds are skipped; a running job's task is never left unread for longer than
:data:`MAX_QUIET_INTERVALS` intervals, except that a read due less than one interval
before the predicted end waits for the end.

A vCenter with nothing to read is not polled at all. Readers wait for the next round that
includes what they asked for; a launch may decide from the latest round's Upgrades list
while it is at most one interval old.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import anyio
import structlog

from fleetupgrade.decide.classify import at_target
from fleetupgrade.errors import VCenterError
from fleetupgrade.vcenter import (
    SupervisorSummary,
    TaskInfo,
    UpgradeState,
    UpgradeSummary,
    VCenterClient,
)

log = structlog.get_logger("fleetupgrade.rollout")

__all__ = ["MAX_QUIET_INTERVALS", "BulkPoller", "PollRound"]


@dataclass(frozen=True, slots=True)
class PollRound:
    """What one bulk round saw (``error`` set when a read of the round failed).

    ``asked`` holds the task ids the round asked for: a followed job's task may be left
    unread (its Upgrades row said enough), which is not the same as vCenter not knowing it.
    """

    tasks: Mapping[str, TaskInfo]
    upgrades: Mapping[str, UpgradeSummary]
    health: Mapping[str, SupervisorSummary]
    error: VCenterError | None = None
    asked: frozenset[str] = frozenset()


MAX_QUIET_INTERVALS = 5
"""The longest stretch, in poll intervals, without reading a running job's task.

It bounds how late an unexpected end (a failure, a stall) is seen while the poller waits
for a predicted end: five 30-second intervals by default.
"""

_FINAL = ("SUCCEEDED", "FAILED")


@dataclass(slots=True)
class _Pace:
    """Two progress readings of one task: enough to predict when it ends."""

    first_at: float
    first: int
    last_at: float
    last: int

    def predicted_end(self) -> float | None:
        """When the task should reach 100 % at its observed rate (None: no rate yet)."""
        if self.last <= self.first or self.last_at <= self.first_at:
            return None
        rate = (self.last - self.first) / (self.last_at - self.first_at)
        return self.last_at + (100 - self.last) / rate


@dataclass(slots=True)
class _Job:
    """One followed job: its task, its target, and what the caller expects of it."""

    task_id: str
    desired: str
    health: bool  # its Supervisor's health is checked after a success
    expected_end: float | None  # from the expected duration (None: none expected)
    read_at: float  # when its task was last read (when following began, before that)


class BulkPoller:
    """Reads one vCenter in bulk for everyone who asked, one round per interval at most."""

    def __init__(self, client: VCenterClient, interval: float) -> None:
        self._client = client
        self._interval = interval
        self._jobs: dict[str, _Job] = {}  # supervisor id → job in flight
        self._upgrades: dict[str, int] = {}  # supervisor id → readers waiting
        self._health: dict[str, int] = {}
        self._pace: dict[str, _Pace] = {}  # task id → progress readings
        self._wake = anyio.Event()
        self._done = anyio.Event()
        self._latest = PollRound({}, {}, {})
        self._asked: set[str] = set()  # task ids the current round asked for
        self._upgrades_at = -float("inf")  # when the latest round's Upgrades list arrived
        self._latest_all_upgrades = False  # the latest round read the whole Upgrades list
        self._last_round = -float("inf")
        self._health_ahead: set[str] = set()  # succeeded in the latest round, health read
        self.rounds = 0

    def follow(
        self,
        supervisor_id: str,
        task_id: str,
        *,
        desired: str,
        health: bool = False,
        expected_seconds: float | None = None,
    ) -> None:
        """Follow a job until :meth:`unfollow`.

        ``desired``: its target version (an Upgrades list showing the Supervisor idle there
        ends the job without a task read); ``health``: its Supervisor's health is checked
        after a success; ``expected_seconds``: how much longer it is expected to run.
        """
        now = anyio.current_time()
        end = None if expected_seconds is None else now + max(0.0, expected_seconds)
        self._jobs[supervisor_id] = _Job(task_id, desired, health, end, now)
        self._wake.set()

    def unfollow(self, supervisor_id: str) -> None:
        """Stop reading a job."""
        job = self._jobs.pop(supervisor_id, None)
        if job is not None:
            self._pace.pop(job.task_id, None)

    async def next_round(self) -> PollRound:
        """Wait for the next round (the caller asked for what it needs first)."""
        done = self._done
        self._wake.set()
        await done.wait()
        return self._latest

    async def read_upgrade(self, supervisor_id: str) -> PollRound:
        """Wait for a round that read this Supervisor's upgrade state."""
        return await self._asking(self._upgrades, supervisor_id)

    async def recent_upgrade(self, supervisor_id: str) -> PollRound:
        """The latest round if it read this upgrade state within one interval, else the next.

        For launch decisions: a snapshot one interval old races with another operator
        exactly as a fresh read would, and vCenter refuses a create that no longer fits.
        """
        latest = self._latest
        if (
            self._latest_all_upgrades
            and latest.error is None
            and supervisor_id in latest.upgrades
            and anyio.current_time() - self._upgrades_at <= self._interval
        ):
            return latest
        return await self.read_upgrade(supervisor_id)

    async def read_health(self, supervisor_id: str) -> PollRound:
        """Wait for a round that read this Supervisor's health summary."""
        return await self._asking(self._health, supervisor_id)

    async def recent_health(self, supervisor_id: str) -> PollRound:
        """The latest round if it read this health after seeing the job succeed, else the next.

        Served once: the health check's later reads wait for fresh rounds.
        """
        if self.take_health(supervisor_id) is not None:
            return self._latest
        return await self.read_health(supervisor_id)

    def take_health(self, supervisor_id: str) -> SupervisorSummary | None:
        """The health the latest round read after seeing this job succeed (served once)."""
        latest = self._latest
        if supervisor_id not in self._health_ahead or latest.error is not None:
            return None
        self._health_ahead.discard(supervisor_id)
        return latest.health.get(supervisor_id)

    async def _asking(self, wanted: dict[str, int], supervisor_id: str) -> PollRound:
        wanted[supervisor_id] = wanted.get(supervisor_id, 0) + 1
        try:
            return await self.next_round()
        finally:
            wanted[supervisor_id] -= 1
            if wanted[supervisor_id] <= 0:
                del wanted[supervisor_id]

    def _idle(self) -> bool:
        return not (self._jobs or self._upgrades or self._health)

    def _predicted_end(self, job: _Job) -> float | None:
        pace = self._pace.get(job.task_id)
        end = None if pace is None else pace.predicted_end()
        return job.expected_end if end is None else end

    def _due(self) -> float:
        """When the next round should start."""
        earliest = self._last_round + self._interval
        if self._upgrades or self._health or not self._jobs:
            return earliest
        predicted: list[float] = []
        for job in self._jobs.values():
            end = self._predicted_end(job)
            if end is None:
                return earliest  # a job without a prediction: poll at the interval
            predicted.append(end)
        # Jobs started together end together: wait for the last predicted end within half
        # an interval of the first, and a little more, so that one round sees them ended.
        first = min(predicted)
        cluster = max(end for end in predicted if end <= first + 0.5 * self._interval)
        target = cluster + min(0.1 * self._interval, 0.25)
        quiet = MAX_QUIET_INTERVALS * self._interval
        latest = min(job.read_at for job in self._jobs.values()) + quiet
        if target > latest + self._interval:
            target = latest  # a read less than an interval before the end waits for it
        return max(earliest, target)

    def _ends_due(self, now: float) -> bool:
        """Whether some followed job's predicted end has come."""
        for job in self._jobs.values():
            end = self._predicted_end(job)
            if end is not None and end <= now:
                return True
        return False

    async def run(self) -> None:
        """Serve rounds forever (until cancelled), only while someone waits for one."""
        while True:
            if self._idle():
                await self._rest()
            self._wake = anyio.Event()
            if self._idle():
                continue
            # Let the readers of one moment (a wave's start) join the same round; a reader
            # arriving during a quiet stretch brings the round forward to the interval.
            while True:
                delay = max(self._due() - anyio.current_time(), 0.005)
                with anyio.move_on_after(delay):
                    await self._wake.wait()
                    self._wake = anyio.Event()
                    continue
                break
            if self._idle():
                continue
            self._last_round = anyio.current_time()
            # Readers arriving during this round wait for the next one: it will include them.
            done, self._done = self._done, anyio.Event()
            self._latest = await self._round()
            self.rounds += 1
            done.set()

    async def _rest(self) -> None:
        """Wait for a reader; once the latest round is too old to serve one, let it go.

        A fleet's vCenters go idle wave after wave; each one's last answers (dozens of
        parsed Supervisors) would otherwise stay in memory for the rest of the run.
        """
        with anyio.move_on_after(self._interval):
            await self._wake.wait()
            return
        self._latest = PollRound({}, {}, {})
        self._latest_all_upgrades = False
        await self._wake.wait()

    def _observe(self, tasks: Mapping[str, TaskInfo], at: float) -> None:
        """Record progress readings of running tasks (for the predicted ends)."""
        for task_id, task in tasks.items():
            if task.status.value in _FINAL or task.progress is None:
                continue
            total = task.progress.total
            done = task.progress.completed * 100 // total if total > 0 else 0
            pace = self._pace.get(task_id)
            if pace is None or done < pace.first or done <= 0:
                self._pace[task_id] = _Pace(at, done, at, done)
            elif pace.first <= 0 < done:
                self._pace[task_id] = _Pace(at, done, at, done)  # rate from real progress
            elif done > pace.last:
                pace.last_at, pace.last = at, done

    async def _read_tasks(self, jobs: Sequence[_Job]) -> dict[str, TaskInfo]:
        if not jobs:
            return {}
        task_ids = sorted({job.task_id for job in jobs})
        self._asked.update(task_ids)
        tasks = dict(await self._client.list_tasks(task_ids))
        now = anyio.current_time()
        for job in jobs:
            job.read_at = now
        self._observe(tasks, now)
        return tasks

    async def _read_upgrades(self) -> dict[str, UpgradeSummary]:
        upgrades = {s.supervisor: s for s in await self._client.list_upgrades()}
        self._upgrades_at = anyio.current_time()
        return upgrades

    def _needs_task(self, job: _Job, summary: UpgradeSummary | None, now: float) -> bool:
        """In an Upgrades-first round: whether this job's task must be read too."""
        if summary is not None and at_target(summary.state, summary.current_version, job.desired):
            return False  # ended well: the list says all there is to say
        if summary is None or summary.state is not UpgradeState.INPROGRESS:
            return True  # ended otherwise, or unknown: its task says why
        # Still in progress: the list said so; its task is read only for a first rate
        # (no prediction yet) or for the stall watch (unread too long).
        stale = now - job.read_at >= MAX_QUIET_INTERVALS * self._interval
        return self._predicted_end(job) is None or stale

    async def _tasks_first(
        self, jobs: Mapping[str, _Job]
    ) -> tuple[dict[str, TaskInfo], dict[str, UpgradeSummary] | None]:
        tasks = await self._read_tasks(list(jobs.values()))
        wanted = bool(self._upgrades) or any(
            (task := tasks.get(job.task_id)) is None or task.status.value in _FINAL
            for job in jobs.values()
        )
        return tasks, (await self._read_upgrades() if wanted else None)

    async def _upgrades_first(
        self, jobs: Mapping[str, _Job], now: float
    ) -> tuple[dict[str, TaskInfo], dict[str, UpgradeSummary]]:
        upgrades = await self._read_upgrades()
        asked = {s: job for s, job in jobs.items() if self._needs_task(job, upgrades.get(s), now)}
        tasks = await self._read_tasks(list(asked.values()))
        raced = any(
            (summary := upgrades.get(s)) is not None
            and summary.state is UpgradeState.INPROGRESS
            and (task := tasks.get(job.task_id)) is not None
            and task.status.value in _FINAL
            for s, job in asked.items()
        )
        return tasks, (await self._read_upgrades() if raced else upgrades)

    @staticmethod
    def _succeeded(
        jobs: Mapping[str, _Job],
        tasks: Mapping[str, TaskInfo],
        upgrades: Mapping[str, UpgradeSummary],
    ) -> set[str]:
        """Followed jobs this round saw succeed (task SUCCEEDED, or idle at the target)."""
        found = set()
        for supervisor_id, job in jobs.items():
            task = tasks.get(job.task_id)
            summary = upgrades.get(supervisor_id)
            if (task is not None and task.status.value == "SUCCEEDED") or (
                task is None
                and summary is not None
                and at_target(summary.state, summary.current_version, job.desired)
            ):
                found.add(supervisor_id)
        return found

    async def _round(self) -> PollRound:
        tasks: dict[str, TaskInfo] = {}
        upgrades: dict[str, UpgradeSummary] | None = None
        health: dict[str, SupervisorSummary] = {}
        self._latest_all_upgrades = False
        self._health_ahead = set()
        self._asked = set()
        now = anyio.current_time()
        # The jobs of this round: one followed or unfollowed meanwhile waits for the next.
        jobs = dict(self._jobs)
        try:
            if self._upgrades or self._ends_due(now):
                tasks, upgrades = await self._upgrades_first(jobs, now)
            elif jobs:
                tasks, upgrades = await self._tasks_first(jobs)
            seen = self._succeeded(jobs, tasks, upgrades or {})
            ahead = {s for s in seen if jobs[s].health}
            if self._health or ahead:
                health = {s.id: s for s in await self._client.list_supervisors()}
                self._health_ahead = ahead
        except VCenterError as exc:
            log.warning("poll_failed", reason=str(exc))
            return PollRound(tasks, upgrades or {}, health, exc, frozenset(self._asked))
        self._latest_all_upgrades = upgrades is not None
        return PollRound(tasks, upgrades or {}, health, asked=frozenset(self._asked))
