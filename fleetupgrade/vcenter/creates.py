"""Creating an upgrade job: one attempt, and when its outcome is unknown, vCenter decides.

Why a module of its own: this is the one mutating call whose repetition could start a
second upgrade, so its rules live in one place:

* one create = **one** HTTP attempt. The engine journals each attempt as its own intent
  and owns the re-send loop; this module never sends a create twice, except right after
  a 401 (vCenter authenticates before it dispatches, so nothing was done; the session is
  renewed and the create sent once more).
* definite answers: 2xx with a task id → the id; a vAPI error body in 4xx →
  :class:`~fleetupgrade.errors.UpgradeJobRejected` (``in_progress`` tells "already in
  progress": adopt); the connection failing before the request left →
  :class:`~fleetupgrade.errors.VCenterUnreachable` (nothing sent).
* everything else is an *unknown* outcome — any 5xx (with or without a vAPI body), a 4xx
  without a vAPI body (a proxy), a connection dropped after sending, a timeout, a
  malformed answer. Then vCenter is re-read after ``settle_delay`` (see
  :mod:`.reconcile`): the found task id is returned, or
  :class:`~fleetupgrade.errors.UpgradeJobNotCreated` is raised when vCenter *proved* no
  job exists, or :class:`~fleetupgrade.errors.CreateOutcomeUnknown` when it could not be
  read or its two sources disagree. The messages say what happened, e.g.
  ``HTTP 503 (SERVICE_UNAVAILABLE); vCenter re-read: no job created (…)``.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Protocol

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
from fleetupgrade.vcenter.answers import parse_string
from fleetupgrade.vcenter.endpoint import VCenterEndpoint
from fleetupgrade.vcenter.errors_map import ErrorAnswer, parse_error_answer
from fleetupgrade.vcenter.models import TaskInfo, UpgradeInfo
from fleetupgrade.vcenter.reconcile import Reconciliation, judge, unreadable
from fleetupgrade.vcenter.session import SESSION_HEADER, ApiSession
from fleetupgrade.vcenter.transport import (
    Call,
    Response,
    Transport,
    encode_path,
    request_not_sent,
)

__all__ = ["CREATE", "JobReads", "UpgradeJobs"]

_log = structlog.get_logger()

CREATE = "create_upgrade_job"
UPGRADE_PRIVILEGE = "Namespaces.Upgrade"
_JOBS = ("api", "vcenter", "namespace-management", "software", "supervisors", "upgrades", "jobs")


class JobReads(Protocol):
    """The two reads reconciliation needs (the client provides them, retried)."""

    async def get_upgrade(self, supervisor_id: str) -> UpgradeInfo:
        """Upgrades.get."""
        ...

    async def list_upgrade_tasks(self, supervisor_id: str) -> dict[str, TaskInfo]:
        """The Supervisor's upgrade job tasks."""
        ...


def _detail(error: VCenterError) -> str:
    """The message of a VCenterError without its ``vCenter NAME:`` prefix."""
    return str(error).removeprefix(f"vCenter {error.vcenter}: ")


class UpgradeJobs:
    """Creates upgrade jobs on one vCenter and settles their unknown outcomes."""

    def __init__(
        self,
        endpoint: VCenterEndpoint,
        transport: Transport,
        session: ApiSession,
        reads: JobReads,
        *,
        clock_margin: timedelta,
    ) -> None:
        self._endpoint = endpoint
        self._transport = transport
        self._session = session
        self._reads = reads
        self._margin = clock_margin
        self._log = _log.bind(vcenter=endpoint.name)

    @property
    def _name(self) -> str:
        return self._endpoint.name

    async def create(self, supervisor_id: str, version: str, *, ignore_warnings: bool) -> str:
        """One create attempt; see the module docstring for the outcomes."""
        token = await self._session.token()  # login failures: nothing was sent
        body = {"desired_version": version, "ignore_precheck_warnings": ignore_warnings}
        for attempt in (1, 2):
            since = datetime.now(UTC)
            vcenter_since = self._transport.clock.to_vcenter(since)
            try:
                response = await self._transport.request(
                    Call(
                        "POST",
                        encode_path(*_JOBS, supervisor_id),
                        CREATE,
                        json_body=body,
                        expected=frozenset({401}),
                    ),
                    headers={SESSION_HEADER: token},
                )
            except VCenterUnreachable as exc:
                if request_not_sent(exc):
                    raise
                return await self._settle(supervisor_id, version, since, vcenter_since, exc)
            if response.status == 401 and attempt == 1:
                await self._session.renew(token)
                token = await self._session.token()
                continue
            return await self._read_answer(supervisor_id, version, since, vcenter_since, response)
        raise AssertionError("unreachable")  # pragma: no cover

    async def _read_answer(
        self,
        supervisor_id: str,
        version: str,
        since: datetime,
        vcenter_since: datetime | None,
        response: Response,
    ) -> str:
        if response.ok:
            try:
                return parse_string(self._name, response, CREATE, "task id")
            except MalformedResponse as exc:
                return await self._settle(supervisor_id, version, since, vcenter_since, exc)
        answer = parse_error_answer(response.status, response.content_type, response.body)
        if 400 <= answer.status < 500 and answer.vapi_body:
            raise self._rejected(supervisor_id, answer)
        if answer.vapi_body or answer.status >= 500:
            cause = f"HTTP {answer.status} ({answer.error_type})"
        else:
            cause = f"HTTP {answer.status} without a vAPI error body (from a proxy?)"
        return await self._settle(supervisor_id, version, since, vcenter_since, cause)

    def _rejected(self, supervisor_id: str, answer: ErrorAnswer) -> UpgradeJobRejected:
        messages = answer.messages
        if answer.error_type == "UNAUTHORIZED":
            missing = (
                f"user {self._endpoint.username} lacks privilege {UPGRADE_PRIVILEGE} "
                f"on {supervisor_id}"
            )
            messages = (missing, *messages)
        return UpgradeJobRejected(
            self._name,
            error_type=answer.error_type,
            status=answer.status,
            messages=messages,
            operation=CREATE,
            message_ids=answer.message_ids,
        )

    async def _settle(
        self,
        supervisor_id: str,
        version: str,
        since: datetime,
        vcenter_since: datetime | None,
        cause: str | VCenterError,
    ) -> str:
        why = cause if isinstance(cause, str) else _detail(cause).removeprefix(f"{CREATE}: ")
        self._log.warning("create_outcome_unknown", supervisor_id=supervisor_id, reason=why)
        found, error = await self._reconcile(supervisor_id, version, since, vcenter_since)
        if found.job_found and found.task_id is not None:
            self._log.info("create_reconciled", supervisor_id=supervisor_id, task_id=found.task_id)
            return found.task_id
        message = f"{CREATE} for {supervisor_id}: {why}; vCenter re-read: "
        if found.no_job:
            raise UpgradeJobNotCreated(self._name, f"{message}no job created ({found.reason})")
        raise CreateOutcomeUnknown(self._name, message + found.reason) from error

    async def reconcile(
        self,
        supervisor_id: str,
        desired_version: str,
        *,
        since: datetime,
        vcenter_since: datetime | None = None,
    ) -> Reconciliation:
        """Re-read vCenter about a create sent at ``since`` (our clock, timezone-aware).

        Never raises for an unreadable vCenter: the verdict is then ``UNKNOWN``. Waits
        until ``settle_delay`` has passed since ``since``. ``vcenter_since``, when the
        caller recorded it with ``VCenterClient.vcenter_time`` at the intent, replaces the
        conversion of ``since`` with the current clock offset.
        """
        if since.tzinfo is None:
            raise ValueError("since must be timezone-aware")
        found, _ = await self._reconcile(supervisor_id, desired_version, since, vcenter_since)
        return found

    async def _reconcile(
        self,
        supervisor_id: str,
        desired_version: str,
        since: datetime,
        vcenter_since: datetime | None,
    ) -> tuple[Reconciliation, VCenterError | None]:
        settle = self._endpoint.settle_delay
        remaining = (since + timedelta(seconds=settle) - datetime.now(UTC)).total_seconds()
        if remaining > 0:
            await anyio.sleep(min(remaining, settle))
        try:
            tasks = await self._reads.list_upgrade_tasks(supervisor_id)
            upgrade = await self._reads.get_upgrade(supervisor_id)
        except VCenterError as exc:
            return unreadable(supervisor_id, desired_version, _detail(exc)), exc
        start = vcenter_since or self._transport.clock.to_vcenter(since)
        cutoff = None if start is None else start - self._margin
        return judge(supervisor_id, desired_version, tasks, upgrade, cutoff), None
