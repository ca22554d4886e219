"""JSON views of Supervisors and tasks, exactly as docs/wire.md describes them.

Each function renders one wire structure from the state machine at a simulated instant;
optional fields are omitted while unset, and only the enum values the contract lists are
ever produced.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from fleetupgrade.sim.clock import VCenterClock, format_datetime
from fleetupgrade.sim.machine import (
    Job,
    PrecheckRun,
    Supervisor,
    blocked_message,
    cancel_message,
    failure_message,
)
from fleetupgrade.sim.scenario import Precheck
from fleetupgrade.sim.wire import (
    JSON,
    ConditionStatus,
    Message,
    Note,
    camel_case,
    condition,
    error_body,
)

_RELEASE_EPOCH = datetime(2026, 1, 15, tzinfo=UTC)
SERVICE_ID = "com.vmware.vcenter.namespace_management.software.supervisors.upgrades.jobs"
SUPERVISOR_TYPE = "com.vmware.vcenter.namespace_management.supervisor.Supervisor"
_PRECHECKS_RUNNING = Message("vcenter.wcp.upgrade.progress.prechecks", "Running upgrade prechecks")
_UPGRADING = Message("vcenter.wcp.upgrade.progress.upgrading", "Upgrading control plane nodes")


def upgrades_summary(sup: Supervisor, now: float, clock: VCenterClock) -> JSON:
    """``Upgrades.Summary``."""
    state = sup.state(now)
    out: JSON = {
        "supervisor": sup.id,
        "current_version": sup.current_version,
        "available_versions": list(sup.available_versions),
    }
    if sup.last_upgraded_at is not None:
        out["last_upgraded_date"] = clock.iso(sup.last_upgraded_at)
    if sup.job is not None:
        out["desired_version"] = sup.job.target_version
    out["state"] = state
    return out


def upgrades_info(
    sup: Supervisor, now: float, clock: VCenterClock, *, omit_prechecks: bool = False
) -> JSON:
    """``Upgrades.Info``: ``upgrade_status`` exactly while an upgrade is in progress.

    ``omit_prechecks`` (the ``omit_upgrade_prechecks`` fault) leaves ``upgrade_prechecks``
    out, as a vCenter may: the verdicts then show only as message severities.
    """
    state = sup.state(now)
    out: JSON = {
        "current_version": sup.current_version,
        "available_versions": list(sup.available_versions),
    }
    if sup.last_upgraded_at is not None:
        out["last_upgraded_date"] = clock.iso(sup.last_upgraded_at)
    out["messages"] = [note.to_json() for note in sup.notes]
    out["state"] = state
    if sup.job is not None:
        out["upgrade_status"] = upgrade_status(sup.job, now, clock)
    if sup.last_run is not None and not omit_prechecks:
        out["upgrade_prechecks"] = precheck_conditions(sup.last_run, now, clock)
    return out


def upgrade_status(job: Job, now: float, clock: VCenterClock) -> JSON:
    """``Upgrades.Status`` of a running job: no ``components`` until prechecks are done."""
    if job.phase(now) == "prechecks":
        return {
            "desired_version": job.target_version,
            "messages": [],
            "progress": {
                "total": job.control_plane_nodes,
                "completed": 0,
                "message": _PRECHECKS_RUNNING.to_json(),
            },
        }
    notes = [
        *job.prechecks.verdict_notes(),
        Note(
            "INFO",
            Message(
                "vcenter.wcp.upgrade.precheck.completed",
                f"Upgrade prechecks for version {job.target_version} completed.",
                (job.target_version,),
            ),
        ),
    ]
    return {
        "desired_version": job.target_version,
        "messages": [note.to_json() for note in notes],
        "progress": {
            "total": job.control_plane_nodes,
            "completed": job.percent(now),
            "message": _UPGRADING.to_json(),
        },
        "components": node_conditions(job, now, clock),
    }


def node_conditions(job: Job, now: float, clock: VCenterClock) -> list[JSON]:
    """One ``ControlPlaneNodeUpgraded`` condition per control-plane node."""
    out = []
    previous_done = job.upgrade_start
    for node in range(1, job.control_plane_nodes + 1):
        done_at = job.node_done_at(node)
        description = Message(
            "vcenter.wcp.upgrade.component.node",
            f"Control plane node {node} upgraded",
            (str(node),),
        )
        status: ConditionStatus
        since: float | None
        if now >= done_at:
            status, reason, since = "TRUE", "Upgraded", done_at
        elif now >= previous_done:
            status, reason, since = "FALSE", "Upgrading", previous_done
        else:
            status, reason, since = "FALSE", "Pending", None
        out.append(
            condition(
                type_="ControlPlaneNodeUpgraded",
                description=description,
                status=status,
                severity="INFO",
                reason=reason,
                last_transition_time=None if since is None else clock.iso(since),
            )
        )
        previous_done = done_at
    return out


def precheck_conditions(run: PrecheckRun, now: float, clock: VCenterClock) -> list[JSON]:
    """The conditions of a precheck run: UNKNOWN/INFO while running, final once done."""
    return [_check_condition(check, run, now, clock) for check in run.checks]


def _check_condition(check: Precheck, run: PrecheckRun, now: float, clock: VCenterClock) -> JSON:
    type_ = camel_case(check.id)
    description = Message(check.id, f"Upgrade precheck {check.id}", (check.id,))
    if not run.finished(now):
        running = run.stopped_at is None
        return condition(
            type_=type_,
            description=description,
            status="UNKNOWN",
            severity="INFO",
            reason="Running" if running else "Canceled",
            last_transition_time=clock.iso(run.started_at) if running else None,
        )
    passed = check.severity == "INFO"
    return condition(
        type_=type_,
        description=description,
        status="TRUE" if passed else "FALSE",
        severity=check.severity,
        reason="" if passed else f"{type_}{'Failed' if check.severity == 'ERROR' else 'Warning'}",
        last_transition_time=clock.iso(run.done_at),
        messages=[(check.severity, Message(check.id, check.text))],
    )


def precheck_result(run: PrecheckRun, now: float, clock: VCenterClock) -> JSON:
    """``PrecheckResult`` with its ConditionGroup status."""
    if run.finished(now):
        severities = run.severities()
        status = "ERROR" if "ERROR" in severities else "WARNING" if severities else "SUCCEEDED"
    else:
        status = "RUNNING" if run.stopped_at is None else "UNKNOWN"
    return {
        "target_version": run.target_version,
        "status": status,
        "conditions": precheck_conditions(run, now, clock),
    }


_ENDED = {
    "succeeded": Message("vcenter.wcp.upgrade.progress.completed", "Upgrade completed"),
    "failed": Message("vcenter.wcp.upgrade.progress.failed", "Upgrade failed"),
    "precheck_error": Message(
        "vcenter.wcp.upgrade.progress.blocked", "Blocked by upgrade prechecks"
    ),
    "precheck_warning": Message(
        "vcenter.wcp.upgrade.progress.blocked", "Blocked by upgrade prechecks"
    ),
    "canceled": Message("vcenter.wcp.upgrade.progress.canceled", "Upgrade canceled"),
}


def _task_progress_message(job: Job, phase: str) -> Message:
    if phase == "prechecks":
        return _PRECHECKS_RUNNING
    return _UPGRADING if phase == "upgrading" else _ENDED[job.outcome]


def task_status(job: Job, now: float) -> str:
    """The cis task ``status`` of a job at ``now``."""
    if job.phase(now) != "ended":
        return "RUNNING"
    return "SUCCEEDED" if job.outcome == "succeeded" else "FAILED"


def task_info(job: Job, now: float, clock: VCenterClock) -> JSON:
    """The cis ``Tasks.Info``, obeying the union rule on ``status``."""
    phase = job.phase(now)
    status = task_status(job, now)
    out: JSON = {
        "description": Message(
            "com.vmware.vcenter.namespace_management.software.supervisors.upgrades.jobs.create",
            f"Upgrade Supervisor {job.supervisor} to version {job.target_version}",
            (job.supervisor, job.target_version),
        ).to_json(),
        "service": SERVICE_ID,
        "operation": "create",
        "target": {"type": SUPERVISOR_TYPE, "id": job.supervisor},
        "status": status,
        "cancelable": phase == "prechecks",
        "user": job.user,
        "start_time": clock.iso(job.created_at),
        "progress": {
            "total": 100,
            "completed": job.percent(now),
            "message": _task_progress_message(job, phase).to_json(),
        },
    }
    if phase == "ended":
        out["end_time"] = clock.iso(job.end_time)
    if status == "FAILED":
        out["error"] = task_error(job)
    return out


def task_error(job: Job) -> JSON:
    """The ``error`` of a FAILED task: CANCELED for a cancel, ERROR otherwise."""
    if job.outcome == "canceled":
        return error_body("CANCELED", [cancel_message(job)])
    if job.outcome == "failed":
        return error_body("ERROR", [failure_message(job)])
    return error_body("ERROR", [blocked_message(job)])


def version_info(version: str, position: int) -> JSON:
    """``Versions.Info``; release dates are fixed, 30 days apart in catalog order."""
    released = _RELEASE_EPOCH + timedelta(days=30 * position)
    return {
        "version": version,
        "name": f"Supervisor {version}",
        "description": f"Supervisor software version {version}.",
        "release_date": format_datetime(released),
        "release_notes": f"Release notes of Supervisor {version}.",
        "image_source_specs": [{"source_type": "EMBEDDED"}],
    }
