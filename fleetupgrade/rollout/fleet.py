"""One handle per vCenter: its shared client, login state, names, and its bulk poller.

vCenter caps sessions per user, so all work on a vCenter shares one client (one HTTP
pool, one API session) and one :class:`~fleetupgrade.rollout.poller.BulkPoller`.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Mapping
from contextlib import asynccontextmanager
from dataclasses import dataclass, field

import anyio
import structlog

from fleetupgrade.errors import VCenterError
from fleetupgrade.rollout.poller import BulkPoller
from fleetupgrade.vcenter import VCenterClient, VCenterEndpoint

log = structlog.get_logger("fleetupgrade.rollout")

__all__ = ["VCenterHandle", "open_clients"]


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
