"""The upgrade state machine of docs/wire.md (State machine), for one Supervisor, computed lazily.

Nothing runs in the background: a job's whole future (when prechecks end, whether they
block, when the upgrade succeeds or fails) is decided when it is created, and every read
first calls :meth:`Supervisor.settle` with the simulated time to apply an end that has
passed. That keeps one process able to serve tens of thousands of Supervisors, and keeps
every phase exact to the simulated clock rather than to a polling loop.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Literal

from fleetupgrade.sim.scenario import Precheck, SupervisorSpec
from fleetupgrade.sim.wire import Message, Note

Outcome = Literal["succeeded", "failed", "precheck_error", "precheck_warning", "canceled"]
Phase = Literal["prechecks", "upgrading", "ended"]
State = Literal["READY", "INPROGRESS", "ERROR"]

#: Every precheck run also reports this passing check, so a run is visible while it runs.
BASELINE_CHECK = Precheck(
    severity="INFO", id="control-plane.health", text="The control plane is healthy"
)


def version_key(version: str) -> tuple[tuple[int, int | str], ...]:
    """Order versions numerically where they are numeric (``9.10.0`` > ``9.9.1``)."""
    return tuple(
        (0, int(part)) if part.isdigit() else (1, part) for part in re.split(r"[.\-+]", version)
    )


@dataclass(slots=True)
class PrecheckRun:
    """One run of upgrade prechecks (by Prechecks.run or as a job's first phase)."""

    target_version: str
    started_at: float
    duration: float
    checks: tuple[Precheck, ...]
    stopped_at: float | None = None  # canceled before finishing

    @property
    def done_at(self) -> float:
        """When the checks reach their final status (if not stopped)."""
        return self.started_at + self.duration

    def finished(self, now: float) -> bool:
        """Final results are visible."""
        return self.stopped_at is None and now >= self.done_at

    def severities(self) -> set[str]:
        """The severities of the checks that do not pass (WARNING, ERROR)."""
        return {c.severity for c in self.checks if c.severity != "INFO"}

    def verdict_notes(self) -> list[Note]:
        """One ``Upgrades.Message`` per non-passing check, with its severity."""
        return [
            Note(c.severity, Message(c.id, c.text)) for c in self.checks if c.severity != "INFO"
        ]


@dataclass(slots=True)
class Job:
    """An upgrade job and its cis task; its course is fixed at creation, bar a cancel."""

    task_id: str
    supervisor: str
    user: str
    target_version: str
    ignore_warnings: bool
    created_at: float
    prechecks: PrecheckRun
    upgrade_duration: float
    control_plane_nodes: int
    fail_at_percent: int
    planned: Outcome
    planned_end: float
    canceled_at: float | None = None
    preexisting: bool = False  # started before the simulator did, by someone else

    @property
    def upgrade_start(self) -> float:
        """When the upgrade proper begins (prechecks passed)."""
        return self.prechecks.done_at

    @property
    def end_time(self) -> float:
        """When the job ends (or ended)."""
        return self.canceled_at if self.canceled_at is not None else self.planned_end

    @property
    def outcome(self) -> Outcome:
        """How the job ends (or ended)."""
        return "canceled" if self.canceled_at is not None else self.planned

    def phase(self, now: float) -> Phase:
        """Where the job stands at simulated time ``now``."""
        if now >= self.end_time:
            return "ended"
        return "prechecks" if now < self.upgrade_start else "upgrading"

    def percent(self, now: float) -> int:
        """Upgrade progress in percent (0 during prechecks; final value once ended)."""
        if now >= self.end_time:
            return {"succeeded": 100, "failed": self.fail_at_percent}.get(self.outcome, 0)
        if now < self.upgrade_start or self.upgrade_duration <= 0:
            return 0
        return max(0, min(99, int((now - self.upgrade_start) * 100 / self.upgrade_duration)))

    def node_done_at(self, node: int) -> float:
        """When control-plane node ``node`` (1-based) finishes upgrading."""
        return self.upgrade_start + self.upgrade_duration * node / self.control_plane_nodes


@dataclass(slots=True)
class Supervisor:
    """One Supervisor's upgrade-relevant state; ``job`` is the unsettled running job."""

    spec: SupervisorSpec
    index: int
    current_version: str
    available_versions: list[str]
    last_upgraded_at: float | None = None
    failed: bool = False
    notes: list[Note] = field(default_factory=list)
    job: Job | None = None
    precheck_runs: dict[str, PrecheckRun] = field(default_factory=dict)
    last_run: PrecheckRun | None = None

    @classmethod
    def from_spec(cls, spec: SupervisorSpec, index: int) -> Supervisor:
        """The Supervisor a scenario describes, in ERROR if an earlier upgrade failed."""
        sup = cls(
            spec=spec,
            index=index,
            current_version=spec.current_version,
            available_versions=list(spec.available_versions),
        )
        if spec.start_state == "ERROR":
            sup.failed = True
            sup.notes = [Note("ERROR", earlier_failure_message(sup))]
        return sup

    @property
    def id(self) -> str:
        """The Supervisor id."""
        return self.spec.id

    def settle(self, now: float) -> None:
        """Apply the end of the running job if it has passed (lazy evaluation)."""
        job = self.job
        if job is not None and now >= job.end_time:
            self.job = None
            self._finish(job)

    def state(self, now: float) -> State:
        """``Upgrades.State`` at ``now``."""
        self.settle(now)
        if self.job is not None:
            return "INPROGRESS"
        return "ERROR" if self.failed else "READY"

    def run_prechecks(self, target: str, now: float) -> PrecheckRun:
        """Start a precheck run for ``target`` (results are read later)."""
        run = PrecheckRun(
            target_version=target,
            started_at=now,
            duration=self.spec.precheck_duration.total_seconds(),
            checks=(BASELINE_CHECK, *self.spec.prechecks),
        )
        self.precheck_runs[target] = run
        self.last_run = run
        return run

    def start_job(
        self, *, task_id: str, user: str, target: str, ignore_warnings: bool, now: float
    ) -> Job:
        """Accept an upgrade job: prechecks first, then the upgrade (caller checked rules)."""
        run = self.run_prechecks(target, now)
        duration = self.spec.upgrade_duration.total_seconds()
        severities = run.severities()
        planned: Outcome
        if "ERROR" in severities:
            planned, end = "precheck_error", run.done_at
        elif "WARNING" in severities and not ignore_warnings:
            planned, end = "precheck_warning", run.done_at
        elif self.spec.fail_at_percent:
            planned, end = "failed", run.done_at + duration * self.spec.fail_at_percent / 100
        else:
            planned, end = "succeeded", run.done_at + duration
        job = Job(
            task_id=task_id,
            supervisor=self.id,
            user=user,
            target_version=target,
            ignore_warnings=ignore_warnings,
            created_at=now,
            prechecks=run,
            upgrade_duration=duration,
            control_plane_nodes=self.spec.control_plane_nodes,
            fail_at_percent=self.spec.fail_at_percent,
            planned=planned,
            planned_end=end,
        )
        self.job = job
        self.notes = []
        return job

    def cancel_job(self, job: Job, now: float) -> None:
        """Cancel a job still in its precheck phase (caller checked the phase)."""
        job.canceled_at = now
        job.prechecks.stopped_at = now
        self.settle(now)

    def _finish(self, job: Job) -> None:
        target = job.target_version
        outcome = job.outcome
        if outcome == "succeeded":
            self.current_version = target
            self.available_versions = [
                v for v in self.available_versions if version_key(v) > version_key(target)
            ]
            self.last_upgraded_at = job.end_time
            self.failed = False
            self.notes = [
                Note(
                    "INFO",
                    Message(
                        "vcenter.wcp.upgrade.completed",
                        f"Supervisor {self.id} was upgraded to version {target}.",
                        (self.id, target),
                    ),
                )
            ]
        elif outcome == "failed":
            self.failed = True
            self.notes = [Note("ERROR", failure_message(job))]
        elif outcome == "canceled":
            self.notes = [Note("ERROR", cancel_message(job))]
        else:
            self.notes = [*job.prechecks.verdict_notes(), Note("ERROR", blocked_message(job))]


def blocked_message(job: Job) -> Message:
    """Why a job stopped at its precheck phase."""
    severities = job.prechecks.severities()
    cause = "errors" if "ERROR" in severities else "warnings (not ignored)"
    return Message(
        "vcenter.wcp.upgrade.precheck.blocked",
        f"Upgrade of Supervisor {job.supervisor} to {job.target_version} was blocked by "
        f"upgrade precheck {cause}.",
        (job.supervisor, job.target_version),
    )


def failure_message(job: Job) -> Message:
    """Why an upgrade failed after its prechecks passed."""
    node = max(
        1, min(job.control_plane_nodes, job.fail_at_percent * job.control_plane_nodes // 100 + 1)
    )
    return Message(
        "vcenter.wcp.upgrade.failed",
        f"Upgrade of Supervisor {job.supervisor} to {job.target_version} failed at "
        f"{job.fail_at_percent}%: control plane node {node} did not become ready.",
        (job.supervisor, job.target_version, str(job.fail_at_percent)),
    )


def earlier_failure_message(sup: Supervisor) -> Message:
    """Why a Supervisor starts in ERROR: an upgrade before the simulator started failed."""
    versions = sorted(sup.available_versions, key=version_key)
    target = versions[-1] if versions else sup.current_version
    return Message(
        "vcenter.wcp.upgrade.failed",
        f"Upgrade of Supervisor {sup.id} to {target} failed: control plane node 1 did not "
        "become ready.",
        (sup.id, target),
    )


def cancel_message(job: Job) -> Message:
    """A job canceled during its prechecks."""
    return Message(
        "vcenter.wcp.upgrade.canceled",
        f"Upgrade of Supervisor {job.supervisor} to {job.target_version} was canceled.",
        (job.supervisor, job.target_version),
    )
