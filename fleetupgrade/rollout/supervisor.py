"""One Supervisor's life in a run: resolve, decide, fire once, watch, record.

The order of journal writes is the crash-safety contract of DESIGN §4: the intent is
committed before the create request leaves, the task id as soon as vCenter answers, the
outcome as soon as it is known. A Supervisor found in phase ``intent`` (a run died between
the two writes) is reconciled with vCenter's own state before anything else, and is never
fired twice.
"""

from __future__ import annotations

import os
import signal
from collections.abc import Callable
from dataclasses import dataclass, replace

import anyio
import structlog

from fleetupgrade.decide.classify import RUNNING_TASK_STATES, Verdict
from fleetupgrade.errors import (
    APIError,
    AuthenticationError,
    CreateOutcomeUnknown,
    UpgradeJobNotCreated,
    VCenterError,
    VCenterUnreachable,
)
from fleetupgrade.journal.store import Journal, Phase, SupervisorRecord, utcnow
from fleetupgrade.outcomes import Outcome
from fleetupgrade.rollout.fleet import VCenterHandle
from fleetupgrade.rollout.inspect import inspect_supervisor
from fleetupgrade.rollout.watch import WatchLimits, wait_job_done

log = structlog.get_logger("fleetupgrade.engine")

CRASH_AT_ENV = "FLEETUPGRADE_TEST_CRASH_AT"
"""Fault injection for the crash-safety tests: SIGKILL ourselves at a named point."""


def crash_point(name: str) -> None:
    """Die like a power cut at ``name`` when the crash tests ask for it."""
    if os.environ.get(CRASH_AT_ENV) == name:
        os.kill(os.getpid(), signal.SIGKILL)


class NotLaunched(Exception):
    """The Supervisor must not be launched now (wave halted, window closed, run stopping)."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


@dataclass(slots=True)
class SupervisorJob:
    """Drives one Supervisor's record through the phases; returns its final record."""

    record: SupervisorRecord
    handle: VCenterHandle
    journal: Journal
    ignore_warnings: bool
    limits: WatchLimits

    def _save(self, **changes: object) -> None:
        self.record = replace(self.record, **changes)  # type: ignore[arg-type]
        self.journal.save(self.record)

    def finish(self, verdict: Verdict) -> SupervisorRecord:
        """Commit the outcome; ``detached``/``not_started`` keep their phase for --resume."""
        assert verdict.outcome is not None
        resumable = verdict.outcome in (Outcome.DETACHED, Outcome.NOT_STARTED)
        self._save(
            phase=self.record.phase if resumable else Phase.DONE,
            outcome=verdict.outcome,
            reason=verdict.reason,
            messages=verdict.messages or self.record.messages,
            finished_at=None if resumable else utcnow(),
        )
        log.info(
            "supervisor_finished",
            outcome=verdict.outcome.value,
            reason=verdict.reason,
            task_id=self.record.task_id,
        )
        for message in verdict.messages:
            if message.severity == "INFO":
                continue
            log.info(
                "precheck_result",
                severity=message.severity,
                message_id=message.id,
                text=message.text,
            )
        return self.record

    async def run(self, may_launch: Callable[[], None]) -> SupervisorRecord:
        """Take the Supervisor as far as it goes; ``may_launch()`` raises NotLaunched to refuse."""
        try:
            await self.handle.ensure_ready()
            if self.record.phase is Phase.INTENT:
                await self._reconcile()
            if self.record.phase is Phase.PENDING:
                verdict = await self._decide(may_launch)
                if verdict is not None:
                    return self.finish(verdict)
            return self.finish(await self._watch())
        except NotLaunched as exc:
            return self.finish(Verdict(Outcome.NOT_STARTED, exc.reason))
        except _Refused as exc:
            rejected = isinstance(exc.cause, APIError)
            outcome = Outcome.REJECTED if rejected else Outcome.UNREACHABLE
            return self.finish(Verdict(outcome, f"vCenter refused the job: {exc.cause}"))
        except CreateOutcomeUnknown as exc:
            return self.finish(
                Verdict(Outcome.DETACHED, f"{exc}; --resume reconciles with vCenter")
            )
        except VCenterError as exc:
            if self.record.phase is Phase.PENDING:
                outcome = Outcome.REJECTED if isinstance(exc, APIError) else Outcome.UNREACHABLE
                return self.finish(Verdict(outcome, str(exc)))
            return self.finish(
                Verdict(Outcome.DETACHED, f"lost track of the job: {exc}; --resume follows it")
            )

    async def _decide(self, may_launch: Callable[[], None]) -> Verdict | None:
        """Read the state; finish, adopt, or create the job. None: a job is now running."""
        may_launch()
        try:
            inspection = await inspect_supervisor(self.handle, self.record)
        except APIError as exc:
            return Verdict(Outcome.REJECTED, str(exc))
        self.record = inspection.record
        self.journal.save(self.record)
        verdict = inspection.verdict
        if verdict.outcome is not None or self.record.id is None:
            return verdict
        resolved = self.record.id
        if verdict.adopt:
            tasks = await self.handle.client.list_upgrade_tasks(resolved)
            running = [t for t, i in tasks.items() if i.status in RUNNING_TASK_STATES]
            task_id = running[0] if running else None
            self._save(phase=Phase.LAUNCHED, task_id=task_id, started_at=utcnow())
            log.info("upgrade_adopted", task_id=task_id)
            return None
        may_launch()
        await self._create(resolved)
        return None

    async def _create(self, supervisor_id: str) -> None:
        """Fire the job exactly once; the create and its journal writes are shielded."""
        with anyio.CancelScope(shield=True):
            self._save(phase=Phase.INTENT, intent_at=utcnow())
            crash_point("before_create")
            try:
                task_id = await self.handle.client.create_upgrade_job(
                    supervisor_id,
                    self.record.to_version,
                    ignore_precheck_warnings=self.ignore_warnings,
                )
            except CreateOutcomeUnknown:
                # vCenter could not be re-read: a job may exist. Stay in INTENT so that
                # --resume reconciles it, and never fire again in this run.
                raise
            except (APIError, UpgradeJobNotCreated, VCenterUnreachable, AuthenticationError) as exc:
                # The client's contract: any other error means this call created no job.
                self._save(phase=Phase.PENDING, intent_at=None)
                raise _Refused(exc) from exc
            crash_point("after_create")
            self._save(phase=Phase.LAUNCHED, task_id=task_id, started_at=utcnow())
            log.info("upgrade_job_created", task_id=task_id, to_version=self.record.to_version)

    async def _reconcile(self) -> None:
        """A previous run may have fired: ask vCenter before anything else."""
        assert self.record.id is not None
        assert self.record.intent_at is not None
        found = await self.handle.client.reconcile_create(
            self.record.id, self.record.to_version, since=self.record.intent_at
        )
        if not found.job_found:
            log.info("reconciled_no_job", reason=found.describe())
            self._save(phase=Phase.PENDING, intent_at=None)
        else:
            log.info("reconciled_job_found", task_id=found.task_id, reason=found.describe())
            self._save(
                phase=Phase.LAUNCHED, task_id=found.task_id, started_at=self.record.intent_at
            )

    async def _watch(self) -> Verdict:
        record = self.record
        assert record.id is not None
        assert record.started_at is not None
        crash_point("watching")
        return await wait_job_done(
            self.handle,
            self.journal,
            key=record.key,
            supervisor_id=record.id,
            task_id=record.task_id,
            desired=record.to_version,
            ignore_warnings=self.ignore_warnings,
            started_at=record.started_at,
            limits=self.limits,
        )


class _Refused(VCenterError):
    """vCenter definitely refused the create (no job exists)."""

    def __init__(self, cause: VCenterError) -> None:
        super().__init__(cause.vcenter, str(cause))
        self.cause = cause
