"""Everything a run derives from its plan, derived once.

Poll interval, watch limits, concurrency limits and the time scale of a rehearsal
(``--simulate`` compresses plan durations by the simulator's speed) are computed here and
nowhere else; the run, the dry run and every Supervisor read them from one value.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

import anyio

from fleetupgrade.journal.records import SupervisorRecord, VCenterRecord, WaveRecord
from fleetupgrade.journal.store import Journal
from fleetupgrade.plan import Plan, SupervisorRef

__all__ = ["MIN_POLL_SECONDS", "RunSettings", "initialise_journal", "supervisor_key"]

MIN_POLL_SECONDS = 0.01


@dataclass(frozen=True, slots=True)
class RunSettings:
    """The run's derived settings (real seconds, after the time scale)."""

    time_scale: float
    ignore_window: bool
    poll: float
    upgrade_timeout: float
    stall_timeout: float
    max_concurrent_total: int
    expected_default: timedelta | None
    expected_per_node: timedelta | None

    @classmethod
    def from_plan(
        cls, plan: Plan, *, time_scale: float = 1.0, ignore_window: bool = False
    ) -> RunSettings:
        """Derive the settings of a run of ``plan``."""
        d = plan.defaults

        def scaled(value: timedelta) -> float:
            return value.total_seconds() * time_scale

        return cls(
            time_scale=time_scale,
            ignore_window=ignore_window,
            poll=max(scaled(d.poll_interval), MIN_POLL_SECONDS),
            upgrade_timeout=scaled(d.upgrade_timeout),
            stall_timeout=scaled(d.stall_timeout),
            max_concurrent_total=d.max_concurrent_total,
            expected_default=d.expected_upgrade_duration,
            expected_per_node=d.expected_upgrade_duration_per_node,
        )

    def seconds(self, value: timedelta | None) -> float:
        """A plan duration in real seconds under this run's time scale."""
        return 0.0 if value is None else value.total_seconds() * self.time_scale

    def fleet_limiter(self) -> anyio.CapacityLimiter | None:
        """The fleet-wide cap on jobs in flight (None: no cap)."""
        total = self.max_concurrent_total
        return anyio.CapacityLimiter(total) if total > 0 else None

    def expected_seconds(self, nodes: int | None) -> float | None:
        """The plan's expected upgrade duration for a Supervisor (real seconds)."""
        if self.expected_per_node is not None and nodes is not None:
            return self.seconds(self.expected_per_node) * nodes
        if self.expected_default is not None and self.expected_default > timedelta(0):
            return self.seconds(self.expected_default)
        return None


def supervisor_key(wave: str, ref: SupervisorRef) -> str:
    """The journal key of a plan entry: stable across resumes of the same plan."""
    ident = f"id:{ref.id}" if ref.id is not None else f"name:{ref.name}"
    return f"{wave}/{ref.vcenter}/{ident}"


def initialise_journal(journal: Journal, plan: Plan) -> None:
    """Write the plan's waves, Supervisors (target, ignore flag) and vCenters, once."""
    waves = []
    supervisors = []
    for position, wave in enumerate(plan.waves):
        precheck = plan.threshold_for(wave)
        failure = plan.failure_threshold_for(wave)
        waves.append(
            WaveRecord(
                position=position,
                name=wave.name,
                threshold_kind=precheck.kind,
                threshold_limit=str(precheck.limit),
                failure_kind=failure.kind,
                failure_limit=str(failure.limit),
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
                    ignore_warnings=plan.ignore_warnings_for(ref),
                )
            )
    vcenters = [VCenterRecord(name=v.name, url=v.url) for v in plan.vcenters]
    journal.initialise(waves, supervisors, vcenters)
