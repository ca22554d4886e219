"""The async client of one vCenter's ``/api``: one session, typed operations, safe creates.

Why: the engine needs a small, typed surface over the wire contract that never hides an
ambiguous outcome. Usage::

    async with VCenterClient(endpoint) as vc:
        await vc.login()                                   # optional: fail early
        rows = await vc.list_upgrades(["supervisor-1"])    # bulk status poll
        task_id = await vc.create_upgrade_job("supervisor-1", "9.1.0",
                                              ignore_precheck_warnings=False)

One ``aiohttp.ClientSession`` (:mod:`.transport`: pool, pacer, circuit breaker) and one
vCenter API session (:mod:`.session`) per client, shared by every concurrent caller.

Reads (GETs, task lists, the prechecks run) are retried on transient failures —
connection errors, resets, timeouts, 502/503/504, malformed answers — with bounded
backoff (:mod:`.retries`); a 401 renews the session once. When the retries run out the
error is :class:`VCenterUnreachable` (a 502/503/504 too: it is never an API refusal).

Creating an upgrade job (:mod:`.creates`) — the exception contract the engine relies on:

* ``create_upgrade_job`` makes **one** attempt and returns the job's cis task id:
  vCenter answered it, or the outcome was unknown and re-reading vCenter found the task.
* :class:`UpgradeJobRejected`: a definite vAPI refusal (4xx with a vAPI body): no job;
  ``in_progress`` is True when an upgrade already runs (adopt it, never re-send).
* :class:`UpgradeJobNotCreated`: the outcome was unknown and vCenter *proved* that no
  job exists (both sources agree); the engine may record a new intent and re-send.
* :class:`VCenterUnreachable` / :class:`AuthenticationError`: the create was never sent.
* :class:`CreateOutcomeUnknown`: a job may exist (vCenter unreadable, or its sources
  disagree): never re-send; call :meth:`reconcile_create` later (e.g. on resume).

Closing the client deletes the API session, best effort, bounded and shielded.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import datetime, timedelta
from typing import Any, TypeVar

import anyio
import structlog

from fleetupgrade.async_resource import AsyncResource
from fleetupgrade.vcenter.answers import parse_model, parse_tasks, raise_for_status
from fleetupgrade.vcenter.creates import UpgradeJobs
from fleetupgrade.vcenter.endpoint import VCenterEndpoint
from fleetupgrade.vcenter.models import (
    PrecheckResult,
    PrechecksInfo,
    SummaryListResult,
    SupervisorSummary,
    TaskInfo,
    UpgradeInfo,
    UpgradeListResult,
    UpgradeSummary,
    VersionListResult,
)
from fleetupgrade.vcenter.reconcile import (
    DEFAULT_CLOCK_MARGIN,
    JOB_OPERATION,
    JOBS_SERVICE,
    SUPERVISOR_TYPE,
)
from fleetupgrade.vcenter.retries import RetryPolicy, check_transient, retry_safe
from fleetupgrade.vcenter.session import ApiSession
from fleetupgrade.vcenter.transport import Call, Counters, Response, Transport, encode_path

__all__ = ["VCenterClient"]

_log = structlog.get_logger()

T = TypeVar("T")

UPGRADES_CHUNK = 50
TASKS_CHUNK = 100
_SOFTWARE = ("api", "vcenter", "namespace-management", "software", "supervisors")


class VCenterClient(AsyncResource):
    """Client of one vCenter; an async context manager. See the module docstring."""

    def __init__(
        self,
        endpoint: VCenterEndpoint,
        *,
        retry: RetryPolicy | None = None,
        clock_margin: timedelta = DEFAULT_CLOCK_MARGIN,
    ) -> None:
        self.endpoint = endpoint
        self._policy = retry or RetryPolicy()
        self._transport = Transport(endpoint)
        self._session = ApiSession(endpoint, self._transport, self._policy)
        self._jobs = UpgradeJobs(
            endpoint, self._transport, self._session, self, clock_margin=clock_margin
        )
        self._log = _log.bind(vcenter=endpoint.name)
        self.reconcile_create = self._jobs.reconcile
        """Re-read vCenter about a create in doubt: :meth:`UpgradeJobs.reconcile`."""

    def __repr__(self) -> str:
        """Name and URL only: never the password or the session id."""
        state = "logged in" if self._session.logged_in else "not logged in"
        return f"<VCenterClient {self.endpoint.name} {self.endpoint.url} {state}>"

    @property
    def name(self) -> str:
        """The vCenter's name (as in the plan)."""
        return self.endpoint.name

    @property
    def counters(self) -> Counters:
        """Requests, retries, errors, renewals, pacer waits and breaker openings so far."""
        return self._transport.counters

    @property
    def clock_offset(self) -> timedelta | None:
        """The offset of vCenter's clock from ours, per its last ``Date`` (None before any)."""
        return self._transport.clock.offset

    def vcenter_time(self, ours: datetime) -> datetime | None:
        """Our instant on vCenter's clock (None before any answer carried a ``Date``)."""
        return self._transport.clock.to_vcenter(ours)

    async def _open(self) -> None:
        """Open the HTTP session; logging in waits for the first call or :meth:`login`."""
        await self._transport.open()

    async def _close(self, exc: BaseException | None) -> None:
        """Close: see :meth:`aclose`."""
        del exc
        await self.aclose()

    async def drop_connections(self) -> None:
        """Close the pooled connections (the session stays): see ``Transport.drop_connections``."""
        await self._transport.drop_connections()

    async def aclose(self) -> None:
        """Delete the vCenter session (bounded) and close the HTTP session; shielded."""
        with anyio.CancelScope(shield=True):
            try:
                await self._session.close()
            finally:
                await self._transport.aclose()

    async def login(self) -> None:
        """Log in unless a session exists (raises :class:`AuthenticationError` when refused)."""
        await self._session.token()

    async def _read(
        self,
        method: str,
        path: str,
        operation: str,
        parse: Callable[[Response], T],
        *,
        query: Sequence[tuple[str, str]] = (),
        json_body: Any = None,
        expected: frozenset[int] = frozenset(),
    ) -> T:
        """Send a safe request and parse its answer, retrying transient failures."""
        await self._session.token()  # the login has its own retries
        call = Call(method, path, operation, query, json_body, expected)

        async def once() -> T:
            response = await self._session.call(call)
            return parse(check_transient(self.name, operation, response))

        return await retry_safe(
            self._transport, self._policy, once, vcenter=self.name, method=method, route=path
        )

    # -- inventory and status --------------------------------------------------------------

    async def list_supervisors(self) -> list[SupervisorSummary]:
        """Every Supervisor of this vCenter with its health (Summary list)."""
        operation = "list_supervisors"
        path = encode_path("api", "vcenter", "namespace-management", "supervisors", "summaries")

        def parse(response: Response) -> list[SupervisorSummary]:
            return parse_model(self.name, SummaryListResult, response, operation).supervisors()

        return await self._read("GET", path, operation, parse)

    async def list_upgrades(self, ids: Sequence[str] | None = None) -> list[UpgradeSummary]:
        """Upgrade status of the given Supervisors (all when ``ids`` is None), ≤ 50 per call.

        Ids vCenter does not know are simply absent from the result.
        """
        operation = "list_upgrades"
        path = encode_path(*_SOFTWARE, "upgrades")

        def parse(response: Response) -> tuple[UpgradeSummary, ...]:
            return parse_model(self.name, UpgradeListResult, response, operation).supervisors

        if ids is None:
            return list(await self._read("GET", path, operation, parse))
        unique = list(dict.fromkeys(ids))
        rows: list[UpgradeSummary] = []
        for start in range(0, len(unique), UPGRADES_CHUNK):
            query = [
                ("supervisors", supervisor) for supervisor in unique[start : start + UPGRADES_CHUNK]
            ]
            rows.extend(await self._read("GET", path, operation, parse, query=query))
        return rows

    async def get_upgrade(self, supervisor_id: str) -> UpgradeInfo:
        """Upgrades.get: state, versions, messages, running upgrade and precheck results."""
        operation = "get_upgrade"
        path = encode_path(*_SOFTWARE, "upgrades", supervisor_id)
        return await self._read(
            "GET", path, operation, lambda r: parse_model(self.name, UpgradeInfo, r, operation)
        )

    async def list_versions(self) -> list[str]:
        """Every Supervisor version known to this vCenter."""
        operation = "list_versions"
        path = encode_path(*_SOFTWARE, "versions")

        def parse(response: Response) -> list[str]:
            result = parse_model(self.name, VersionListResult, response, operation)
            return [item.version for item in result.supervisor_versions]

        return await self._read("GET", path, operation, parse)

    # -- prechecks -----------------------------------------------------------------------

    async def run_prechecks(self, supervisor_id: str, target_version: str) -> None:
        """Start vCenter's upgrade prechecks (read the results with :meth:`get_prechecks`).

        Retried like a read: running the checks again changes nothing on the Supervisor.
        """
        operation = "run_prechecks"
        path = encode_path(*_SOFTWARE, supervisor_id, "prechecks")
        await self._read(
            "POST",
            path,
            operation,
            lambda r: raise_for_status(self.name, r, operation),
            query=[("action", "run")],
            json_body={"target_version": target_version},
        )

    async def get_prechecks(self, supervisor_id: str, target_version: str) -> PrecheckResult | None:
        """Return the precheck results toward ``target_version``; None while there are none.

        vCenter answers 404 both for "no results" and "no such Supervisor"; callers that
        must tell them apart read :meth:`get_upgrade`. No filter is sent (its wire form
        differs between the reference and the SDK); the result is chosen here.
        """
        operation = "get_prechecks"
        path = encode_path(*_SOFTWARE, supervisor_id, "prechecks")

        def parse(response: Response) -> PrecheckResult | None:
            if response.status == 404:
                return None
            info = parse_model(self.name, PrechecksInfo, response, operation)
            for result in info.precheck_results or ():
                if result.target_version == target_version:
                    return result
            return None

        return await self._read("GET", path, operation, parse, expected=frozenset({404}))

    # -- tasks ---------------------------------------------------------------------------

    async def get_task(self, task_id: str) -> TaskInfo:
        """One cis task."""
        operation = "get_task"
        path = encode_path("api", "cis", "tasks", task_id)
        return await self._read(
            "GET", path, operation, lambda r: parse_model(self.name, TaskInfo, r, operation)
        )

    async def list_upgrade_tasks(self, supervisor_id: str) -> dict[str, TaskInfo]:
        """Return the upgrade job tasks vCenter keeps for one Supervisor, by task id."""
        spec = {
            "services": [JOBS_SERVICE],
            "operations": [JOB_OPERATION],
            "targets": [{"type": SUPERVISOR_TYPE, "id": supervisor_id}],
        }
        return await self._list_tasks("list_upgrade_tasks", spec)

    async def list_tasks(self, task_ids: Sequence[str]) -> dict[str, TaskInfo]:
        """Return the given cis tasks in bulk (≤ 100 per call); unknown ids are absent."""
        unique = list(dict.fromkeys(task_ids))
        found: dict[str, TaskInfo] = {}
        for start in range(0, len(unique), TASKS_CHUNK):
            chunk = unique[start : start + TASKS_CHUNK]
            found.update(await self._list_tasks("list_tasks", {"tasks": chunk}))
        return found

    async def _list_tasks(self, operation: str, spec: dict[str, Any]) -> dict[str, TaskInfo]:
        return await self._read(
            "POST",
            encode_path("api", "cis", "tasks"),
            operation,
            lambda r: parse_tasks(self.name, r, operation),
            query=[("action", "list")],
            json_body={"filter_spec": spec},
        )

    # -- upgrade jobs ----------------------------------------------------------------------

    async def create_upgrade_job(
        self, supervisor_id: str, desired_version: str, *, ignore_precheck_warnings: bool
    ) -> str:
        """Make one create attempt; return its cis task id. Exceptions: module docstring."""
        return await self._jobs.create(
            supervisor_id, desired_version, ignore_warnings=ignore_precheck_warnings
        )
