"""The async client of one vCenter's ``/api``: one session, typed operations, safe creates.

Why: the engine needs a small, typed surface over ``vcenter-api.md`` that never hides an
ambiguous outcome. Usage::

    async with VCenterClient(endpoint) as vc:
        await vc.login()                                   # optional: fail early
        rows = await vc.list_upgrades(["supervisor-1"])    # bulk status poll
        task_id = await vc.create_upgrade_job("supervisor-1", "9.1.0",
                                              ignore_precheck_warnings=False)

One ``aiohttp.ClientSession`` (:mod:`.transport`) and one vCenter API session
(:mod:`.session`) per client, shared by every concurrent caller; a 401 renews the
session once and repeats a read. Closing the client deletes the session (shielded).

Creating an upgrade job — the exception contract the engine relies on:

* ``create_upgrade_job`` returns the job's cis task id: vCenter answered it, or the
  answer was lost and re-reading vCenter found the job (``create_reconciled``).
* **Any exception other than** :class:`CreateOutcomeUnknown` **means this call created
  no job**: :class:`UpgradeJobRejected` (a vAPI error answer, with ``error_type``),
  :class:`UpgradeJobNotCreated` (the answer was lost, and vCenter, re-read, shows no job
  started by it), :class:`VCenterUnreachable` (the connection failed before the request
  was sent), :class:`AuthenticationError`.
* :class:`CreateOutcomeUnknown`: the answer was lost and vCenter could not be re-read (or
  it shows the upgrade running but no task of it); call :meth:`reconcile_create` later.

The create itself is never repeated blindly. After a 401 the session is renewed and vCenter
re-read first; the create is sent again only when no job from it exists. Answers with
status 502/503/504 and answers that are not the contract's are treated as lost.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from types import TracebackType
from typing import Any, Self

import anyio
import structlog

from fleetupgrade.errors import (
    CreateOutcomeUnknown,
    MalformedResponse,
    UpgradeJobNotCreated,
    UpgradeJobRejected,
    VCenterError,
    VCenterUnreachable,
)
from fleetupgrade.vcenter.answers import parse_model, parse_string, parse_tasks, raise_for_status
from fleetupgrade.vcenter.endpoint import VCenterEndpoint
from fleetupgrade.vcenter.errors_map import parse_error_answer
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
    DEFAULT_CLOCK_SKEW,
    JOBS_SERVICE,
    SUPERVISOR_TYPE,
    Reconciliation,
    newest_job_task,
)
from fleetupgrade.vcenter.session import SESSION_HEADER, ApiSession
from fleetupgrade.vcenter.transport import (
    RETRY_STATUSES,
    Counters,
    Response,
    RetryPolicy,
    Transport,
    encode_path,
    request_not_sent,
)

__all__ = ["VCenterClient"]

_log = structlog.get_logger()

UPGRADES_CHUNK = 50
TASKS_CHUNK = 100
_SOFTWARE = ("api", "vcenter", "namespace-management", "software", "supervisors")
_CREATE = "create_upgrade_job"


@dataclass(frozen=True, slots=True)
class _CreateSpec:
    supervisor_id: str
    desired_version: str
    ignore_precheck_warnings: bool


class VCenterClient:
    """Client of one vCenter; an async context manager. See the module docstring."""

    def __init__(
        self,
        endpoint: VCenterEndpoint,
        *,
        retry: RetryPolicy | None = None,
        clock_skew: timedelta = DEFAULT_CLOCK_SKEW,
    ) -> None:
        self.endpoint = endpoint
        self.clock_skew = clock_skew
        self._transport = Transport(endpoint, retry or RetryPolicy())
        self._session = ApiSession(endpoint, self._transport)
        self._log = _log.bind(vcenter=endpoint.name)

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
        """Requests, retries, errors and session renewals so far."""
        return self._transport.counters

    async def __aenter__(self) -> Self:
        """Open the HTTP session; logging in waits for the first call or :meth:`login`."""
        await self._transport.open()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        """Close: see :meth:`aclose`."""
        await self.aclose()

    async def aclose(self) -> None:
        """Delete the vCenter session and close the HTTP session (shielded, errors ignored)."""
        with anyio.CancelScope(shield=True):
            try:
                await self._session.close()
            finally:
                await self._transport.aclose()

    async def login(self) -> None:
        """Log in unless a session exists (raises :class:`AuthenticationError` when refused)."""
        await self._session.token()

    # -- inventory and status --------------------------------------------------------------

    async def list_supervisors(self) -> list[SupervisorSummary]:
        """Every Supervisor of this vCenter (Summary list)."""
        operation = "list_supervisors"
        path = encode_path("api", "vcenter", "namespace-management", "supervisors", "summaries")
        response = await self._session.call("GET", path, operation=operation)
        return parse_model(self.name, SummaryListResult, response, operation).supervisors()

    async def list_upgrades(self, ids: Sequence[str] | None = None) -> list[UpgradeSummary]:
        """Upgrade status of the given Supervisors (all when ``ids`` is None), ≤ 50 per call.

        Ids vCenter does not know are simply absent from the result.
        """
        operation = "list_upgrades"
        path = encode_path(*_SOFTWARE, "upgrades")
        if ids is None:
            response = await self._session.call("GET", path, operation=operation)
            return list(parse_model(self.name, UpgradeListResult, response, operation).supervisors)
        unique = list(dict.fromkeys(ids))
        rows: list[UpgradeSummary] = []
        for start in range(0, len(unique), UPGRADES_CHUNK):
            chunk = unique[start : start + UPGRADES_CHUNK]
            query = [("supervisors", supervisor) for supervisor in chunk]
            response = await self._session.call("GET", path, operation=operation, query=query)
            rows.extend(parse_model(self.name, UpgradeListResult, response, operation).supervisors)
        return rows

    async def get_upgrade(self, supervisor_id: str) -> UpgradeInfo:
        """Upgrades.get: state, versions, messages, running upgrade and precheck results."""
        operation = "get_upgrade"
        path = encode_path(*_SOFTWARE, "upgrades", supervisor_id)
        response = await self._session.call("GET", path, operation=operation)
        return parse_model(self.name, UpgradeInfo, response, operation)

    async def list_versions(self) -> list[str]:
        """Every Supervisor version known to this vCenter."""
        operation = "list_versions"
        path = encode_path(*_SOFTWARE, "versions")
        response = await self._session.call("GET", path, operation=operation)
        result = parse_model(self.name, VersionListResult, response, operation)
        return [item.version for item in result.supervisor_versions]

    # -- prechecks -----------------------------------------------------------------------

    async def run_prechecks(self, supervisor_id: str, target_version: str) -> None:
        """Start vCenter's upgrade prechecks (read the results with :meth:`get_prechecks`).

        Retried like a read: running the checks again changes nothing on the Supervisor.
        """
        operation = "run_prechecks"
        path = encode_path(*_SOFTWARE, supervisor_id, "prechecks")
        response = await self._session.call(
            "POST",
            path,
            operation=operation,
            query=[("action", "run")],
            json_body={"target_version": target_version},
        )
        raise_for_status(self.name, response, operation)

    async def get_prechecks(self, supervisor_id: str, target_version: str) -> PrecheckResult | None:
        """Return the precheck results toward ``target_version``; None while there are none.

        vCenter answers 404 both for "no results" and "no such Supervisor"; callers that
        must tell them apart read :meth:`get_upgrade`. No filter is sent (its wire form
        differs between the reference and the SDK); the result is chosen here.
        """
        operation = "get_prechecks"
        path = encode_path(*_SOFTWARE, supervisor_id, "prechecks")
        response = await self._session.call(
            "GET", path, operation=operation, expected=frozenset({404})
        )
        if response.status == 404:
            return None
        info = parse_model(self.name, PrechecksInfo, response, operation)
        for result in info.precheck_results or ():
            if result.target_version == target_version:
                return result
        return None

    # -- tasks ---------------------------------------------------------------------------

    async def get_task(self, task_id: str) -> TaskInfo:
        """One cis task."""
        operation = "get_task"
        path = encode_path("api", "cis", "tasks", task_id)
        response = await self._session.call("GET", path, operation=operation)
        return parse_model(self.name, TaskInfo, response, operation)

    async def list_upgrade_tasks(self, supervisor_id: str) -> dict[str, TaskInfo]:
        """Return the upgrade job tasks vCenter keeps for one Supervisor, by task id."""
        spec = {
            "services": [JOBS_SERVICE],
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
        response = await self._session.call(
            "POST",
            encode_path("api", "cis", "tasks"),
            operation=operation,
            query=[("action", "list")],
            json_body={"filter_spec": spec},
        )
        return parse_tasks(self.name, response, operation)

    # -- upgrade jobs ----------------------------------------------------------------------

    async def create_upgrade_job(
        self, supervisor_id: str, desired_version: str, *, ignore_precheck_warnings: bool
    ) -> str:
        """Start an upgrade job; return its cis task id. Exceptions: see the module docstring."""
        job = _CreateSpec(supervisor_id, desired_version, ignore_precheck_warnings)
        since = datetime.now(UTC)
        token = await self._session.token()
        answer = await self._send_create(job, since, token)
        if isinstance(answer, Response) and answer.status == 401:
            # Refused before anything was done; still, re-read before sending again.
            await self._session.renew(token)
            found = await self.reconcile_create(supervisor_id, desired_version, since=since)
            if found.task_id is not None:
                return found.task_id
            answer = await self._send_create(job, since, await self._session.token())
        if isinstance(answer, str):
            return answer
        return await self._read_create_answer(job, since, answer)

    async def _send_create(self, job: _CreateSpec, since: datetime, token: str) -> Response | str:
        """Send the create once; a lost answer is settled here (then: the task id)."""
        try:
            return await self._transport.request(
                "POST",
                encode_path(*_SOFTWARE, "upgrades", "jobs", job.supervisor_id),
                operation=_CREATE,
                retry=False,  # never blindly: see _settle_lost_create
                json_body={
                    "desired_version": job.desired_version,
                    "ignore_precheck_warnings": job.ignore_precheck_warnings,
                },
                headers={SESSION_HEADER: token},
                expected=frozenset({401}),
            )
        except VCenterUnreachable as exc:
            if request_not_sent(exc):
                raise
            return await self._settle_lost_create(job, since, str(exc))

    async def _read_create_answer(
        self, job: _CreateSpec, since: datetime, response: Response
    ) -> str:
        if response.ok:
            try:
                return parse_string(self.name, response, _CREATE, "task id")
            except MalformedResponse as exc:
                return await self._settle_lost_create(job, since, str(exc))
        answer = parse_error_answer(response.status, response.content_type, response.body)
        if not answer.vapi_body or answer.status in RETRY_STATUSES:
            cause = f"{_CREATE}: HTTP {answer.status} ({answer.error_type}) from vCenter or a proxy"
            return await self._settle_lost_create(job, since, cause)
        raise UpgradeJobRejected(
            self.name,
            error_type=answer.error_type,
            status=answer.status,
            messages=answer.messages,
            operation=_CREATE,
        )

    async def _settle_lost_create(self, job: _CreateSpec, since: datetime, cause: str) -> str:
        supervisor_id = job.supervisor_id
        self._log.warning("create_outcome_unknown", supervisor=supervisor_id, reason=cause)
        found = await self.reconcile_create(supervisor_id, job.desired_version, since=since)
        if found.task_id is not None:
            self._log.info("create_reconciled", supervisor=supervisor_id, task_id=found.task_id)
            return found.task_id
        message = f"{_CREATE} for {supervisor_id}: {cause}; re-read: {found.describe()}"
        if found.in_progress:
            raise CreateOutcomeUnknown(self.name, message)
        raise UpgradeJobNotCreated(self.name, message + ": no job was created by this call")

    async def reconcile_create(
        self, supervisor_id: str, desired_version: str, *, since: datetime
    ) -> Reconciliation:
        """Read what vCenter shows of a create sent at ``since`` (aware datetime).

        Used after a lost answer and by the engine's resume. Raises
        :class:`CreateOutcomeUnknown` (chained to the cause) when vCenter cannot be read.
        """
        if since.tzinfo is None:
            raise ValueError("since must be timezone-aware")
        try:
            upgrade = await self.get_upgrade(supervisor_id)
            tasks = await self.list_upgrade_tasks(supervisor_id)
        except VCenterError as exc:
            raise CreateOutcomeUnknown(
                self.name,
                f"create_upgrade_job for {supervisor_id}: vCenter could not be re-read to "
                f"learn whether a job was created ({exc})",
            ) from exc
        task_id, task = newest_job_task(supervisor_id, tasks, since - self.clock_skew)
        return Reconciliation(supervisor_id, desired_version, since, task_id, task, upgrade)
