"""One Supervisor's life in a run: decide, fire once, watch, check health, record.

The order of journal writes is the crash-safety contract (docs/design.md, "Crash
safety"): the intent is committed before the create request leaves, the task id as soon
as vCenter answers, the outcome as soon as it is known. A create whose answer is lost is
settled with vCenter before anything else: a job found is followed; a job proven absent
is sent again (bounded attempts, each its own intent); a doubt that cannot be settled
keeps the Supervisor — and its slot, and its wave's verdict — until it is, or the run
stops (then it is ``detached`` and ``--resume`` settles it).
"""

from __future__ import annotations

import os
import random
import signal
from collections.abc import Callable
from contextlib import AbstractContextManager, nullcontext
from dataclasses import dataclass
from datetime import datetime
from typing import Protocol

import anyio
import structlog

from fleetupgrade.decide.admission import Admission
from fleetupgrade.decide.classify import (
    RUNNING_TASK_STATES,
    JobEnd,
    finished_job,
    lost_job,
    needs_messages,
)
from fleetupgrade.decide.launch import Adopt, Finish, Launch, UpgradeView, choose
from fleetupgrade.errors import (
    APIError,
    AuthenticationError,
    CreateOutcomeUnknown,
    UpgradeJobNotCreated,
    UpgradeJobRejected,
    VCenterError,
    VCenterUnreachable,
)
from fleetupgrade.journal.records import Phase, SupervisorRecord
from fleetupgrade.journal.store import Journal
from fleetupgrade.outcomes import Outcome
from fleetupgrade.rollout.fleet import VCenterHandle
from fleetupgrade.rollout.learned import counted_from
from fleetupgrade.rollout.watch import HealthWatch, TimedOut, WatchLimits, wait_job_end
from fleetupgrade.timefmt import utcnow
from fleetupgrade.vcenter import UpgradeInfo

log = structlog.get_logger("fleetupgrade.rollout")

__all__ = [
    "CRASH_AT_ENV",
    "MAX_CREATE_ATTEMPTS",
    "STOP_GRACE",
    "SupervisorContext",
    "run_supervisor",
]

CRASH_AT_ENV = "FLEETUPGRADE_TEST_CRASH_AT"
"""Fault injection for the crash-safety tests: SIGKILL ourselves at a named point."""

MAX_CREATE_ATTEMPTS = 5
"""Creates vCenter proved to have made no job before the Supervisor ends ``unreachable``:
enough that a flaky link (30 % resets) loses a Supervisor about once in 400, few enough
that a vCenter which keeps dropping creates is given up on within minutes."""

STOP_GRACE = 5.0
"""Seconds a create in flight may still take once the run is stopping (then: in doubt)."""


class StopSwitch(Protocol):
    """The part of the run's switches a create in flight watches (RunControl)."""

    @property
    def stop_reason(self) -> str | None:
        """Why the run is stopping (None: it is not)."""
        ...

    def shortened_on_stop(
        self, scope: anyio.CancelScope, grace: float
    ) -> AbstractContextManager[None]:
        """While inside: a stop leaves ``scope`` at most ``grace`` more seconds."""
        ...


def crash_point(name: str) -> None:
    """Die like a power cut at ``name`` when the crash tests ask for it."""
    if os.environ.get(CRASH_AT_ENV) == name:
        os.kill(os.getpid(), signal.SIGKILL)


@dataclass(frozen=True, slots=True)
class SupervisorContext:
    """What a Supervisor needs from its run and wave (read-only values and callbacks)."""

    journal: Journal
    handle: VCenterHandle
    poll: float
    upgrade_timeout: float
    stall_timeout: float
    health_timeout: float
    create_deadline: float
    launch_block: Callable[[], str | None]  # why nothing may be fired now (None: go)
    admit: Callable[[SupervisorRecord], Admission]  # window-fit admission
    predict: Callable[[int | None], float | None]  # upgrade seconds by node count (None: unknown)
    control: StopSwitch | None = None  # the run's stop switch (None: never stops)
    logins: anyio.CapacityLimiter | None = None  # bounds the run's logins in flight


async def run_supervisor(ctx: SupervisorContext, key: str) -> SupervisorRecord:
    """Take one Supervisor as far as it goes; returns its row as it then stands."""
    journal = ctx.journal
    try:
        await ctx.handle.ensure_ready(ctx.logins)
    except VCenterError as exc:
        return _unreachable(ctx, key, exc)
    row = journal.supervisor(key)
    try:
        if row.phase is Phase.INTENT:
            await _settle_doubt(ctx, row)
        row = journal.supervisor(key)
        if row.phase is Phase.PENDING:
            await _decide_and_fire(ctx, row)
        row = journal.supervisor(key)
        if row.phase is Phase.LAUNCHED:
            await _follow(ctx, row)
    except VCenterError as exc:
        return _unreachable(ctx, key, exc)
    return journal.supervisor(key)


def _unreachable(ctx: SupervisorContext, key: str, exc: VCenterError) -> SupervisorRecord:
    row = ctx.journal.supervisor(key)
    if row.phase is Phase.PENDING:
        # A definite refusal (4xx with a vAPI body) is ``rejected``; a 5xx or 429 that
        # outlived its retries is a vCenter we cannot use now: ``unreachable``.
        refused = isinstance(exc, APIError) and exc.status < 500 and exc.status != 429
        outcome = Outcome.REJECTED if refused else Outcome.UNREACHABLE
        _finish(ctx, row, Finish(outcome, str(exc)))
    # A job may exist: the row stays in doubt; the run's end marks it detached.
    return ctx.journal.supervisor(key)


def _finish(
    ctx: SupervisorContext,
    row: SupervisorRecord,
    end: Finish,
    *,
    job_ended_at: datetime | None = None,
) -> None:
    """Record and log a Supervisor's outcome (``job_ended_at``: see ``Journal.mark_done``)."""
    outcome, reason = end.outcome, end.reason
    ctx.journal.mark_done(row.key, outcome, reason, end.messages, job_ended_at=job_ended_at)
    level = log.info if outcome in (Outcome.UPGRADED, Outcome.ALREADY_CURRENT) else log.warning
    level("supervisor_finished", outcome=outcome.value, reason=reason, task_id=row.task_id)
    for message in end.messages:
        if message.severity != "INFO":
            log.warning(
                "precheck_result",
                severity=message.severity,
                message_id=message.id,
                text=message.text,
            )


async def _read_view(ctx: SupervisorContext, supervisor_id: str) -> UpgradeView:
    """The Supervisor's upgrade state from the next bulk round (retried while it fails)."""
    while True:
        seen = await ctx.handle.poller.recent_upgrade(supervisor_id)
        if seen.error is None:
            break
        await anyio.sleep(ctx.poll)
    summary = seen.upgrades.get(supervisor_id)
    if summary is None:
        raise LookupError(f"Supervisor {supervisor_id} not found on {ctx.handle.name}")
    return UpgradeView(
        summary.state,
        summary.current_version,
        summary.available_versions,
        summary.desired_version,
    )


async def _decide_and_fire(ctx: SupervisorContext, row: SupervisorRecord) -> None:
    journal = ctx.journal
    block = ctx.launch_block()
    if block is not None:
        _not_started(ctx, row, block)
        return
    try:
        supervisor_id = await ctx.handle.resolve(row.ref_id, row.ref_name)
        view = await _read_view(ctx, supervisor_id)
    except LookupError as exc:
        _finish(ctx, row, Finish(Outcome.REJECTED, str(exc.args[0])))
        return
    names = await _names_or_empty(ctx)
    journal.resolve(
        row.key,
        id=supervisor_id,
        name=row.ref_name or names.get(supervisor_id),
        from_version=view.current_version,
        nodes=row.control_plane_nodes,
    )
    row = journal.supervisor(row.key)
    choice = choose(view, row.to_version)
    if isinstance(choice, Finish):
        _finish(ctx, row, choice)
        return
    if isinstance(choice, Adopt):
        await _adopt(ctx, row, choice.reason)
        return
    assert isinstance(choice, Launch)
    await _create(ctx, row)


async def _names_or_empty(ctx: SupervisorContext) -> dict[str, str]:
    try:
        return await ctx.handle.names()
    except VCenterError:
        return {}


def _not_started(ctx: SupervisorContext, row: SupervisorRecord, reason: str) -> None:
    ctx.journal.mark_not_started(row.key, reason)
    log.info("supervisor_finished", outcome=Outcome.NOT_STARTED.value, reason=reason)


async def _adopt(ctx: SupervisorContext, row: SupervisorRecord, reason: str) -> None:
    assert row.id is not None
    tasks = await ctx.handle.client.list_upgrade_tasks(row.id)
    running = sorted(t for t, info in tasks.items() if info.status in RUNNING_TASK_STATES)
    task_id = running[-1] if running else None
    ctx.journal.mark_launched(row.key, task_id=task_id, started_at=utcnow(), adopted=True)
    log.info("upgrade_adopted", task_id=task_id, reason=reason)


async def _create(ctx: SupervisorContext, row: SupervisorRecord) -> None:
    """Fire the job; re-send only after vCenter proved the previous attempt made no job."""
    journal = ctx.journal
    assert row.id is not None
    admission = ctx.admit(row)
    if not admission.admitted:
        _not_started(ctx, row, admission.reason or "refused by window-fit admission")
        return
    why_not: list[str] = []
    while True:
        row = journal.supervisor(row.key)
        if row.attempts >= MAX_CREATE_ATTEMPTS:
            why = f"{'; '.join(why_not)}: no job created after {row.attempts} attempts"
            _finish(ctx, row, Finish(Outcome.UNREACHABLE, why))
            return
        block = ctx.launch_block()
        if block is not None:
            _not_started(ctx, row, block)
            return
        vcenter_at = ctx.handle.client.vcenter_time(utcnow())
        attempt = journal.mark_intent(row.key, vcenter_at=vcenter_at)
        outcome = await _send_create(ctx, row, attempt)
        if outcome is None:
            return  # launched, adopted, finished, or still in doubt at the run's stop
        why_not.append(outcome)
        await anyio.sleep(ctx.poll * (1 + random.random()))  # noqa: S311 - jitter


async def _send_create(ctx: SupervisorContext, row: SupervisorRecord, attempt: int) -> str | None:
    """One attempt; returns why no job was made (to try again), or None when settled."""
    journal = ctx.journal
    assert row.id is not None
    crash_point("before_create")
    try:
        task_id = await _shielded_create(ctx, row)
    except UpgradeJobRejected as exc:
        if exc.in_progress and attempt > 1:
            journal.mark_no_job(row.key, "in progress: the earlier attempt started it")
            await _adopt(ctx, journal.supervisor(row.key), "an earlier attempt's job")
            return None
        journal.mark_no_job(row.key, f"refused: {exc}")
        refused = Finish(Outcome.REJECTED, f"vCenter refused the job: {exc}")
        _finish(ctx, journal.supervisor(row.key), refused)
        return None
    except (UpgradeJobNotCreated, VCenterUnreachable, AuthenticationError) as exc:
        journal.mark_no_job(row.key, str(exc))
        log.warning("create_retry", attempt=attempt, reason=str(exc))
        return str(exc)
    except CreateOutcomeUnknown as exc:
        log.warning("create_outcome_unknown", attempt=attempt, reason=str(exc))
        task_id = None
    if task_id is None:
        # Cut off by the deadline, or unknown: settle with vCenter before anything else.
        return await _settle_doubt(ctx, journal.supervisor(row.key))
    crash_point("after_create")
    journal.mark_launched(row.key, task_id=task_id, started_at=utcnow())
    log.info("upgrade_job_created", task_id=task_id, to_version=row.to_version, attempt=attempt)
    return None


async def _shielded_create(ctx: SupervisorContext, row: SupervisorRecord) -> str | None:
    """The create, shielded from a stop so its answer can be journaled — but not for ever.

    The shield lasts at most ``create_deadline``; once the run is stopping, at most
    :data:`STOP_GRACE` more seconds, so a stop never waits minutes on a hung vCenter.
    Cut off (None), the row stays in phase intent: in doubt, settled by ``--resume``.
    """
    assert row.id is not None
    supervisor_id = row.id
    result: list[str] = []
    failure: list[VCenterError] = []
    with anyio.CancelScope(shield=True) as shield:
        shield.deadline = anyio.current_time() + ctx.create_deadline
        shortened: AbstractContextManager[None] = (
            nullcontext()
            if ctx.control is None
            else ctx.control.shortened_on_stop(shield, STOP_GRACE)
        )
        with shortened:
            try:
                result.append(
                    await ctx.handle.client.create_upgrade_job(
                        supervisor_id, row.to_version, ignore_precheck_warnings=row.ignore_warnings
                    )
                )
            except VCenterError as exc:
                failure.append(exc)
    if shield.cancelled_caught:
        log.warning("create_cut_off", reason="no answer within the create deadline")
    if failure:
        raise failure[0]
    return result[0] if result else None


async def _settle_doubt(ctx: SupervisorContext, row: SupervisorRecord) -> str | None:
    """A create may have made a job: ask vCenter until it is known (the run may stop us)."""
    assert row.id is not None
    assert row.intent_at is not None
    elapsed = (utcnow() - row.intent_at).total_seconds()
    deadline = anyio.current_time() + max(0.0, ctx.upgrade_timeout - elapsed)
    while True:
        if anyio.current_time() >= deadline:
            log.error("create_in_doubt", reason="vCenter could not tell within upgrade_timeout")
            return None  # stays in doubt: the run ends stopped and --resume asks again
        try:
            found = await ctx.handle.client.reconcile_create(
                row.id, row.to_version, since=row.intent_at, vcenter_since=row.vcenter_intent_at
            )
        except VCenterError as exc:
            log.warning("reconcile_unknown", reason=str(exc))
            await anyio.sleep(ctx.poll)
            continue
        if found.job_found:
            log.info("reconciled_job_found", task_id=found.task_id, reason=found.describe())
            ctx.journal.mark_launched(row.key, task_id=found.task_id, started_at=row.intent_at)
            return None
        if found.no_job:
            log.info("reconciled_no_job", reason=found.describe())
            ctx.journal.mark_no_job(row.key, found.describe())
            return found.describe()
        # Unknown: never re-send; ask again until vCenter can tell (or the run stops).
        log.warning("reconcile_unknown", reason=found.describe())
        await anyio.sleep(ctx.poll)


async def _follow(ctx: SupervisorContext, row: SupervisorRecord) -> None:
    assert row.id is not None
    assert row.started_at is not None
    crash_point("watching")
    now = utcnow()
    elapsed = (now - row.started_at).total_seconds()
    expected = None if row.adopted else ctx.predict(row.control_plane_nodes)
    since = counted_from(row) or row.started_at
    left = None if expected is None else expected - (now - since).total_seconds()
    end = await wait_job_end(
        ctx.handle,
        ctx.journal,
        key=row.key,
        supervisor_id=row.id,
        task_id=row.task_id,
        desired=row.to_version,
        health=ctx.health_timeout > 0,
        expected_seconds=left,
        limits=WatchLimits(ctx.upgrade_timeout - elapsed, ctx.stall_timeout),
    )
    if isinstance(end, TimedOut):
        _finish(ctx, row, Finish(Outcome.TIMED_OUT, end.reason))
        return
    ended_at, job = end.at, end.job
    lost = lost_job(job, task_id=row.task_id, desired=row.to_version)
    if lost is not None:
        ctx.journal.mark_detached(row.key, lost)
        log.warning("job_unknown_to_vcenter", task_id=row.task_id, reason=lost)
        return
    if needs_messages(job, row.to_version):
        job = JobEnd(job.task, job.state, job.current_version, await _read_info(ctx, row.id))
    verdict = finished_job(
        job, desired=row.to_version, ignore_warnings=None if row.adopted else row.ignore_warnings
    )
    if verdict.outcome is not Outcome.UPGRADED or ctx.health_timeout <= 0:
        _finish(ctx, row, verdict)
        return
    health = HealthWatch(ctx.handle, row.id)
    if not health.healthy_now():
        ctx.journal.mark_job_ended(row.key, ended_at)  # status shows the health wait
        with anyio.move_on_after(ctx.health_timeout) as waited:
            await health.wait_healthy()
        if waited.cancelled_caught:
            reason = f"not healthy within health_timeout: {health.problem()}"
            _finish(ctx, row, Finish(Outcome.UNHEALTHY, reason, verdict.messages))
            return
    _finish(ctx, row, verdict, job_ended_at=ended_at)


async def _read_info(ctx: SupervisorContext, supervisor_id: str) -> UpgradeInfo:
    while True:
        try:
            return await ctx.handle.client.get_upgrade(supervisor_id)
        except VCenterError as exc:
            log.warning("read_failed", reason=str(exc))
            await anyio.sleep(ctx.poll)
