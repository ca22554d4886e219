"""Run a plan: waves in order, approvals, the window, operator controls, signals, the end.

The runner owns the run's structured concurrency: one task group holds each vCenter's
bulk poller, the signal listener, the control watcher, the window clock and the waves.
Stopping (first SIGINT/SIGTERM/SIGHUP, ``abort``, ``window.end + grace``, an approval
timeout) cancels the waves' scope only; the create calls and their journal writes are
shielded, so what was fired is always recorded. Then every Supervisor whose job may be
running is marked ``detached``, everything never launched ``not_started``, and the
report is written.
"""

from __future__ import annotations

import os
import signal
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta

import anyio
import structlog

from fleetupgrade.decide.gates import Decision
from fleetupgrade.decide.result import run_result
from fleetupgrade.emit import Emit
from fleetupgrade.journal.records import Phase, VCenterRecord
from fleetupgrade.journal.store import Journal
from fleetupgrade.outcomes import ExitCode, Outcome, RunResult, WaveStatus
from fleetupgrade.plan import Plan, Wave
from fleetupgrade.rollout.control import Approval, RunControl
from fleetupgrade.rollout.fleet import (
    LOGIN_CONCURRENCY,
    VCenterHandle,
    check_one_entry_each,
    open_clients,
)
from fleetupgrade.rollout.learned import UpgradeDurations
from fleetupgrade.rollout.settings import RunSettings
from fleetupgrade.rollout.wave import WaveRunner
from fleetupgrade.timefmt import format_instant, utcnow

log = structlog.get_logger("fleetupgrade.rollout")

__all__ = ["Emit", "RunEnd", "Runner"]

CONTROL_POLL_SECONDS = 0.5


def _no_emit(event: str, **data: object) -> None:
    """A run without notification targets: its events go to the log only."""
    del event, data


@dataclass(frozen=True, slots=True)
class RunEnd:
    """How the run ended."""

    result: RunResult
    exit_code: int
    finished_at: datetime


@dataclass(slots=True)
class Runner:
    """Executes (or resumes) a plan into its journal; returns how it ended."""

    plan: Plan
    journal: Journal
    fleet: Mapping[str, VCenterHandle]
    settings: RunSettings
    write_report: Callable[[], object]
    emit: Emit = _no_emit
    pre_approved: frozenset[str] = frozenset()
    control: RunControl = field(default_factory=RunControl)
    _waiting: dict[str, str] | None = field(default=None, init=False)
    _began: datetime = field(default_factory=utcnow, init=False)
    _logins: anyio.CapacityLimiter = field(init=False)

    async def run(self) -> RunEnd:
        """Run to the end, a halt or a stop; always leaves a final journal state."""
        plan, control = self.plan, self.control
        self._logins = anyio.CapacityLimiter(LOGIN_CONCURRENCY)
        begun = [h.at for h in self.journal.history() if h.event in ("started", "resumed")]
        self._began = begun[-1] if begun else utcnow()
        self.emit("run_started", summary=f"run of plan {plan.name} started")
        self.write_report()  # a run killed in its first wave still leaves a readable report
        async with anyio.create_task_group() as guard:
            guard.start_soon(_listen_for_signals, control.stop)
            try:
                async with open_clients(self.fleet), anyio.create_task_group() as services:
                    for handle in self.fleet.values():
                        services.start_soon(handle.poller.run)
                    services.start_soon(self._watch_controls)
                    # vCenters are logged in as their Supervisors need them (bounded):
                    # the first create need not wait for every login of a large fleet.
                    await check_one_entry_each(self.journal, self.fleet, self._logins)
                    with control.waves_scope:
                        if plan.window is not None and not self.settings.ignore_window:
                            await self._wait_for_window(plan.window.start)
                            services.start_soon(self._close_window)
                        await self._run_waves()
                    services.cancel_scope.cancel()
            finally:
                self._save_counters()
            end = self._finish()
            guard.cancel_scope.cancel()
        return end

    # -- waiting ------------------------------------------------------------------------
    def _show_waiting(self, waiting: dict[str, str] | None) -> None:
        """Record what the run waits for (``status`` shows it); a pause shows over it."""
        self._waiting = waiting
        paused = self.control.paused_by
        self.journal.set_meta(waiting={"kind": "pause", "by": paused} if paused else waiting)

    async def _sleep_waiting(self, seconds: float, kind: str, **keys: str) -> None:
        until = format_instant(utcnow() + timedelta(seconds=seconds))
        self._show_waiting({"kind": kind, "until": until, **keys})
        try:
            await anyio.sleep(seconds)
        finally:
            self._show_waiting(None)

    async def _wait_for_window(self, start: datetime) -> None:
        delay = (start - utcnow()).total_seconds()
        if delay > 0:
            log.info("window_waiting", start=format_instant(start), seconds=round(delay))
            await self._sleep_waiting(delay, "window")
            log.info("window_opened")

    async def _close_window(self) -> None:
        window = self.plan.window
        assert window is not None
        await anyio.sleep(max(0.0, (window.end - utcnow()).total_seconds()))
        log.warning("window_closed", end=format_instant(window.end))
        self.control.close_window(f"maintenance window closed at {format_instant(window.end)}")
        await anyio.sleep(self.settings.seconds(window.grace))
        log.warning("window_grace_over", grace_seconds=self.settings.seconds(window.grace))
        self.control.stop(f"maintenance window closed at {format_instant(window.end)} (grace over)")

    async def _watch_controls(self) -> None:
        """Act on operator commands written into the journal by other processes.

        A pause, continue or abort written before this process began (sent to a run that
        was ending, then resumed later) is stale: it is marked handled and ignored, so an
        old ``abort`` never ends tomorrow's ``--resume``. Approvals keep: an operator may
        approve a wave of a stopped run before resuming it.
        """
        while True:
            for command in self.journal.controls(pending_only=True):
                self.journal.mark_control_handled(command.seq)
                what = f"{command.command} by {command.by}" + (
                    f": {command.reason}" if command.reason else ""
                )
                if command.command in ("pause", "continue", "abort") and command.at < self._began:
                    log.warning("control_ignored", reason=f"{what} (sent before this run began)")
                    continue
                log.warning("control_received", wave=command.wave, reason=what)
                self._apply(command.command, command.wave, command.by, command.reason)
            await anyio.sleep(CONTROL_POLL_SECONDS)

    def _apply(self, command: str, wave: str | None, by: str, reason: str | None) -> None:
        history = self.journal.add_history
        if command == "pause":
            history("pause", by=by, reason=reason)
            self.control.pause(by)
            self._show_waiting(self._waiting)
        elif command == "continue":
            history("continue", by=by, reason=reason)
            self.control.resume()
            self._show_waiting(self._waiting)
        elif command == "abort":
            history("abort", by=by, reason=reason)
            self.control.stop(f"aborted by {by}: {reason or 'no reason given'}")
        elif command in ("approve", "reject") and wave is not None:
            # Recorded in the history when the runner acts on it (_run_waves, _reject).
            self.control.answer(wave, Approval(command == "approve", by, reason))

    async def _await_approval(self, wave: Wave) -> Approval | str:
        """Wait for an answer about ``wave``; a text says why the run must stop instead.

        The wait ends with an approval or a rejection, with ``approval_timeout``, or when
        the window closes (an approval after the window's end could launch nothing).
        """
        name = wave.name
        if name in self.pre_approved:
            return Approval(True, "run --approve")
        timeout = self.settings.seconds(self.plan.defaults.approval_timeout)
        waiting = {"kind": "approval", "wave": name}
        if timeout > 0:
            waiting["until"] = format_instant(utcnow() + timedelta(seconds=timeout))
        self._show_waiting(waiting)  # before the wave's status: a reader sees both or neither
        self.journal.set_wave_status(name, WaveStatus.AWAITING_APPROVAL)
        log.warning("wave_awaiting_approval", wave=name)
        self.emit("wave_awaiting_approval", wave=name, summary=f"wave {name} awaits approval")
        control = self.control
        try:
            with anyio.move_on_after(timeout if timeout > 0 else float("inf")):
                while name not in control.approvals and control.window_closed is None:
                    await control.wait_changed()
        finally:
            self._show_waiting(None)
        answer = control.approvals.get(name)
        if answer is not None:
            return answer
        if control.window_closed is not None:
            return f"{control.window_closed} while wave {name} awaited approval"
        return f"approval of wave {name} timed out after {timeout:g}s"

    # -- waves --------------------------------------------------------------------------
    async def _rest_vcenters(self, index: int) -> None:
        """After wave ``index``: log out of the vCenters no later wave needs, idle the rest.

        A vCenter the next wave needs keeps its connections: its creates follow at once.
        One needed only by a later wave closes them now, before the next wave's vCenters
        open theirs; and a 500-vCenter run never ends with 500 logouts at once.
        """
        waves = self.plan.waves
        upcoming = {s.vcenter for wave in waves[index + 1 : index + 2] for s in wave.supervisors}
        later = {s.vcenter for wave in waves[index + 2 :] for s in wave.supervisors}
        done = {s.vcenter for s in waves[index].supervisors} - upcoming
        async with anyio.create_task_group() as tg:
            for name in done:
                client = self.fleet[name].client
                tg.start_soon(client.drop_connections if name in later else client.aclose)

    async def _run_waves(self) -> None:
        records = {w.name: w for w in self.journal.waves()}
        durations = UpgradeDurations.from_rows(
            self.journal.supervisors(), self.settings.expected_seconds
        )
        for index, wave in enumerate(self.plan.waves):
            record = records[wave.name]
            status = record.status
            if status is WaveStatus.HALTED:
                return
            if status is WaveStatus.COMPLETED and not self._in_doubt(wave.name):
                continue
            # The gate is passed once: a wave that started (then stopped) resumes without
            # asking again, so its detached jobs are followed at once.
            if self.plan.requires_approval(wave) and record.started_at is None:
                answer = await self._await_approval(wave)
                if isinstance(answer, str):
                    log.warning("approval_wait_ended", wave=wave.name, reason=answer)
                    self.control.stop(answer)
                    return
                if not answer.approved:
                    self._reject(wave, answer)
                    return
                self.journal.add_history("approved", by=answer.by, reason=f"wave {wave.name}")
            if index > 0:
                for handle in self.fleet.values():
                    handle.forget_failure()  # an unreachable vCenter gets another chance
            self.emit("wave_started", wave=wave.name, summary=f"wave {wave.name} started")
            finished = await WaveRunner(
                plan=self.plan,
                wave=wave,
                journal=self.journal,
                fleet=self.fleet,
                settings=self.settings,
                control=self.control,
                total_limiter=self.settings.fleet_limiter(),
                durations=durations,
                logins=self._logins,
                on_halt=self._halted,
            ).run()
            await self._rest_vcenters(index)
            self.journal.checkpoint()
            last = index == len(self.plan.waves) - 1
            if not last or finished is not WaveStatus.COMPLETED:
                self.write_report()  # the run's end writes every file right after the last
            self.emit("wave_finished", wave=wave.name, summary=f"wave {wave.name} {finished}")
            if finished is not WaveStatus.COMPLETED:
                log.warning("later_waves_skipped", wave=wave.name)
                return
            if wave.pause_after is not None and index < len(self.plan.waves) - 1:
                pause = self.settings.seconds(wave.pause_after)
                log.info("wave_pause", wave=wave.name, seconds=pause)
                await self._sleep_waiting(pause, "pause_after", wave=wave.name)

    def _in_doubt(self, wave: str) -> bool:
        return any(r.in_doubt for r in self.journal.supervisors(wave))

    def _halted(self, decision: Decision) -> None:
        self.emit(
            "wave_halted",
            wave=decision.wave,
            summary=f"wave {decision.wave} halted: {decision.reason}",
        )

    def _reject(self, wave: Wave, answer: Approval) -> None:
        reason = f"rejected by {answer.by}: {answer.reason or 'no reason given'}"
        size = len(wave.supervisors)
        self.journal.add_decision(
            Decision(
                at=utcnow(),
                wave=wave.name,
                rule="approval",
                errors=0,
                failures=0,
                size=size,
                limit="approval",
                verdict="rejected",
                reason=reason,
            )
        )
        self.journal.add_history(
            "rejected", by=answer.by, reason=f"wave {wave.name}: {answer.reason or 'no reason'}"
        )
        for row in self.journal.supervisors(wave.name):
            if row.phase is Phase.PENDING:
                self.journal.mark_not_started(row.key, f"wave {wave.name} {reason}")
        self.journal.set_wave_status(wave.name, WaveStatus.HALTED, finished_at=utcnow())
        log.warning("wave_halted", wave=wave.name, reason=reason)
        self.emit("wave_halted", wave=wave.name, summary=f"wave {wave.name} {reason}")

    # -- the end ------------------------------------------------------------------------
    def _finish(self) -> RunEnd:
        """Mark what is left, decide the result, record it."""
        journal = self.journal
        halted = any(w.status is WaveStatus.HALTED for w in journal.waves())
        stopped = self.control.stop_reason is not None or self.control.window_closed is not None
        for row in journal.supervisors():
            if row.phase is Phase.INTENT:
                journal.mark_detached(
                    row.key, "a create may have reached vCenter; --resume asks vCenter first"
                )
            elif row.phase is Phase.LAUNCHED and row.outcome is None:
                journal.mark_detached(row.key, "still upgrading on vCenter when the run stopped")
            elif row.phase is Phase.PENDING and row.outcome is None:
                why = "an earlier wave halted" if halted and not stopped else "the run stopped"
                journal.mark_not_started(row.key, why)
        for wave in journal.waves():
            if wave.status in (None, WaveStatus.RUNNING, WaveStatus.AWAITING_APPROVAL):
                started = wave.started_at is not None
                status = WaveStatus.STOPPED if started else WaveStatus.NOT_STARTED
                journal.set_wave_status(wave.name, status, finished_at=wave.finished_at)
        rows = journal.supervisors()
        doubt = any(r.in_doubt for r in rows)
        result, code = run_result(
            [w.status for w in journal.waves()],
            [r.outcome for r in rows],
            stopped=self.control.stop_reason is not None or doubt,
        )
        if result is RunResult.STOPPED and self.control.stop_reason:
            journal.add_history("stopped", reason=self.control.stop_reason)
        finished_at = utcnow()
        journal.set_meta(result=result.value, exit_code=code, finished_at=finished_at.isoformat())
        journal.checkpoint()
        counts: dict[str, int] = {}
        for row in rows:
            key = (row.outcome or Outcome.NOT_STARTED).value
            counts[key] = counts.get(key, 0) + 1
        log.log(
            30 if code else 20, "run_finished", result=result.value, exit_code=code, counts=counts
        )
        event = "run_stopped" if result is RunResult.STOPPED else "run_finished"
        self.emit(
            event,
            result=result.value,
            counts=counts,
            summary=f"plan {self.plan.name}: {result.value}",
        )
        return RunEnd(result, code, finished_at)

    def _save_counters(self) -> None:
        for name, handle in self.fleet.items():
            c = handle.client.counters
            self.journal.add_vcenter_counters(
                VCenterRecord(
                    name,
                    handle.endpoint.url,
                    c.requests,
                    c.retries,
                    c.errors,
                    c.paced_waits,
                    c.breaker_opens,
                )
            )


async def _listen_for_signals(stop: Callable[[str], None]) -> None:
    """First SIGINT/SIGTERM/SIGHUP: stop gracefully. Second: exit at once (journal consistent)."""
    with anyio.open_signal_receiver(signal.SIGINT, signal.SIGTERM, signal.SIGHUP) as signals:
        async for signum in signals:
            name = signal.Signals(signum).name
            log.warning("stop_requested", reason=f"signal {name}")
            stop(f"run stopped by {name}")
            break
        async for signum in signals:
            log.error("stop_forced", reason=f"signal {signal.Signals(signum).name}")
            os._exit(ExitCode.STOPPED)
