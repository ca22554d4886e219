"""Build the report (docs/report.md) from the journal, the run's source of truth.

Because the report is derived from the journal alone, it can be written after every wave,
at the end, after a signal, and again on resume, and always says what the journal says.
"""

from __future__ import annotations

from datetime import datetime
from fractions import Fraction
from pathlib import Path
from typing import Literal, get_args

from fleetupgrade.decide.gates import Decision as GateDecision
from fleetupgrade.journal.records import SupervisorRecord
from fleetupgrade.journal.views import RunView
from fleetupgrade.outcomes import RunResult, WaveStatus
from fleetupgrade.report.model import (
    Culprit,
    Decision,
    HistoryEntry,
    HistoryEvent,
    NotificationReport,
    PlanRef,
    Report,
    ReportMessage,
    SupervisorReport,
    ThresholdRef,
    VCenterReport,
    WaveReport,
    compute_totals,
)

__all__ = ["build_report"]

_HISTORY = {
    "pause": "paused",
    "continue": "continued",
    "abort": "aborted",
    "approve": "approved",
    "reject": "rejected",
}
_KNOWN_EVENTS = frozenset(get_args(HistoryEvent))


def _number(text: str) -> int | float:
    try:
        value = Fraction(text)
    except (ValueError, ZeroDivisionError):
        return 0
    return int(value) if value.denominator == 1 else float(value)


def _notification_status(status: str) -> Literal["delivered", "failed", "dropped"]:
    if status == "delivered":
        return "delivered"
    return "dropped" if status == "dropped" else "failed"


def _threshold(kind: str, limit: str) -> ThresholdRef:
    return ThresholdRef(kind="percent" if kind == "percent" else "count", limit=_number(limit))


def _supervisor(row: SupervisorRecord) -> SupervisorReport:
    health_wait = None
    if row.job_ended_at is not None and row.finished_at is not None:
        health_wait = round((row.finished_at - row.job_ended_at).total_seconds(), 3)
    return SupervisorReport(
        vcenter=row.vcenter,
        id=row.id or row.ref_id,
        name=row.name or row.ref_name,
        from_version=row.from_version,
        to_version=row.to_version,
        outcome=row.outcome,
        reason=row.reason,
        task_id=row.task_id,
        started_at=row.started_at,
        finished_at=row.finished_at,
        health_wait_seconds=health_wait,
        control_plane_nodes=row.control_plane_nodes,
        messages=[ReportMessage(severity=m.severity, id=m.id, text=m.text) for m in row.messages],
    )


def _decision(d: GateDecision) -> Decision:
    verdict = (
        d.verdict
        if d.verdict in ("halt", "continue", "rejected", "refused", "approved")
        else "continue"
    )
    return Decision(
        at=d.at,
        wave=d.wave,
        rule=d.rule
        if d.reason is None or d.verdict in ("halt", "continue")
        else f"{d.rule}: {d.reason}",
        errors=d.errors,
        failures=d.failures,
        size=d.size,
        limit=_number(d.limit),
        verdict=verdict,
        culprits=[Culprit(supervisor=c.supervisor, ids=list(c.ids)) for c in d.culprits],
    )


def build_report(
    view: RunView,
    *,
    plan_name: str,
    plan_path: Path,
    finished_at: datetime | None = None,
    result: RunResult | None = None,
    exit_code: int | None = None,
) -> Report:
    """The report as of now; final when ``result`` is given."""
    meta = view.meta
    waves = []
    for wave in view.waves:
        counts = wave.counts
        record = wave.record
        waves.append(
            WaveReport(
                name=record.name,
                status=record.status or WaveStatus.NOT_STARTED,
                threshold=_threshold(record.threshold_kind, record.threshold_limit),
                failure_threshold=_threshold(record.failure_kind, record.failure_limit),
                precheck_errors=counts.precheck_errors,
                upgrade_failures=counts.failures,
                started_at=record.started_at,
                finished_at=record.finished_at,
                supervisors=[_supervisor(r) for r in wave.supervisors],
            )
        )
    history = []
    for h in view.history:
        event = _HISTORY.get(h.event, h.event)
        if event in _KNOWN_EVENTS:
            history.append(HistoryEntry(at=h.at, event=event, by=h.by, reason=h.reason))
    return Report(
        run_id=meta["run_id"],
        plan=PlanRef(name=plan_name, path=str(plan_path), sha256=meta["plan_sha256"]),
        mode=meta.get("mode", "run"),
        simulated=bool(meta.get("simulated", False)),
        scenario_sha256=meta.get("scenario_sha256"),
        tool_version=meta.get("tool_version"),
        operator=meta.get("operator"),
        change_ref=meta.get("change_ref"),
        started_at=datetime.fromisoformat(meta["started_at"]),
        finished_at=finished_at,
        result=result,
        exit_code=exit_code,
        totals=compute_totals(waves),
        waves=waves,
        vcenters=[
            VCenterReport(
                name=v.name,
                url=v.url,
                requests=v.requests,
                retries=v.retries,
                errors=v.errors,
                paced_waits=v.paced_waits,
                breaker_opens=v.breaker_opens,
            )
            for v in view.vcenters
        ],
        decisions=[_decision(d) for d in view.decisions],
        history=history,
        notifications=[
            NotificationReport(
                at=n.at,
                target=n.target,
                event=n.event,
                status=_notification_status(n.status),
                attempts=max(1, n.attempts),
            )
            for n in view.notifications
        ],
    )
