"""Build the report (docs/report.md) from the journal, the run's source of truth.

Because the report is derived from the journal alone, it can be written after every wave,
at the end, after a signal, and again on resume, and always says what the journal says.
"""

from __future__ import annotations

from dataclasses import fields
from datetime import datetime
from fractions import Fraction
from pathlib import Path
from typing import Any, Literal, TypeVar, get_args

from pydantic import BaseModel

from fleetupgrade.decide.gates import Decision as GateDecision
from fleetupgrade.journal.records import SupervisorRecord
from fleetupgrade.journal.views import RunView
from fleetupgrade.outcomes import RunResult, WaveStatus
from fleetupgrade.report.model import (
    Decision,
    HistoryEntry,
    HistoryEvent,
    NotificationReport,
    PlanRef,
    Report,
    SupervisorReport,
    ThresholdRef,
    Verdict,
    WaveReport,
    compute_totals,
)

__all__ = ["build_report"]

M = TypeVar("M", bound=BaseModel)

_HISTORY = {
    "pause": "paused",
    "continue": "continued",
    "abort": "aborted",
    "approve": "approved",
    "reject": "rejected",
}
_KNOWN_EVENTS = frozenset(get_args(HistoryEvent))
_KNOWN_VERDICTS = frozenset(get_args(Verdict))


def _from_record(model: type[M], record: Any, **given: Any) -> M:
    """A report model built from a journal record, so no mapping lists their fields twice.

    The fields both name are copied as they are (nested records too, read by attribute);
    ``given`` supplies the ones whose meaning differs.
    """
    shared = _shared_fields(model, type(record))
    values = {name: getattr(record, name) for name in shared if name not in given}
    return model.model_validate({**values, **given}, from_attributes=True)


_SHARED: dict[tuple[type[BaseModel], type[Any]], tuple[str, ...]] = {}


def _shared_fields(model: type[BaseModel], record: type[Any]) -> tuple[str, ...]:
    """The fields a report model and a record dataclass both have, in the model's order."""
    shared = _SHARED.get((model, record))
    if shared is None:
        names = {f.name for f in fields(record)}
        shared = tuple(name for name in model.model_fields if name in names)
        _SHARED[(model, record)] = shared
    return shared


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
    return _from_record(
        SupervisorReport,
        row,
        id=row.id or row.ref_id,
        name=row.name or row.ref_name,
        health_wait_seconds=health_wait,
    )


def _decision(d: GateDecision) -> Decision:
    return _from_record(
        Decision,
        d,
        rule=d.rule
        if d.reason is None or d.verdict in ("halt", "continue")
        else f"{d.rule}: {d.reason}",
        limit=_number(d.limit),
        verdict=d.verdict if d.verdict in _KNOWN_VERDICTS else "continue",
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
            _from_record(
                WaveReport,
                record,
                status=record.status or WaveStatus.NOT_STARTED,
                threshold=_threshold(record.threshold_kind, record.threshold_limit),
                failure_threshold=_threshold(record.failure_kind, record.failure_limit),
                precheck_errors=counts.precheck_errors,
                upgrade_failures=counts.failures,
                supervisors=[_supervisor(r) for r in wave.supervisors],
            )
        )
    history = []
    for h in view.history:
        event = _HISTORY.get(h.event, h.event)
        if event in _KNOWN_EVENTS:
            history.append(_from_record(HistoryEntry, h, event=event))
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
        vcenters=list(view.vcenters),
        decisions=[_decision(d) for d in view.decisions],
        history=history,
        notifications=[
            _from_record(
                NotificationReport,
                n,
                status=_notification_status(n.status),
                attempts=max(1, n.attempts),
            )
            for n in view.notifications
        ],
    )
