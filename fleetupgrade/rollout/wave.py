"""Run one wave: per-vCenter and fleet-wide limits, work-conserving, with a halt gate.

Each vCenter gets as many workers as its ``max_concurrent``; a worker takes the next
Supervisor of its vCenter, waits for a fleet-wide slot, and holds both until that
Supervisor's job has ended. So a free slot never idles while a launchable Supervisor of
that vCenter waits, and neither limit is ever exceeded. Jobs already in flight (adopted
or resumed) go first: they occupy slots on vCenter whether we like it or not.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Mapping
from dataclasses import dataclass, field, replace

import anyio
import structlog

from fleetupgrade.decide.classify import Verdict
from fleetupgrade.decide.gate import WaveGate
from fleetupgrade.journal.store import Journal, Phase, SupervisorRecord, WaveRecord, utcnow
from fleetupgrade.outcomes import Outcome, WaveStatus
from fleetupgrade.plan import Plan, SupervisorRef, Wave
from fleetupgrade.rollout.fleet import VCenterHandle
from fleetupgrade.rollout.supervisor import NotLaunched, SupervisorJob
from fleetupgrade.rollout.watch import WatchLimits

log = structlog.get_logger("fleetupgrade.engine")


@dataclass(slots=True)
class RunControl:
    """Run-wide switches every worker consults right before it fires."""

    launches_closed: str | None = None  # why no new job may be created (window closed, stop)

    def close_launches(self, reason: str) -> None:
        """From now on, nothing new is fired."""
        if self.launches_closed is None:
            self.launches_closed = reason


def supervisor_key(wave: str, ref: SupervisorRef) -> str:
    """The journal key of a plan entry: stable across resumes of the same plan."""
    ident = f"id:{ref.id}" if ref.id is not None else f"name:{ref.name}"
    return f"{wave}/{ref.vcenter}/{ident}"


@dataclass(slots=True)
class WaveRunner:
    """Executes one wave of the plan and returns its final record."""

    plan: Plan
    wave: Wave
    journal: Journal
    fleet: Mapping[str, VCenterHandle]
    control: RunControl
    total_limiter: anyio.CapacityLimiter | None
    limits: WatchLimits
    _ignore_warnings: dict[str, bool] = field(init=False)

    def __post_init__(self) -> None:
        self._ignore_warnings = {
            supervisor_key(self.wave.name, ref): self.plan.ignore_warnings_for(ref)
            for ref in self.wave.supervisors
        }

    async def run(self) -> WaveRecord:
        """Run the wave to its end (halted, completed, or stopped by the caller's scope)."""
        record = next(w for w in self.journal.waves() if w.name == self.wave.name)
        if record.started_at is None:
            record = replace(record, started_at=utcnow())
        rows = self.journal.supervisors(self.wave.name)
        finished = [r for r in rows if r.phase is Phase.DONE]
        gate = WaveGate(
            wave=self.wave.name,
            size=len(rows),
            threshold=self.plan.threshold_for(self.wave),
            max_upgrade_failures=self.wave.max_upgrade_failures,
            journal=self.journal,
        )
        # A resumed wave keeps the counts it had.
        gate.errors = sum(r.outcome is Outcome.PRECHECK_ERROR for r in finished)
        gate.failures = sum(r.outcome is Outcome.FAILED for r in finished)
        gate.halted = record.status is WaveStatus.HALTED
        self.journal.save_wave(replace(record, status=None, finished_at=None))
        log.info("wave_started", wave=self.wave.name, size=len(rows), resumed=bool(finished))
        for handle in self.fleet.values():
            handle.forget_failure()

        queues: dict[str, deque[SupervisorRecord]] = {}
        todo = [r for r in rows if r.phase is not Phase.DONE]
        todo.sort(key=lambda r: (r.phase is Phase.PENDING, r.position))
        for row in todo:
            queues.setdefault(row.vcenter, deque()).append(row)

        def may_launch() -> None:
            if gate.halted:
                raise NotLaunched(f"wave {self.wave.name} halted: {gate.halt_reason}")
            if self.control.launches_closed is not None:
                raise NotLaunched(self.control.launches_closed)

        async def worker(queue: deque[SupervisorRecord]) -> None:
            while queue:
                row = queue.popleft()
                with structlog.contextvars.bound_contextvars(
                    wave=self.wave.name, vcenter=row.vcenter, supervisor=row.label
                ):
                    if row.phase is Phase.PENDING:
                        try:
                            may_launch()
                        except NotLaunched as exc:
                            self._job(row).finish(Verdict(Outcome.NOT_STARTED, exc.reason))
                            continue
                    if self.total_limiter is None:
                        final = await self._job(row).run(may_launch)
                    else:
                        async with self.total_limiter:
                            final = await self._job(row).run(may_launch)
                    if final.outcome is not None:
                        gate.record(final.outcome)
                    self._save_counts(record, gate)

        async with anyio.create_task_group() as tg:
            for vcenter, queue in queues.items():
                for _ in range(min(self.plan.max_concurrent_for(vcenter), len(queue))):
                    tg.start_soon(worker, queue)

        if not gate.halted:
            gate.evaluate()  # the wave's closing verdict in the decision log
        status = WaveStatus.HALTED if gate.halted else WaveStatus.COMPLETED
        if not gate.halted and self.control.launches_closed is not None:
            rows = self.journal.supervisors(self.wave.name)
            if any(r.phase is not Phase.DONE for r in rows):
                status = WaveStatus.STOPPED
        final_record = replace(
            record,
            status=status,
            precheck_errors=gate.errors,
            upgrade_failures=gate.failures,
            finished_at=utcnow(),
        )
        self.journal.save_wave(final_record)
        log.info(
            "wave_finished",
            wave=self.wave.name,
            status=status.value,
            precheck_errors=gate.errors,
            upgrade_failures=gate.failures,
            reason=gate.halt_reason,
        )
        return final_record

    def _job(self, row: SupervisorRecord) -> SupervisorJob:
        return SupervisorJob(
            record=row,
            handle=self.fleet[row.vcenter],
            journal=self.journal,
            ignore_warnings=self._ignore_warnings[row.key],
            limits=self.limits,
        )

    def _save_counts(self, record: WaveRecord, gate: WaveGate) -> None:
        self.journal.save_wave(
            replace(record, precheck_errors=gate.errors, upgrade_failures=gate.failures)
        )
