"""One handle per vCenter: its shared client, login state, names, and the bulk poller.

vCenter caps sessions per user, so all work on a vCenter shares one client (one HTTP
pool, one API session). Status is read in bulk, at most one round per poll interval per
vCenter, however many Supervisors are in flight there (docs/design.md, "Concurrency"):

* one cis task list for every watched job (status, progress, error);
* one Upgrades list for the Supervisors that need their upgrade state: a launch about to
  be decided, a job whose task has just ended, a job followed without a task;
* one Summary list when some Supervisor waits to become healthy after its upgrade.

A vCenter with nothing to read is not polled at all. Readers wait for the next round that
includes what they asked for.
"""

from __future__ import annotations

from collections.abc import Mapping
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

__all__ = ["BulkPoller", "PollRound", "VCenterHandle"]


@dataclass(frozen=True, slots=True)
class PollRound:
    """What one bulk round saw (``error`` set when a read of the round failed)."""

    tasks: Mapping[str, TaskInfo]
    upgrades: Mapping[str, UpgradeSummary]
    health: Mapping[str, SupervisorSummary]
    error: VCenterError | None = None


class BulkPoller:
    """Reads one vCenter in bulk for everyone who asked, one round per interval at most."""

    def __init__(self, client: VCenterClient, interval: float) -> None:
        self._client = client
        self._interval = interval
        self._tasks: dict[str, str] = {}  # supervisor id → task id, jobs in flight
        self._upgrades: dict[str, int] = {}  # supervisor id → readers waiting
        self._health: dict[str, int] = {}
        self._wake = anyio.Event()
        self._done = anyio.Event()
        self._latest = PollRound({}, {}, {})
        self._last_round = -float("inf")
        self.rounds = 0

    def follow(self, supervisor_id: str, task_id: str) -> None:
        """Include a job's task in every round until :meth:`unfollow`."""
        self._tasks[supervisor_id] = task_id
        self._wake.set()

    def unfollow(self, supervisor_id: str) -> None:
        """Stop reading a job's task."""
        self._tasks.pop(supervisor_id, None)

    async def next_round(self) -> PollRound:
        """Wait for the next round (the caller asked for what it needs first)."""
        done = self._done
        self._wake.set()
        await done.wait()
        return self._latest

    async def read_upgrade(self, supervisor_id: str) -> PollRound:
        """Wait for a round that read this Supervisor's upgrade state."""
        return await self._asking(self._upgrades, supervisor_id)

    async def read_health(self, supervisor_id: str) -> PollRound:
        """Wait for a round that read this Supervisor's health summary."""
        return await self._asking(self._health, supervisor_id)

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

    async def run(self) -> None:
        """Serve rounds forever (until cancelled), only while someone waits for one."""
        while True:
            if self._idle():
                await self._wake.wait()
            self._wake = anyio.Event()
            if self._idle():
                continue
            delay = self._last_round + self._interval - anyio.current_time()
            # Let the readers of one moment (a wave's start) join the same round.
            await anyio.sleep(max(delay, 0.005))
            if self._idle():
                continue
            self._last_round = anyio.current_time()
            # Readers arriving during this round wait for the next one: it will include them.
            done, self._done = self._done, anyio.Event()
            self._latest = await self._round()
            self.rounds += 1
            done.set()

    async def _round(self) -> PollRound:
        tasks: dict[str, TaskInfo] = {}
        upgrades: dict[str, UpgradeSummary] = {}
        health: dict[str, SupervisorSummary] = {}
        try:
            if self._tasks:
                tasks = dict(await self._client.list_tasks(sorted(set(self._tasks.values()))))
            wanted = set(self._upgrades)
            for supervisor_id, task_id in self._tasks.items():
                task = tasks.get(task_id)
                if task is None or task.status.value in ("SUCCEEDED", "FAILED"):
                    wanted.add(supervisor_id)  # ended, vanished or unknown: read its state
            if wanted:
                summaries = await self._client.list_upgrades(sorted(wanted))
                upgrades = {s.supervisor: s for s in summaries}
            if self._health:
                health = {s.id: s for s in await self._client.list_supervisors()}
        except VCenterError as exc:
            log.warning("poll_failed", reason=str(exc))
            return PollRound(tasks, upgrades, health, exc)
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
