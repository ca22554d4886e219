"""The report of one run, exactly as ``report.json`` spells it (DESIGN §6).

These models are the contract with scripts and change boards, so they are strict: frozen,
unknown keys rejected, every time an aware UTC instant. Times are kept to whole
milliseconds on the way in, so a report reloaded from ``report.json`` is equal to the one
that was written and re-renders to the same bytes.

The engine builds a :class:`Report` after every wave and at the end; ``outcome=None`` on a
Supervisor means it is still pending or in flight (a partial report).
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Iterable
from datetime import UTC, datetime
from typing import Annotated, Any, Literal

from pydantic import AfterValidator, AwareDatetime, BaseModel, ConfigDict, PlainSerializer
from pydantic.json_schema import WithJsonSchema

from fleetupgrade.outcomes import Outcome, RunResult, WaveStatus
from fleetupgrade.timefmt import format_instant

SCHEMA_VERSION = 1
PENDING = "pending"
"""The totals key for Supervisors without an outcome yet (partial reports only)."""


def _to_utc_millis(value: datetime) -> datetime:
    """Normalise to UTC and whole milliseconds, the precision report.json keeps."""
    value = value.astimezone(UTC)
    return value.replace(microsecond=value.microsecond // 1000 * 1000)


Instant = Annotated[
    AwareDatetime,
    AfterValidator(_to_utc_millis),
    PlainSerializer(format_instant, return_type=str),
    WithJsonSchema({"type": "string", "format": "date-time"}),
]
"""An aware datetime, stored in UTC to the millisecond, written as ``YYYY-MM-DDTHH:MM:SS.mmmZ``."""


class _Model(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class PlanRef(_Model):
    """Which plan the run executed; ``sha256`` is of the exact bytes that ran."""

    name: str
    path: str
    sha256: str


class ThresholdRef(_Model):
    """A wave's precheck threshold: an absolute count or a percentage of the wave."""

    kind: Literal["count", "percent"]
    limit: int | float


class ReportMessage(_Model):
    """One precheck (or vCenter) message about a Supervisor."""

    severity: str
    id: str
    text: str


class SupervisorReport(_Model):
    """One Supervisor's part in the run; ``outcome`` is None while it is still pending."""

    vcenter: str
    id: str | None = None
    name: str | None = None
    from_version: str | None = None
    to_version: str | None = None
    outcome: Outcome | None = None
    reason: str | None = None
    task_id: str | None = None
    started_at: Instant | None = None
    finished_at: Instant | None = None
    messages: list[ReportMessage] = []

    @property
    def label(self) -> str:
        """How people call this Supervisor: its name, else its id."""
        return self.name or self.id or "?"


class WaveReport(_Model):
    """One wave: its threshold, the counts it was judged on, and its Supervisors."""

    name: str
    status: WaveStatus
    threshold: ThresholdRef
    precheck_errors: int = 0
    upgrade_failures: int = 0
    started_at: Instant | None = None
    finished_at: Instant | None = None
    supervisors: list[SupervisorReport] = []


class VCenterReport(_Model):
    """Traffic with one vCenter over the run (requests sent, retries, errors)."""

    name: str
    url: str
    requests: int = 0
    retries: int = 0
    errors: int = 0


class Decision(_Model):
    """One threshold evaluation: the counts, the rule applied and what it decided."""

    at: Instant
    wave: str
    rule: str
    errors: int
    failures: int
    size: int
    limit: int | float
    verdict: Literal["continue", "halt"]


class Report(_Model):
    """The whole report of one run (or dry run), partial until ``finished_at`` is set."""

    schema_version: int = SCHEMA_VERSION
    run_id: str
    plan: PlanRef
    mode: Literal["run", "dry-run"]
    started_at: Instant
    finished_at: Instant | None = None
    result: RunResult | None = None
    exit_code: int | None = None
    totals: dict[str, int]
    waves: list[WaveReport] = []
    vcenters: list[VCenterReport] = []
    decisions: list[Decision] = []

    def supervisors(self) -> Iterable[tuple[WaveReport, SupervisorReport]]:
        """Every Supervisor of the run with its wave, in plan order."""
        for wave in self.waves:
            for supervisor in wave.supervisors:
                yield wave, supervisor

    def halting_decision(self, wave: str) -> Decision | None:
        """The decision that halted ``wave``, if one did."""
        return next(
            (d for d in self.decisions if d.wave == wave and d.verdict == "halt"),
            None,
        )


def compute_totals(waves: Iterable[WaveReport]) -> dict[str, int]:
    """Count Supervisors per outcome, for ``Report.totals``.

    Only outcomes that occur are listed, in the order of :class:`Outcome` (so the JSON is
    stable); Supervisors without an outcome yet are counted under ``"pending"``, last.
    """
    counts: Counter[str] = Counter(
        str(sv.outcome) if sv.outcome is not None else PENDING
        for wave in waves
        for sv in wave.supervisors
    )
    order = [str(outcome) for outcome in Outcome] + [PENDING]
    return {key: counts[key] for key in order if counts[key]}


def render_json(report: Report) -> str:
    """``report.json`` text: two-space indented, keys in contract order, final newline."""
    return report.model_dump_json(indent=2) + "\n"


def report_json_schema() -> dict[str, Any]:
    """JSON Schema of report.json (what ``docs/report.schema.json`` holds)."""
    schema = Report.model_json_schema(mode="serialization")
    schema["$schema"] = "https://json-schema.org/draft/2020-12/schema"
    schema["title"] = "fleetupgrade report.json"
    return schema


def report_json_schema_text() -> str:
    """The schema as the text committed at ``docs/report.schema.json``."""
    return json.dumps(report_json_schema(), indent=2, sort_keys=True) + "\n"
