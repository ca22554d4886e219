"""Bulk status reads of one vCenter, shared by every Supervisor that waits on it.

Status is read in bulk, at most one round per poll interval per vCenter, however many
Supervisors are in flight there (docs/design.md, "Concurrency"). A round reads in one of
two orders:

* **task list first**, while the followed jobs are still running as far as anyone can
  tell: one cis task list for every followed job (status, progress, error), then the whole
  Upgrades list only if a task ended or vanished, or someone waits for upgrade state;
* **Upgrades list first**, when a followed job's predicted end has come or someone waits
  for upgrade state (a launch about to be decided); the task list is then read only for
  the jobs that need it (:func:`fleetupgrade.decide.polling.task_needed`). A job due but
  still in progress is read again, list first, one interval later. A task found ended
  while the list, read a moment before, still showed it in progress makes the round read
  the list again: the list a job is judged from is never older than its task.

Either way, the Summary list (health) is read when someone waits for health, and in the
round that sees a job succeed whose Supervisor will be checked for health: that check
then reads this round instead of waiting a whole interval for the next.

A job's end is predicted from its progress rate (two readings), else from the duration
the caller expects (learned from this run's finished upgrades, or the plan's
``expected_upgrade_duration``). When rounds start, and which tasks they read, are the pure
rules of decide/polling.py; this module keeps the state they need and does the reading. A
round that sees a job end also says when it ended as far as the reads can place it
(:attr:`PollRound.ended_at`).

A vCenter with nothing to read is not polled at all. Readers wait for the next round that
includes what they asked for; a launch may decide from the latest round's Upgrades list
while it is at most one interval old.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

import anyio
import structlog

from fleetupgrade.decide.classify import at_target, job_ended, task_ended
from fleetupgrade.decide.polling import (
    JobTiming,
    Pace,
    ends_due,
    estimated_end,
    round_due,
    task_needed,
)
from fleetupgrade.errors import VCenterError
from fleetupgrade.vcenter import (
    SupervisorSummary,
    TaskInfo,
    UpgradeState,
    UpgradeSummary,
    VCenterClient,
)

log = structlog.get_logger("fleetupgrade.rollout")

__all__ = ["BulkPoller", "PollRound"]


@dataclass(frozen=True, slots=True)
class PollRound:
    """What one bulk round saw (``error`` set when a read of the round failed).

    ``asked`` holds the task ids the round asked for: a followed job's task may be left
    unread (its Upgrades row said enough), which is not the same as vCenter not knowing it.
    ``ended_at``: for each followed job this round saw end, when it ended as far as the
    reads can place it (:func:`fleetupgrade.decide.polling.estimated_end`), on the
    monotonic clock of ``anyio.current_time()``.
    """

    tasks: Mapping[str, TaskInfo]
    upgrades: Mapping[str, UpgradeSummary]
    health: Mapping[str, SupervisorSummary]
    error: VCenterError | None = None
    asked: frozenset[str] = frozenset()
    ended_at: Mapping[str, float] = field(default_factory=dict)


@dataclass(slots=True)
class _Job:
    """One followed job: its task, its target, and what is known of its timing."""

    task_id: str
    desired: str
    health: bool  # its Supervisor's health is checked after a success
    expected_end: float | None  # from the expected duration (None: none expected)
    read_at: float  # when its task was last read (when following began, before that)
    running_seen: float | None = None  # the start of the last round that saw it running


class BulkPoller:
    """Reads one vCenter in bulk for everyone who asked, one round per interval at most."""

    def __init__(self, client: VCenterClient, interval: float) -> None:
        self._client = client
        self._interval = interval
        self._jobs: dict[str, _Job] = {}  # supervisor id → job in flight
        self._upgrades: dict[str, int] = {}  # supervisor id → readers waiting
        self._health: dict[str, int] = {}
        self._pace: dict[str, Pace] = {}  # task id → progress readings
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

    def _timing(self, job: _Job) -> JobTiming:
        return JobTiming(self._predicted_end(job), job.read_at)

    def _due(self) -> float:
        """When the next round should start."""
        return round_due(
            [self._timing(job) for job in self._jobs.values()],
            last_round=self._last_round,
            interval=self._interval,
            waiting=bool(self._upgrades or self._health),
        )

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
            if task_ended(task) or task.progress is None:
                continue
            total = task.progress.total
            done = task.progress.completed * 100 // total if total > 0 else 0
            pace = self._pace.get(task_id)
            self._pace[task_id] = Pace(at, done, at, done) if pace is None else pace.after(at, done)

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

    async def _tasks_first(
        self, jobs: Mapping[str, _Job]
    ) -> tuple[dict[str, TaskInfo], dict[str, UpgradeSummary] | None]:
        tasks = await self._read_tasks(list(jobs.values()))
        wanted = bool(self._upgrades) or any(
            (task := tasks.get(job.task_id)) is None or task_ended(task) for job in jobs.values()
        )
        return tasks, (await self._read_upgrades() if wanted else None)

    async def _upgrades_first(
        self, jobs: Mapping[str, _Job], now: float
    ) -> tuple[dict[str, TaskInfo], dict[str, UpgradeSummary]]:
        upgrades = await self._read_upgrades()
        asked = {
            s: job
            for s, job in jobs.items()
            if task_needed(
                upgrades.get(s),
                desired=job.desired,
                timing=self._timing(job),
                now=now,
                interval=self._interval,
            )
        }
        tasks = await self._read_tasks(list(asked.values()))
        raced = any(
            (summary := upgrades.get(s)) is not None
            and summary.state is UpgradeState.INPROGRESS
            and (task := tasks.get(job.task_id)) is not None
            and task_ended(task)
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

    def _timed_ends(
        self,
        jobs: Mapping[str, _Job],
        tasks: Mapping[str, TaskInfo],
        upgrades: Mapping[str, UpgradeSummary],
        started: float,
    ) -> dict[str, float]:
        """Note the jobs this round saw running; place the end of those it saw end."""
        ended_seen = anyio.current_time()
        ends = {}
        for supervisor_id, job in jobs.items():
            task = tasks.get(job.task_id)
            summary = upgrades.get(supervisor_id)
            if job_ended(task, summary):
                ends[supervisor_id] = estimated_end(
                    predicted=self._predicted_end(job),
                    running_seen=job.running_seen,
                    ended_seen=ended_seen,
                )
            elif (task is not None and not task_ended(task)) or (
                summary is not None and summary.state is UpgradeState.INPROGRESS
            ):
                job.running_seen = started
        return ends

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
            if self._upgrades or ends_due([self._timing(job) for job in jobs.values()], now):
                tasks, upgrades = await self._upgrades_first(jobs, now)
            elif jobs:
                tasks, upgrades = await self._tasks_first(jobs)
            ended_at = self._timed_ends(jobs, tasks, upgrades or {}, now)
            seen = self._succeeded(jobs, tasks, upgrades or {})
            ahead = {s for s in seen if jobs[s].health}
            if self._health or ahead:
                health = {s.id: s for s in await self._client.list_supervisors()}
                self._health_ahead = ahead
        except VCenterError as exc:
            log.warning("poll_failed", reason=str(exc))
            return PollRound(tasks, upgrades or {}, health, exc, frozenset(self._asked))
        self._latest_all_upgrades = upgrades is not None
        return PollRound(
            tasks, upgrades or {}, health, asked=frozenset(self._asked), ended_at=ended_at
        )
