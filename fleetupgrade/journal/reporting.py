"""Build the report (DESIGN §6) from the journal, which is the run's source of truth.

Because the report is derived from the journal alone, it can be written after every wave,
at the end, after a signal, and again on resume, and always says the same thing the
journal does.
"""

from __future__ import annotations

from datetime import datetime
from fractions import Fraction
from pathlib import Path

from fleetupgrade.journal.store import Journal, SupervisorRecord
from fleetupgrade.outcomes import RunResult, WaveStatus
from fleetupgrade.report.model import (
    Decision,
    PlanRef,
    Report,
    ReportMessage,
    SupervisorReport,
    ThresholdRef,
    VCenterReport,
    WaveReport,
    compute_totals,
)


def _number(text: str) -> int | float:
    value = Fraction(text)
    return int(value) if value.denominator == 1 else float(value)


def _supervisor(row: SupervisorRecord) -> SupervisorReport:
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
        messages=[ReportMessage(severity=m.severity, id=m.id, text=m.text) for m in row.messages],
    )


def build_report(
    journal: Journal,
    *,
    plan_name: str,
    plan_path: Path,
    finished_at: datetime | None = None,
    result: RunResult | None = None,
    exit_code: int | None = None,
) -> Report:
    """The report as of now; final when ``result`` is given."""
    meta = journal.meta()
    rows = journal.supervisors()
    waves = []
    for wave in journal.waves():
        supervisors = [_supervisor(r) for r in rows if r.wave == wave.name]
        waves.append(
            WaveReport(
                name=wave.name,
                status=wave.status or WaveStatus.NOT_STARTED,
                threshold=ThresholdRef(
                    kind="percent" if wave.threshold_kind == "percent" else "count",
                    limit=_number(wave.threshold_limit),
                ),
                precheck_errors=wave.precheck_errors,
                upgrade_failures=wave.upgrade_failures,
                started_at=wave.started_at,
                finished_at=wave.finished_at,
                supervisors=supervisors,
            )
        )
    return Report(
        run_id=meta["run_id"],
        plan=PlanRef(name=plan_name, path=str(plan_path), sha256=meta["plan_sha256"]),
        mode=meta.get("mode", "run"),
        started_at=datetime.fromisoformat(meta["started_at"]),
        finished_at=finished_at,
        result=result,
        exit_code=exit_code,
        totals=compute_totals(waves),
        waves=waves,
        vcenters=[
            VCenterReport(
                name=v.name, url=v.url, requests=v.requests, retries=v.retries, errors=v.errors
            )
            for v in journal.vcenters()
        ],
        decisions=[
            Decision(
                at=d.at,
                wave=d.wave,
                rule=d.rule,
                errors=d.errors,
                failures=d.failures,
                size=d.size,
                limit=_number(d.limit),
                verdict="halt" if d.verdict == "halt" else "continue",
            )
            for d in journal.decisions()
        ],
    )
