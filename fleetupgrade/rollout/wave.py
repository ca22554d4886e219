"""Run one wave: per-vCenter and fleet-wide limits, work-conserving, with its gates.

Each vCenter gets as many workers as its ``max_concurrent``; a worker takes the next
Supervisor of its vCenter, waits for a fleet-wide slot, and holds both until that
Supervisor's outcome is known — a Supervisor in doubt keeps its slot and holds the wave's
verdict. So a free slot never idles while a launchable Supervisor of that vCenter waits,
and neither limit is ever exceeded. Jobs already in flight (resumed or in doubt) go first.
Gates are evaluated on every outcome they count (decide/gates.py); counts are derived
from the journal once at wave start and then kept up to date in memory as this runner
sees each outcome (re-reading the wave's rows on every outcome cost O(n) each, O(n²) a
wave).
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field

import anyio
import structlog

from fleetupgrade.decide.admission import Admission, admit
from fleetupgrade.decide.gates import (
    Culprit,
    Decision,
    Tally,
    closing_decisions,
    decision_for_outcome,
    halting,
    tally,
)
from fleetupgrade.journal.records import Phase, SupervisorRecord
from fleetupgrade.journal.store import Journal
from fleetupgrade.outcomes import GATE_FAILURE_OUTCOMES, SUCCESS_OUTCOMES, Outcome, WaveStatus
from fleetupgrade.plan import Plan, Wave
from fleetupgrade.rollout.control import RunControl
from fleetupgrade.rollout.fleet import VCenterHandle
from fleetupgrade.rollout.learned import UpgradeDurations
from fleetupgrade.rollout.settings import RunSettings
from fleetupgrade.rollout.supervisor import SupervisorContext, run_supervisor
from fleetupgrade.timefmt import utcnow

log = structlog.get_logger("fleetupgrade.rollout")

__all__ = ["WaveRunner", "WaveTally"]


@dataclass(slots=True)
class WaveTally:
    """A wave's gate counts, kept up to date per outcome instead of re-counted each time.

    Equal at every moment to ``tally(size, [outcome if done else None ...])`` over the
    wave's rows, as long as every final outcome of the wave passes through :meth:`set`.
    """

    size: int
    outcomes: dict[str, Outcome | None]
    precheck_errors: int = 0
    failures: int = 0
    successes: int = 0
    settled: int = 0

    @classmethod
    def of(cls, rows: Sequence[SupervisorRecord]) -> WaveTally:
        """Derive the counts from the wave's journal rows (once, at wave start)."""
        counts = cls(len(rows), {})
        for row in rows:
            counts.outcomes[row.key] = None
            counts.set(row.key, row.outcome if row.phase is Phase.DONE else None)
        return counts

    def _add(self, outcome: Outcome | None, step: int) -> None:
        if outcome is None:
            return
        self.settled += step
        if outcome is Outcome.PRECHECK_ERROR:
            self.precheck_errors += step
        if outcome in GATE_FAILURE_OUTCOMES:
            self.failures += step
        if outcome in SUCCESS_OUTCOMES:
            self.successes += step

    def set(self, key: str, outcome: Outcome | None) -> None:
        """Record a Supervisor's final outcome (None: not final)."""
        self._add(self.outcomes.get(key), -1)
        self.outcomes[key] = outcome
        self._add(outcome, +1)

    def counts(self) -> Tally:
        """The counts as decide/gates.py takes them."""
        return Tally(
            size=self.size,
            precheck_errors=self.precheck_errors,
            failures=self.failures,
            successes=self.successes,
            settled=self.settled,
        )


@dataclass(slots=True)
class WaveRunner:
    """Executes one wave of the plan; returns how it ended."""

    plan: Plan
    wave: Wave
    journal: Journal
    fleet: Mapping[str, VCenterHandle]
    settings: RunSettings
    control: RunControl
    total_limiter: anyio.CapacityLimiter | None
    durations: UpgradeDurations
    logins: anyio.CapacityLimiter
    on_halt: Callable[[Decision], None]
    halt: Decision | None = field(default=None, init=False)
    _tally: WaveTally = field(default_factory=lambda: WaveTally(0, {}), init=False)

    def _launch_block(self) -> str | None:
        if self.halt is not None:
            return f"wave {self.wave.name} halted: {self.halt.reason}"
        return self.control.launch_block()

    def _admit(self, row: SupervisorRecord) -> Admission:
        window = self.plan.window
        if window is None or self.settings.ignore_window or window.admission != "fit":
            return Admission(True, None)
        predicted = self.durations.predict(row.control_plane_nodes)
        left = (window.end - utcnow()).total_seconds()
        verdict = admit(left_seconds=left, predicted=predicted)
        if not verdict.admitted:
            counts = self._tally.counts()
            self.journal.add_decision(
                Decision(
                    at=utcnow(),
                    wave=self.wave.name,
                    rule="window-fit admission: predicted end <= window end",
                    errors=counts.precheck_errors,
                    failures=counts.failures,
                    size=counts.size,
                    limit=window.end.isoformat(),
                    verdict="refused",
                    culprits=(Culprit(row.label, ()),),
                    reason=verdict.reason,
                )
            )
            log.warning("launch_refused", reason=verdict.reason)
        return verdict

    def _context(self, handle: VCenterHandle) -> SupervisorContext:
        s = self.settings
        return SupervisorContext(
            journal=self.journal,
            handle=handle,
            poll=s.poll,
            upgrade_timeout=s.upgrade_timeout,
            stall_timeout=s.stall_timeout,
            health_timeout=s.seconds(self.plan.health_timeout_for(self.wave)),
            create_deadline=s.seconds(self.plan.defaults.request_timeout) * 3 + 10 * s.poll,
            launch_block=self._launch_block,
            admit=self._admit,
            predict=self.durations.predict,
            logins=self.logins,
            control=self.control,
        )

    async def run(self) -> WaveStatus:
        """Run the wave to its end (halted, completed, or stopped by the caller's scope)."""
        name = self.wave.name
        rows = self.journal.supervisors(name)
        self._tally = WaveTally.of(rows)
        self.journal.set_wave_status(name, WaveStatus.RUNNING, started_at=utcnow())
        resumed = any(r.outcome is not None or r.phase is not Phase.PENDING for r in rows)
        log.info("wave_started", wave=name, size=len(rows), resumed=resumed)
        queues: dict[str, deque[SupervisorRecord]] = {}
        todo = [r for r in rows if r.phase is not Phase.DONE]
        todo.sort(key=lambda r: (r.phase is Phase.PENDING, r.position))
        for row in todo:
            queues.setdefault(row.vcenter, deque()).append(row)
        async with anyio.create_task_group() as tg:
            for vcenter, queue in queues.items():
                for _ in range(min(self.plan.max_concurrent_for(vcenter), len(queue))):
                    tg.start_soon(self._worker, queue)
        return self._close()

    async def _worker(self, queue: deque[SupervisorRecord]) -> None:
        while queue:
            row = queue.popleft()
            with structlog.contextvars.bound_contextvars(
                wave=self.wave.name, vcenter=row.vcenter, supervisor=row.label
            ):
                if row.phase is Phase.PENDING:
                    await self.control.wait_unpaused()
                    block = self._launch_block()
                    if block is not None:
                        self.journal.mark_not_started(row.key, block)
                        self._tally.set(row.key, Outcome.NOT_STARTED)
                        continue
                ctx = self._context(self.fleet[row.vcenter])
                if self.total_limiter is None:
                    final = await run_supervisor(ctx, row.key)
                else:
                    async with self.total_limiter:
                        final = await run_supervisor(ctx, row.key)
                self._count(final)

    def _count(self, row: SupervisorRecord) -> None:
        if row.phase is not Phase.DONE or row.outcome is None:
            return
        self.durations.record(row)
        self._tally.set(row.key, row.outcome)
        decision = decision_for_outcome(
            at=utcnow(),
            wave=self.wave.name,
            counts=self._tally.counts(),
            outcome=row.outcome,
            label=row.label,
            messages=row.messages,
            precheck=self.plan.threshold_for(self.wave),
            failure=self.plan.failure_threshold_for(self.wave),
        )
        if decision is None:
            return
        self._decide(decision)

    def _decide(self, decision: Decision) -> None:
        self.journal.add_decision(decision)
        log.info(
            "threshold_evaluated",
            wave=decision.wave,
            rule=decision.rule,
            errors=decision.errors,
            failures=decision.failures,
            size=decision.size,
            verdict=decision.verdict,
        )
        if decision.verdict == "halt" and self.halt is None:
            self.halt = decision
            log.warning("wave_halted", wave=self.wave.name, reason=decision.reason)
            self.on_halt(decision)

    def _close(self) -> WaveStatus:
        name = self.wave.name
        rows = self.journal.supervisors(name)
        settled = all(r.phase is Phase.DONE for r in rows)
        if self.halt is None and settled:
            counts = tally(len(rows), [r.outcome for r in rows])
            decisions = closing_decisions(
                at=utcnow(),
                wave=name,
                counts=counts,
                precheck=self.plan.threshold_for(self.wave),
                failure=self.plan.failure_threshold_for(self.wave),
            )
            for decision in decisions:
                self.journal.add_decision(decision)
            first = halting(decisions)
            if first is not None:
                self.halt = first
                log.warning("wave_halted", wave=name, reason=first.reason)
                self.on_halt(first)
        if self.halt is not None:
            status = WaveStatus.HALTED
        elif settled:
            status = WaveStatus.COMPLETED
        else:
            status = WaveStatus.STOPPED
        self.journal.set_wave_status(name, status, finished_at=utcnow())
        counts = tally(len(rows), [r.outcome for r in rows])
        log.info(
            "wave_finished",
            wave=name,
            status=status.value,
            counts={"precheck_errors": counts.precheck_errors, "failures": counts.failures},
            reason=None if self.halt is None else self.halt.reason,
        )
        return status
