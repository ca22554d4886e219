"""Run a plan: waves in order, the maintenance window, signals, and the final verdict.

The runner owns the run's structured concurrency: one task group holds each vCenter's
bulk poller, the signal listener, the window clock and the waves. Stopping (first
SIGINT/SIGTERM, or ``window.end + grace``) cancels the waves' scope only; the create calls
and their journal writes are shielded, so what was fired is always recorded. Then every
in-flight Supervisor is marked ``detached`` (its upgrade goes on on vCenter), everything
never launched ``not_started``, and the report is written.
"""

from __future__ import annotations

import os
import signal
from collections.abc import Callable, Mapping
from contextlib import AsyncExitStack
from dataclasses import dataclass, replace
from datetime import datetime, timedelta

import anyio
import structlog

from fleetupgrade.journal.reporting import build_report
from fleetupgrade.journal.rundir import RunDir
from fleetupgrade.journal.store import (
    Journal,
    Phase,
    SupervisorRecord,
    VCenterRecord,
    WaveRecord,
    utcnow,
)
from fleetupgrade.outcomes import SUCCESS_OUTCOMES, ExitCode, Outcome, RunResult, WaveStatus
from fleetupgrade.plan import Plan
from fleetupgrade.report.files import write_report_files
from fleetupgrade.report.model import Report
from fleetupgrade.rollout.fleet import VCenterHandle
from fleetupgrade.rollout.watch import WatchLimits
from fleetupgrade.rollout.wave import RunControl, WaveRunner, supervisor_key
from fleetupgrade.vcenter import VCenterEndpoint

log = structlog.get_logger("fleetupgrade.engine")


@dataclass(frozen=True, slots=True)
class RunSettings:
    """How to run: the window, and the time scale (``--simulate`` compresses plan durations)."""

    ignore_window: bool = False
    time_scale: float = 1.0

    def seconds(self, value: timedelta | None) -> float:
        """A plan duration in real seconds under this run's time scale."""
        return 0.0 if value is None else value.total_seconds() * self.time_scale


def initialise_journal(journal: Journal, plan: Plan) -> None:
    """Write the plan's waves, Supervisors and vCenters into a new (or resumed) journal."""
    waves = []
    supervisors = []
    for position, wave in enumerate(plan.waves):
        threshold = plan.threshold_for(wave)
        waves.append(
            WaveRecord(
                position=position,
                name=wave.name,
                threshold_kind=threshold.kind,
                threshold_limit=str(threshold.limit),
            )
        )
        for index, ref in enumerate(wave.supervisors):
            supervisors.append(
                SupervisorRecord(
                    key=supervisor_key(wave.name, ref),
                    wave=wave.name,
                    position=index,
                    vcenter=ref.vcenter,
                    ref_id=ref.id,
                    ref_name=ref.name,
                    to_version=plan.desired_version_for(ref),
                )
            )
    vcenters = [VCenterRecord(name=v.name, url=v.url) for v in plan.vcenters]
    journal.initialise(waves, supervisors, vcenters)


def verdict_of(journal: Journal, *, stopped: bool) -> tuple[RunResult, int]:
    """The run's result and exit code (DESIGN §1 precedence: 4, 3, 1, 0)."""
    waves = journal.waves()
    rows = journal.supervisors()
    if stopped or any(w.status is WaveStatus.STOPPED for w in waves):
        return RunResult.STOPPED, ExitCode.STOPPED
    if any(w.status is WaveStatus.HALTED for w in waves):
        return RunResult.HALTED, ExitCode.HALTED
    if any(r.outcome not in SUCCESS_OUTCOMES for r in rows):
        return RunResult.COMPLETED_WITH_FAILURES, ExitCode.FAILURES
    return RunResult.SUCCEEDED, ExitCode.OK


@dataclass(slots=True)
class Runner:
    """Executes a plan into a run directory; returns the final report."""

    plan: Plan
    run_dir: RunDir
    journal: Journal
    endpoints: Mapping[str, VCenterEndpoint]
    settings: RunSettings

    async def run(self) -> Report:
        """Run (or resume) to the end, a halt or a stop; always leaves a final report."""
        plan = self.plan
        control = RunControl()
        poll = max(self.settings.seconds(plan.defaults.poll_interval), 0.01)
        fleet = {
            name: VCenterHandle(name, endpoint, poll) for name, endpoint in self.endpoints.items()
        }
        base = {v.name: v for v in self.journal.vcenters()}
        limits = WatchLimits(
            upgrade_timeout=self.settings.seconds(plan.defaults.upgrade_timeout),
            stall_timeout=self.settings.seconds(plan.defaults.stall_timeout),
        )
        total = plan.defaults.max_concurrent_total
        total_limiter = anyio.CapacityLimiter(total) if total > 0 else None
        stop_requested = False
        waves_scope = anyio.CancelScope()

        def stop(reason: str) -> None:
            nonlocal stop_requested
            stop_requested = True
            control.close_launches(reason)
            waves_scope.cancel()

        log.info("run_started", plan=plan.name, waves=len(plan.waves))
        self._write_report()  # a run killed in its first wave still leaves a readable report
        # The signal listener outlives everything else, logout and final report included, so
        # that a second signal always means "exit now" and never the default kill.
        async with anyio.create_task_group() as guard:
            guard.start_soon(_listen_for_signals, stop)
            try:
                async with AsyncExitStack() as clients, anyio.create_task_group() as services:
                    for handle in fleet.values():
                        await clients.enter_async_context(handle.client)
                        await services.start(_serve_poller, handle)
                    with waves_scope:
                        if plan.window is not None and not self.settings.ignore_window:
                            await self._wait_for_window(plan.window.start)
                            services.start_soon(self._close_window, control, stop)
                        await self._run_waves(fleet, control, total_limiter, limits)
                    services.cancel_scope.cancel()
            finally:
                self._save_counters(fleet, base)
            stopped = stop_requested or control.launches_closed is not None
            report = self._finish(stopped=stopped and self._unfinished())
            guard.cancel_scope.cancel()
        return report

    async def _wait_for_window(self, start: datetime) -> None:
        delay = (start - utcnow()).total_seconds()
        if delay > 0:
            log.info("window_waiting", start=start.isoformat(), seconds=round(delay))
            await anyio.sleep(delay)
            log.info("window_opened")

    async def _close_window(self, control: RunControl, stop: Callable[[str], None]) -> None:
        window = self.plan.window
        assert window is not None
        await anyio.sleep(max(0.0, (window.end - utcnow()).total_seconds()))
        log.warning("window_closed", end=window.end.isoformat())
        control.close_launches(f"maintenance window closed at {window.end.isoformat()}")
        await anyio.sleep(self.settings.seconds(window.grace))
        log.warning("window_grace_over", grace_seconds=self.settings.seconds(window.grace))
        stop("maintenance window grace period is over")

    async def _run_waves(
        self,
        fleet: Mapping[str, VCenterHandle],
        control: RunControl,
        total_limiter: anyio.CapacityLimiter | None,
        limits: WatchLimits,
    ) -> None:
        records = {w.name: w for w in self.journal.waves()}
        for index, wave in enumerate(self.plan.waves):
            status = records[wave.name].status
            if status is WaveStatus.HALTED:
                return
            if status is WaveStatus.COMPLETED:
                continue
            runner = WaveRunner(
                plan=self.plan,
                wave=wave,
                journal=self.journal,
                fleet=fleet,
                control=control,
                total_limiter=total_limiter,
                limits=limits,
            )
            finished = await runner.run()
            self._write_report()
            if finished.status is WaveStatus.HALTED:
                log.warning("later_waves_skipped", halted_wave=wave.name)
                return
            is_last = index == len(self.plan.waves) - 1
            if wave.pause_after is not None and not is_last:
                pause = self.settings.seconds(wave.pause_after)
                log.info("wave_pause", wave=wave.name, seconds=pause)
                await anyio.sleep(pause)

    def _unfinished(self) -> bool:
        return any(r.phase is not Phase.DONE for r in self.journal.supervisors())

    def _finish(self, *, stopped: bool) -> Report:
        """Mark what is left, decide the result, write the final report."""
        halted = any(w.status is WaveStatus.HALTED for w in self.journal.waves())
        for row in self.journal.supervisors():
            if row.phase is Phase.DONE:
                continue
            if row.phase is not Phase.PENDING:
                outcome, reason = (
                    Outcome.DETACHED,
                    "still upgrading on vCenter when the run stopped",
                )
            elif row.outcome is Outcome.NOT_STARTED and row.reason:
                outcome, reason = Outcome.NOT_STARTED, row.reason
            else:
                outcome = Outcome.NOT_STARTED
                reason = "an earlier wave halted" if halted and not stopped else "the run stopped"
            self.journal.save(replace(row, outcome=outcome, reason=reason))
        for wave in self.journal.waves():
            if wave.status is None:
                started = wave.started_at is not None
                status = WaveStatus.STOPPED if started else WaveStatus.NOT_STARTED
                self.journal.save_wave(replace(wave, status=status))
        result, code = verdict_of(self.journal, stopped=stopped)
        finished_at = utcnow()
        self.journal.set_meta(
            result=result.value, exit_code=code, finished_at=finished_at.isoformat()
        )
        report = self._write_report(finished_at=finished_at, result=result, exit_code=code)
        log.info("run_finished", outcome=result.value, exit_code=code, **report.totals)
        return report

    def _write_report(
        self,
        *,
        finished_at: datetime | None = None,
        result: RunResult | None = None,
        exit_code: int | None = None,
    ) -> Report:
        report = build_report(
            self.journal,
            plan_name=self.plan.name,
            plan_path=self.plan.path,
            finished_at=finished_at,
            result=result,
            exit_code=exit_code,
        )
        write_report_files(report, self.run_dir.path)
        return report

    def _save_counters(
        self, fleet: Mapping[str, VCenterHandle], base: Mapping[str, VCenterRecord]
    ) -> None:
        for name, handle in fleet.items():
            counters = handle.client.counters
            before = base.get(name) or VCenterRecord(name=name, url=handle.endpoint.url)
            self.journal.save_vcenter_counters(
                replace(
                    before,
                    requests=before.requests + counters.requests,
                    retries=before.retries + counters.retries,
                    errors=before.errors + counters.errors,
                )
            )


async def _serve_poller(
    handle: VCenterHandle, *, task_status: anyio.abc.TaskStatus[None] = anyio.TASK_STATUS_IGNORED
) -> None:
    task_status.started()
    await handle.poller.run()


async def _listen_for_signals(stop: Callable[[str], None]) -> None:
    """First SIGINT/SIGTERM: stop gracefully. Second: exit at once (the journal is consistent)."""
    with anyio.open_signal_receiver(signal.SIGINT, signal.SIGTERM) as signals:
        async for signum in signals:
            name = signal.Signals(signum).name
            log.warning("stop_requested", signal=name)
            stop(f"run stopped by {name}")
            break
        async for signum in signals:
            log.error("stop_forced", signal=signal.Signals(signum).name)
            os._exit(ExitCode.STOPPED)
