"""One handle per vCenter: its shared client, login state, name resolution and bulk poller.

vCenter caps sessions per user, so all work on a vCenter shares one client (one HTTP
session pool, one API session). Status is polled in bulk: one Upgrades list call (and one
task list call for progress) per vCenter per poll interval, however many Supervisors are
in flight there; each watcher just waits for the next snapshot.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import anyio
import structlog

from fleetupgrade.errors import VCenterError
from fleetupgrade.vcenter import VCenterClient, VCenterEndpoint

log = structlog.get_logger("fleetupgrade.engine")


@dataclass(frozen=True, slots=True)
class PollSnapshot:
    """What one bulk poll saw: upgrade summaries by Supervisor id, tasks by task id."""

    upgrades: Mapping[str, Any]
    tasks: Mapping[str, Any]
    error: VCenterError | None = None


class BulkPoller:
    """Polls one vCenter for every watched Supervisor at once and wakes the watchers."""

    def __init__(self, client: VCenterClient, interval: float) -> None:
        self._client = client
        self._interval = interval
        self._watched: dict[str, str | None] = {}
        self._tick = anyio.Event()
        self._wake = anyio.Event()
        self._latest = PollSnapshot({}, {})
        self.polls = 0

    def watch(self, supervisor_id: str, task_id: str | None) -> None:
        """Include a Supervisor (and its task, when known) in the next polls."""
        self._watched[supervisor_id] = task_id
        self._wake.set()

    def unwatch(self, supervisor_id: str) -> None:
        """Stop polling for a Supervisor whose job ended."""
        self._watched.pop(supervisor_id, None)

    async def next_snapshot(self) -> PollSnapshot:
        """Wait for the next bulk poll and return what it saw."""
        tick = self._tick
        await tick.wait()
        return self._latest

    async def run(self) -> None:
        """Poll forever (until cancelled), but only while something is watched."""
        while True:
            if not self._watched:
                await self._wake.wait()
                self._wake = anyio.Event()
                continue
            await anyio.sleep(self._interval)
            if not self._watched:
                continue
            self._latest = await self._poll()
            self.polls += 1
            tick, self._tick = self._tick, anyio.Event()
            tick.set()

    async def _poll(self) -> PollSnapshot:
        ids = sorted(self._watched)
        task_ids = sorted(t for t in self._watched.values() if t)
        try:
            summaries = await self._client.list_upgrades(ids)
            tasks = await self._client.list_tasks(task_ids) if task_ids else {}
        except VCenterError as exc:
            log.warning("poll_failed", error=str(exc))
            return PollSnapshot({}, {}, exc)
        return PollSnapshot({s.supervisor: s for s in summaries}, tasks)


@dataclass(slots=True)
class VCenterHandle:
    """Everything the engine keeps per vCenter for the length of a run."""

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

    async def _listing(self) -> dict[str, str]:
        """Supervisor id → name, listed once per run (one Summary list call)."""
        async with self._lock:
            if self._names is None:
                self._names = {s.id: s.name for s in await self.client.list_supervisors()}
            return self._names

    async def resolve_name(self, name: str) -> list[str]:
        """Ids of the Supervisors with this name."""
        return [ident for ident, known in (await self._listing()).items() if known == name]

    async def name_of(self, supervisor_id: str) -> str | None:
        """The name of a Supervisor named by id in the plan, for reports (best effort)."""
        try:
            return (await self._listing()).get(supervisor_id)
        except VCenterError:
            return None
