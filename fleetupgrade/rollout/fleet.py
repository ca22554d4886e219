"""One handle per vCenter: its shared client, login state, names, and its bulk poller.

vCenter caps sessions per user, so all work on a vCenter shares one client (one HTTP
pool, one API session) and one :class:`~fleetupgrade.rollout.poller.BulkPoller`.
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator, Iterable, Mapping
from contextlib import asynccontextmanager
from dataclasses import dataclass, field

import anyio
import structlog

from fleetupgrade.errors import DuplicateSupervisor, VCenterError
from fleetupgrade.journal.store import Journal
from fleetupgrade.rollout.poller import BulkPoller
from fleetupgrade.vcenter import VCenterClient, VCenterEndpoint

log = structlog.get_logger("fleetupgrade.rollout")

__all__ = [
    "LOGIN_CONCURRENCY",
    "VCenterHandle",
    "check_one_entry_each",
    "login_all",
    "open_clients",
]

LOGIN_CONCURRENCY = 32
"""Logins in flight at once across the run."""


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

    async def ensure_ready(self, logins: anyio.CapacityLimiter | None = None) -> None:
        """Log in once; a failure is remembered until :meth:`forget_failure` (next wave).

        ``logins`` bounds the run's logins in flight: a vCenter is logged in when its first
        Supervisor needs it, and 500 at once would hold 500 TLS handshakes' memory at once.
        """
        async with self._lock:
            if self._ready:
                return
            if self._failure is not None:
                raise self._failure
            try:
                if logins is None:
                    await self.client.login()
                else:
                    async with logins:
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


async def login_all(handles: Iterable[VCenterHandle], logins: anyio.CapacityLimiter) -> None:
    """Log in to these vCenters side by side (``logins`` bounds how many at once).

    A failure is remembered by its handle (its Supervisors end ``unreachable``).
    """

    async def one(handle: VCenterHandle) -> None:
        with contextlib.suppress(VCenterError):
            await handle.ensure_ready(logins)

    async with anyio.create_task_group() as tg:
        for handle in {h.name: h for h in handles}.values():
            tg.start_soon(one, handle)


async def check_one_entry_each(
    journal: Journal, fleet: Mapping[str, VCenterHandle], logins: anyio.CapacityLimiter
) -> None:
    """Two plan entries that designate the same Supervisor stop the run before any create.

    Only vCenters with entries by name are logged in for it (their names are listed).
    """
    rows = journal.supervisors()
    await login_all((fleet[r.vcenter] for r in rows if r.id is None and r.ref_id is None), logins)
    seen: dict[tuple[str, str], str] = {}
    clashes: list[str] = []
    for row in rows:
        handle = fleet[row.vcenter]
        try:
            supervisor_id = row.id or await handle.resolve(row.ref_id, row.ref_name)
        except (LookupError, VCenterError):
            continue  # reported as this entry's outcome later
        entry = f"wave {row.wave!r} entry {row.position + 1} ({_ref(row.ref_id, row.ref_name)})"
        other = seen.setdefault((row.vcenter, supervisor_id), entry)
        if other != entry:
            clashes.append(f"{other} and {entry} both designate {row.vcenter}/{supervisor_id}")
    if clashes:
        raise DuplicateSupervisor("; ".join(clashes))


def _ref(ref_id: str | None, ref_name: str | None) -> str:
    return f"id {ref_id}" if ref_id is not None else f"name {ref_name}"


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
