"""Dry run: prove a plan can run, against the real vCenters, without changing anything.

Strictly read-only except for vCenter's own prechecks (``--prechecks``), which upgrade
nothing: it logs in to every vCenter, resolves every Supervisor, reads its upgrade state
and classifies it; with prechecks it also predicts, with each wave's threshold arithmetic,
which wave would halt and at which Supervisor. It never creates an upgrade job.
"""

from __future__ import annotations

from collections.abc import Mapping
from contextlib import AsyncExitStack
from dataclasses import dataclass, field, replace

import anyio
import structlog

from fleetupgrade.decide.classify import Verdict, precheck_messages, precheck_verdict
from fleetupgrade.decide.gate import WaveGate
from fleetupgrade.errors import APIError, VCenterError
from fleetupgrade.journal.store import Journal, Phase, SupervisorRecord, utcnow
from fleetupgrade.outcomes import DRY_RUN_SUCCESS_OUTCOMES, ExitCode, Outcome, RunResult, WaveStatus
from fleetupgrade.plan import Plan
from fleetupgrade.rollout.fleet import VCenterHandle
from fleetupgrade.rollout.inspect import inspect_supervisor
from fleetupgrade.rollout.runner import RunSettings
from fleetupgrade.vcenter import PrecheckStatus

log = structlog.get_logger("fleetupgrade.engine")

_FINAL_PRECHECK = frozenset(
    {PrecheckStatus.SUCCEEDED, PrecheckStatus.WARNING, PrecheckStatus.ERROR}
)


@dataclass(slots=True)
class DryRun:
    """Classifies every Supervisor of a plan into the dry-run outcomes of DESIGN §3."""

    plan: Plan
    journal: Journal
    fleet: Mapping[str, VCenterHandle]
    settings: RunSettings
    prechecks: bool
    _resolved: dict[str, SupervisorRecord] = field(default_factory=dict, init=False)

    async def run(self) -> tuple[RunResult, int]:
        """Check everything; returns the predicted result and its exit code."""
        rows = self.journal.supervisors()
        total = self.plan.defaults.max_concurrent_total
        total_limiter = anyio.CapacityLimiter(total) if total > 0 else None
        async with AsyncExitStack() as clients, anyio.create_task_group() as tg:
            for name, handle in self.fleet.items():
                await clients.enter_async_context(handle.client)
                mine = [r for r in rows if r.vcenter == name]
                if mine:
                    tg.start_soon(self._check_vcenter, handle, mine, total_limiter)
        return self._predict()

    def _finish(self, row: SupervisorRecord, verdict: Verdict) -> None:
        assert verdict.outcome is not None
        self.journal.save(
            replace(
                row,
                phase=Phase.DONE,
                outcome=verdict.outcome,
                reason=verdict.reason,
                messages=verdict.messages,
                finished_at=utcnow(),
            )
        )
        log.info(
            "supervisor_finished",
            vcenter=row.vcenter,
            supervisor=row.label,
            outcome=verdict.outcome.value,
            reason=verdict.reason,
        )

    async def _check_vcenter(
        self,
        handle: VCenterHandle,
        rows: list[SupervisorRecord],
        total_limiter: anyio.CapacityLimiter | None,
    ) -> None:
        try:
            await handle.ensure_ready()
        except VCenterError as exc:
            for row in rows:
                self._finish(row, Verdict(Outcome.UNREACHABLE, str(exc)))
            return
        limiter = anyio.CapacityLimiter(self.plan.max_concurrent_for(handle.name))

        async def check(row: SupervisorRecord) -> None:
            try:
                async with limiter:
                    if total_limiter is None:
                        verdict = await self._check(handle, row)
                    else:
                        async with total_limiter:
                            verdict = await self._check(handle, row)
            except VCenterError as exc:
                outcome = Outcome.REJECTED if isinstance(exc, APIError) else Outcome.UNREACHABLE
                verdict = Verdict(outcome, str(exc))
            self._finish(self._resolved.get(row.key, row), verdict)

        async with anyio.create_task_group() as tg:
            for row in rows:
                tg.start_soon(check, row)

    async def _check(self, handle: VCenterHandle, row: SupervisorRecord) -> Verdict:
        inspection = await inspect_supervisor(handle, row)
        self._resolved[row.key] = inspection.record
        verdict = inspection.verdict
        if verdict.adopt:
            return Verdict(Outcome.IN_PROGRESS, f"already upgrading toward {row.to_version}")
        if verdict.outcome is not None or inspection.record.id is None:
            return verdict
        if not self.prechecks:
            return Verdict(Outcome.WOULD_UPGRADE)
        return await self._run_prechecks(handle, row, inspection.record.id)

    async def _run_prechecks(
        self, handle: VCenterHandle, row: SupervisorRecord, supervisor_id: str
    ) -> Verdict:
        await handle.client.run_prechecks(supervisor_id, row.to_version)
        poll = max(self.settings.seconds(self.plan.defaults.poll_interval), 0.01)
        timeout = self.settings.seconds(self.plan.defaults.upgrade_timeout)
        result = None
        with anyio.move_on_after(timeout):
            while True:
                await anyio.sleep(poll)
                result = await handle.client.get_prechecks(supervisor_id, row.to_version)
                if result is not None and result.status in _FINAL_PRECHECK:
                    break
        if result is None or result.status not in _FINAL_PRECHECK:
            return Verdict(Outcome.REJECTED, "prechecks did not finish within upgrade_timeout")
        messages = precheck_messages(result.conditions)
        log.info(
            "precheck_result",
            vcenter=row.vcenter,
            supervisor=row.label,
            status=result.status.value if result.status else None,
        )
        blocked = precheck_verdict(
            messages, ignore_warnings=self._ignore_warnings(row), messages=messages
        )
        return blocked or Verdict(Outcome.WOULD_UPGRADE, messages=messages)

    def _ignore_warnings(self, row: SupervisorRecord) -> bool:
        wave = next(w for w in self.plan.waves if w.name == row.wave)
        ref = wave.supervisors[row.position]
        return self.plan.ignore_warnings_for(ref)

    def _predict(self) -> tuple[RunResult, int]:
        """Replay each wave's threshold in plan order, as the run would meet the ERRORs."""
        halted_any = False
        for wave, record in zip(self.plan.waves, self.journal.waves(), strict=True):
            rows = self.journal.supervisors(wave.name)
            gate = WaveGate(
                wave=wave.name,
                size=len(rows),
                threshold=self.plan.threshold_for(wave),
                max_upgrade_failures=wave.max_upgrade_failures,
                journal=self.journal,
            )
            halted_at = None
            for row in rows:
                assert row.outcome is not None
                was_halted = gate.halted
                gate.record(row.outcome)
                if gate.halted and not was_halted:
                    halted_at = row.label
            if not gate.halted:
                gate.evaluate()
            status = WaveStatus.HALTED if gate.halted else WaveStatus.COMPLETED
            halted_any = halted_any or gate.halted
            if halted_at is not None:
                log.warning(
                    "wave_would_halt",
                    wave=wave.name,
                    supervisor=halted_at,
                    errors=gate.errors,
                    reason=gate.halt_reason,
                )
            self.journal.save_wave(
                replace(
                    record,
                    status=status,
                    precheck_errors=gate.errors,
                    upgrade_failures=gate.failures,
                    started_at=record.started_at or utcnow(),
                    finished_at=utcnow(),
                )
            )
        outcomes = [r.outcome for r in self.journal.supervisors()]
        if halted_any:
            return RunResult.HALTED, ExitCode.HALTED
        if any(o not in DRY_RUN_SUCCESS_OUTCOMES for o in outcomes):
            return RunResult.COMPLETED_WITH_FAILURES, ExitCode.FAILURES
        return RunResult.SUCCEEDED, ExitCode.OK
