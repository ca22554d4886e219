"""One handle per vCenter: its shared client, login state, names, and the bulk poller.

vCenter caps sessions per user, so all work on a vCenter shares one client (one HTTP
pool, one API session). Status is read in bulk, at most one round per poll interval per
vCenter, however many Supervisors are in flight there (docs/design.md, "Concurrency"):

* one cis task list for every watched job (status, progress, error);
* one Upgrades list (the whole list) when a Supervisor needs its upgrade state: a launch
  about to be decided, a job whose task has just ended, a job followed without a task;
* one Summary list when some Supervisor waits to become healthy after its upgrade, and,
  once health has been waited for on this vCenter, in the very round whose task list shows
  a job succeeded: its health check then reads that round instead of waiting a whole
  interval for the next one (one round per job end, not two).

A vCenter with nothing to read is not polled at all. Readers wait for the next round that
includes what they asked for; a launch may decide from the latest round's Upgrades list
while it is at most one interval old.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Mapping
from contextlib import asynccontextmanager
from dataclasses import dataclass, field

import anyio
import structlog

from fleetupgrade.errors import VCenterError
from fleetupgrade.vcenter import (
    SupervisorSummary,
    TaskInfo,
    UpgradeSummary,
    VCenterClient,
    VCenterEndpoint,
)

log = structlog.get_logger("fleetupgrade.rollout")

__all__ = ["BulkPoller", "PollRound", "VCenterHandle", "open_clients"]


@dataclass(frozen=True, slots=True)
class PollRound:
    """What one bulk round saw (``error`` set when a read of the round failed)."""

    tasks: Mapping[str, TaskInfo]
    upgrades: Mapping[str, UpgradeSummary]
    health: Mapping[str, SupervisorSummary]
    error: VCenterError | None = None


# A job's end is predicted from its progress rate; the poller may then skip rounds until
# shortly after the prediction, but never stays quiet longer than this many intervals.
MAX_QUIET_INTERVALS = 4
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


class BulkPoller:
    """Reads one vCenter in bulk for everyone who asked, one round per interval at most.

    A round reads the task list of every followed job; the whole Upgrades list when
    someone waits for upgrade state or a task has ended (one call whatever the number of
    Supervisors, and the snapshot a launch may decide from while it is at most one interval
    old); and the Summary list when someone waits for health. While only running jobs are
    followed, rounds are skipped until shortly after the earliest predicted end (from each
    task's progress rate), at most :data:`MAX_QUIET_INTERVALS` intervals.
    """

    def __init__(self, client: VCenterClient, interval: float) -> None:
        self._client = client
        self._interval = interval
        self._tasks: dict[str, str] = {}  # supervisor id → task id, jobs in flight
        self._upgrades: dict[str, int] = {}  # supervisor id → readers waiting
        self._health: dict[str, int] = {}
        self._pace: dict[str, _Pace] = {}  # task id → progress readings
        self._wake = anyio.Event()
        self._done = anyio.Event()
        self._latest = PollRound({}, {}, {})
        self._upgrades_at = -float("inf")  # when the latest round's Upgrades list arrived
        self._latest_all_upgrades = False  # the latest round read the whole Upgrades list
        self._last_round = -float("inf")
        self._health_used = False  # someone has waited for health on this vCenter
        self._health_ahead: set[str] = set()  # succeeded in the latest round, health read
        self.rounds = 0

    def follow(self, supervisor_id: str, task_id: str) -> None:
        """Include a job's task in every round until :meth:`unfollow`."""
        self._tasks[supervisor_id] = task_id
        self._wake.set()

    def unfollow(self, supervisor_id: str) -> None:
        """Stop reading a job's task."""
        task_id = self._tasks.pop(supervisor_id, None)
        if task_id is not None:
            self._pace.pop(task_id, None)

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
        self._health_used = True
        return await self._asking(self._health, supervisor_id)

    async def recent_health(self, supervisor_id: str) -> PollRound:
        """The latest round if it read this health after seeing the job succeed, else the next.

        Served once: the health check's later reads wait for fresh rounds.
        """
        latest = self._latest
        if supervisor_id in self._health_ahead and latest.error is None:
            self._health_ahead.discard(supervisor_id)
            if supervisor_id in latest.health:
                return latest
        return await self.read_health(supervisor_id)

    async def _asking(self, wanted: dict[str, int], supervisor_id: str) -> PollRound:
        wanted[supervisor_id] = wanted.get(supervisor_id, 0) + 1
        try:
            return await self.next_round()
        finally:
            wanted[supervisor_id] -= 1
            if wanted[supervisor_id] <= 0:
                del wanted[supervisor_id]

    def _idle(self) -> bool:
        return not (self._tasks or self._upgrades or self._health)

    def _due(self) -> float:
        """When the next round should start."""
        earliest = self._last_round + self._interval
        if self._upgrades or self._health or not self._tasks:
            return earliest
        predicted: list[float] = []
        for task_id in self._tasks.values():
            pace = self._pace.get(task_id)
            end = None if pace is None else pace.predicted_end()
            if end is None:
                return earliest  # a task without a rate yet: poll at the interval
            predicted.append(end)
        # Jobs started together end together: wait for the last predicted end within half
        # an interval of the first, and a little more, so that one round sees them ended.
        first = min(predicted)
        cluster = max(end for end in predicted if end <= first + 0.5 * self._interval)
        target = cluster + min(0.1 * self._interval, 0.25)
        latest = self._last_round + MAX_QUIET_INTERVALS * self._interval
        return min(max(earliest, target), latest)

    async def run(self) -> None:
        """Serve rounds forever (until cancelled), only while someone waits for one."""
        while True:
            if self._idle():
                await self._wake.wait()
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

    async def _round(self) -> PollRound:
        tasks: dict[str, TaskInfo] = {}
        upgrades: dict[str, UpgradeSummary] = {}
        health: dict[str, SupervisorSummary] = {}
        self._latest_all_upgrades = False
        self._health_ahead = set()
        succeeded: set[str] = set()
        try:
            if self._tasks:
                tasks = dict(await self._client.list_tasks(sorted(set(self._tasks.values()))))
                self._observe(tasks, anyio.current_time())
            wanted = bool(self._upgrades)
            for supervisor_id, task_id in self._tasks.items():
                task = tasks.get(task_id)
                if task is None or task.status.value in _FINAL:
                    wanted = True  # ended, vanished or unknown: read its state
                if task is not None and task.status.value == "SUCCEEDED":
                    succeeded.add(supervisor_id)
            if wanted:
                upgrades = {s.supervisor: s for s in await self._client.list_upgrades()}
                self._upgrades_at = anyio.current_time()
            if self._health or (self._health_used and succeeded):
                health = {s.id: s for s in await self._client.list_supervisors()}
                self._health_ahead = succeeded
        except VCenterError as exc:
            log.warning("poll_failed", reason=str(exc))
            return PollRound(tasks, upgrades, health, exc)
        self._latest_all_upgrades = wanted
        return PollRound(tasks, upgrades, health)


@dataclass(slots=True)
class VCenterHandle:
    """Everything the run keeps per vCenter for its length."""

    name: str
    endpoint: VCenterEndpoint
    poll_interval: float
    client: VCenterClient = field(init=False)
    poller: BulkPoller = field(init=False)
    _ready: bool = field(default=False, init=False)
    _failure: VCenterError | None = field(default=None, init=False)
    _names: dict[str, str] | None = field(default=None, init=False)
    _lock: anyio.Lock = field(default_factory=anyio.Lock, init=False)

    def __post_init__(self) -> None:
        self.client = VCenterClient(self.endpoint)
        self.poller = BulkPoller(self.client, self.poll_interval)

    async def ensure_ready(self) -> None:
        """Log in once; a failure is remembered until :meth:`forget_failure` (next wave)."""
        async with self._lock:
            if self._ready:
                return
            if self._failure is not None:
                raise self._failure
            try:
                await self.client.login()
            except VCenterError as exc:
                self._failure = exc
                log.error("vcenter_unreachable", vcenter=self.name, reason=str(exc))
                raise
            self._ready = True

    def forget_failure(self) -> None:
        """Let the next wave try an unreachable vCenter again."""
        self._failure = None

    async def names(self) -> dict[str, str]:
        """Supervisor id → name, listed once per run (one Summary list call)."""
        async with self._lock:
            if self._names is None:
                self._names = {s.id: s.name for s in await self.client.list_supervisors()}
            return self._names

    async def resolve(self, ref_id: str | None, ref_name: str | None) -> str:
        """The id a plan entry designates; raises LookupError with a reason otherwise."""
        if ref_id is not None:
            return ref_id
        ids = [i for i, known in (await self.names()).items() if known == ref_name]
        if not ids:
            raise LookupError(f"no Supervisor named {ref_name!r} on {self.name}")
        if len(ids) > 1:
            raise LookupError(f"name {ref_name!r} is ambiguous on {self.name}: {', '.join(ids)}")
        return ids[0]


@asynccontextmanager
async def open_clients(fleet: Mapping[str, VCenterHandle]) -> AsyncIterator[None]:
    """Open every vCenter's client; on the way out log out of all of them at once.

    Each logout is shielded and bounded by the client itself; doing them concurrently keeps
    the end of a 500-vCenter run to about one logout's time instead of 500 in a row.
    """
    opened: list[VCenterHandle] = []
    try:
        for handle in fleet.values():
            await handle.client.__aenter__()
            opened.append(handle)
        yield
    finally:
        with anyio.CancelScope(shield=True):
            async with anyio.create_task_group() as tg:
                for handle in opened:
                    tg.start_soon(handle.client.aclose)
