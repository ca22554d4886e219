"""Dry run: prove a plan can run, against the real vCenters, without changing anything.

Strictly read-only except for vCenter's own prechecks (``--prechecks``), which upgrade
nothing. It logs in to every vCenter, resolves every Supervisor (two entries designating
the same one stop it, as they would stop the run), reads upgrade states and health in
bulk, and classifies each Supervisor with the run's own launch choice; with prechecks it
also replays each wave's gates in plan order and says which wave *would* halt, and where.
It never creates an upgrade job.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta

import anyio
import structlog

from fleetupgrade.decide.admission import FIT_RULE, predict_wave
from fleetupgrade.decide.classify import precheck_verdict, verdict_messages
from fleetupgrade.decide.gates import (
    Decision,
    closing_decisions,
    decision_for_outcome,
    halting,
    tally,
)
from fleetupgrade.decide.launch import Adopt, Finish, UpgradeView, choose
from fleetupgrade.decide.result import run_result
from fleetupgrade.errors import APIError, VCenterError
from fleetupgrade.journal.records import SupervisorRecord
from fleetupgrade.journal.store import Journal
from fleetupgrade.outcomes import Message, Outcome, RunResult, WaveStatus
from fleetupgrade.plan import Plan, Wave
from fleetupgrade.rollout.fleet import (
    LOGIN_CONCURRENCY,
    VCenterHandle,
    check_one_entry_each,
    login_all,
    open_clients,
)
from fleetupgrade.rollout.learned import ASSUMED_NODES
from fleetupgrade.rollout.settings import RunSettings
from fleetupgrade.timefmt import utcnow
from fleetupgrade.vcenter import PrecheckStatus, health_problem, is_healthy

log = structlog.get_logger("fleetupgrade.rollout")

__all__ = ["DryRun"]

_FINAL_PRECHECK = frozenset(
    {PrecheckStatus.SUCCEEDED, PrecheckStatus.WARNING, PrecheckStatus.ERROR}
)


@dataclass(slots=True)
class DryRun:
    """Classifies every Supervisor of a plan into the dry-run outcomes."""

    plan: Plan
    journal: Journal
    fleet: Mapping[str, VCenterHandle]
    settings: RunSettings
    prechecks: bool
    allow_unhealthy: bool = False

    async def run(self) -> tuple[RunResult, int]:
        """Check everything; returns the predicted result and its exit code."""
        rows = self.journal.supervisors()
        async with open_clients(self.fleet):
            logins = anyio.CapacityLimiter(LOGIN_CONCURRENCY)
            await login_all(self.fleet.values(), logins)
            await check_one_entry_each(self.journal, self.fleet, logins)
            limiter = self.settings.fleet_limiter()
            async with anyio.create_task_group() as tg:
                for name, handle in self.fleet.items():
                    mine = [r for r in rows if r.vcenter == name]
                    if mine:
                        tg.start_soon(self._check_vcenter, handle, mine, limiter)
        return self._predict()

    def _finish(
        self,
        row: SupervisorRecord,
        outcome: Outcome,
        reason: str | None,
        messages: tuple[Message, ...] = (),
    ) -> None:
        self.journal.mark_done(row.key, outcome, reason, messages)
        log.info(
            "supervisor_finished",
            vcenter=row.vcenter,
            supervisor=row.label,
            outcome=outcome.value,
            reason=reason,
        )

    async def _check_vcenter(
        self,
        handle: VCenterHandle,
        rows: list[SupervisorRecord],
        total_limiter: anyio.CapacityLimiter | None,
    ) -> None:
        try:
            await handle.ensure_ready()
            names = await handle.names()
            ids: dict[str, str] = {}
            for row in rows:
                try:
                    ids[row.key] = await handle.resolve(row.ref_id, row.ref_name)
                except LookupError as exc:
                    self._finish(row, Outcome.REJECTED, str(exc.args[0]))
            wanted = sorted(set(ids.values()))
            upgrades = {s.supervisor: s for s in await handle.client.list_upgrades(wanted)}
            health = {s.id: s for s in await handle.client.list_supervisors()}
        except VCenterError as exc:
            for row in rows:
                if self.journal.supervisor(row.key).outcome is None:
                    self._finish(row, Outcome.UNREACHABLE, str(exc))
            return
        limiter = anyio.CapacityLimiter(self.plan.max_concurrent_for(handle.name))

        async def check(row: SupervisorRecord, supervisor_id: str) -> None:
            summary = upgrades.get(supervisor_id)
            if summary is None:
                self._finish(row, Outcome.REJECTED, f"Supervisor {supervisor_id} not found")
                return
            self.journal.resolve(
                row.key,
                id=supervisor_id,
                name=row.ref_name or names.get(supervisor_id),
                from_version=summary.current_version,
                nodes=None,
            )
            row = self.journal.supervisor(row.key)
            view = UpgradeView(
                summary.state,
                summary.current_version,
                summary.available_versions,
                summary.desired_version,
            )
            choice = choose(view, row.to_version)
            if isinstance(choice, Finish):
                self._finish(row, choice.outcome, choice.reason)
                return
            if isinstance(choice, Adopt):
                self._finish(row, Outcome.IN_PROGRESS, f"already upgrading to {row.to_version}")
                return
            state = health.get(supervisor_id)
            if (state is None or not is_healthy(state)) and not self.allow_unhealthy:
                detail = "not listed" if state is None else health_problem(state)
                self._finish(
                    row,
                    Outcome.UNHEALTHY_BEFORE,
                    f"not healthy before the upgrade: {detail} (--allow-unhealthy)",
                )
                return
            if not self.prechecks:
                self._finish(row, Outcome.WOULD_UPGRADE, None)
                return
            try:
                async with limiter:
                    if total_limiter is None:
                        outcome, reason, messages = await self._run_prechecks(handle, row)
                    else:
                        async with total_limiter:
                            outcome, reason, messages = await self._run_prechecks(handle, row)
            except VCenterError as exc:
                kind = Outcome.REJECTED if isinstance(exc, APIError) else Outcome.UNREACHABLE
                outcome, reason, messages = kind, str(exc), ()
            self._finish(row, outcome, reason, messages)

        async with anyio.create_task_group() as tg:
            for row in rows:
                if row.key in ids:
                    tg.start_soon(check, row, ids[row.key])

    async def _run_prechecks(
        self, handle: VCenterHandle, row: SupervisorRecord
    ) -> tuple[Outcome, str | None, tuple[Message, ...]]:
        assert row.id is not None
        await handle.client.run_prechecks(row.id, row.to_version)
        result = None
        with anyio.move_on_after(self.settings.upgrade_timeout):
            while result is None or result.status not in _FINAL_PRECHECK:
                await anyio.sleep(self.settings.poll)
                result = await handle.client.get_prechecks(row.id, row.to_version)
        if result is None or result.status not in _FINAL_PRECHECK:
            return Outcome.REJECTED, "prechecks did not finish within upgrade_timeout", ()
        messages = verdict_messages(result.conditions, ())
        log.info(
            "precheck_result",
            vcenter=row.vcenter,
            supervisor=row.label,
            severity=result.status.value if result.status else None,
        )
        blocked = precheck_verdict(messages, ignore_warnings=row.ignore_warnings)
        if blocked is not None:
            return blocked[0], blocked[1], messages
        return Outcome.WOULD_UPGRADE, None, messages

    def _predict_fit(self, wave: Wave, begins: datetime) -> datetime:
        """Record whether ``wave``, starting at ``begins``, is predicted to fit the window.

        The dry run knows no durations of this run, so it predicts with the plan's
        ``expected_upgrade_duration[_per_node]`` (three control-plane nodes: vCenter does
        not report the count of an idle Supervisor), the wave's ``would_upgrade``
        Supervisors and the concurrency limits. Returns when the next wave would begin.
        """
        window = self.plan.window
        assert window is not None
        counts: dict[str, int] = {}
        for row in self.journal.supervisors(wave.name):
            if row.outcome is Outcome.WOULD_UPGRADE:
                counts[row.vcenter] = counts.get(row.vcenter, 0) + 1
        fit = predict_wave(
            begins=begins,
            window_end=window.end,
            upgrades=counts,
            concurrency={v: self.plan.max_concurrent_for(v) for v in counts},
            total_cap=self.plan.defaults.max_concurrent_total,
            each_seconds=self.settings.expected_seconds(ASSUMED_NODES),
        )
        refused = fit.fits is False and window.admission == "fit"
        note = ""
        if fit.fits is False:
            note = (
                "; launches predicted to overrun would be refused (not_started)"
                if refused
                else "; admission does not apply (launches until the end)"
            )
        rows = self.journal.supervisors(wave.name)
        self.journal.add_decision(
            Decision(
                at=utcnow(),
                wave=wave.name,
                rule=f"{FIT_RULE}: {fit.describe(window.end)}{note}",
                errors=0,
                failures=0,
                size=len(rows),
                limit=window.end.isoformat(),
                verdict="refused" if refused else "continue",
            )
        )
        log.info(
            "window_fit_predicted",
            wave=wave.name,
            reason=fit.describe(window.end) + note,
        )
        ends = fit.ends or begins
        pause = timedelta(0) if wave.pause_after is None else wave.pause_after
        return ends + pause

    def _predict(self) -> tuple[RunResult, int]:
        """Replay each wave's gates in plan order, as the run would meet the outcomes."""
        window = self.plan.window
        predicting = window is not None and not self.settings.ignore_window
        begins = max(utcnow(), window.start) if window is not None and predicting else None
        for wave in self.plan.waves:
            if begins is not None:
                begins = self._predict_fit(wave, begins)
            rows = self.journal.supervisors(wave.name)
            precheck = self.plan.threshold_for(wave)
            failure = self.plan.failure_threshold_for(wave)
            halt = None
            for index, row in enumerate(rows):
                assert row.outcome is not None
                seen = [r.outcome for r in rows[: index + 1]]
                decision = decision_for_outcome(
                    at=utcnow(),
                    wave=wave.name,
                    counts=tally(len(rows), seen),
                    outcome=row.outcome,
                    label=row.label,
                    messages=row.messages,
                    precheck=precheck,
                    failure=failure,
                )
                if decision is not None:
                    self.journal.add_decision(decision)
                    if decision.verdict == "halt" and halt is None:
                        halt = decision
                        log.warning(
                            "wave_would_halt",
                            wave=wave.name,
                            supervisor=row.label,
                            reason=decision.reason,
                        )
            if halt is None:
                closing = closing_decisions(
                    at=utcnow(),
                    wave=wave.name,
                    counts=tally(len(rows), [_as_run(r.outcome) for r in rows]),
                    precheck=precheck,
                    failure=failure,
                )
                for decision in closing:
                    self.journal.add_decision(decision)
                halt = halting(closing)
                if halt is not None:
                    log.warning("wave_would_halt", wave=wave.name, reason=halt.reason)
            status = WaveStatus.HALTED if halt is not None else WaveStatus.COMPLETED
            self.journal.set_wave_status(
                wave.name, status, started_at=utcnow(), finished_at=utcnow()
            )
        return run_result(
            [w.status for w in self.journal.waves()],
            [r.outcome for r in self.journal.supervisors()],
            stopped=False,
            dry_run=True,
        )


def _as_run(outcome: Outcome | None) -> Outcome | None:
    """A dry-run outcome as the run's closing rule counts it (``would_upgrade`` succeeds)."""
    return Outcome.UPGRADED if outcome is Outcome.WOULD_UPGRADE else outcome
