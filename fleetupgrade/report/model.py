"""The report of one run, exactly as ``report.json`` spells it (docs/report.md).

These models are the contract with scripts and change boards, so they are strict: frozen,
unknown keys rejected, every time an aware UTC instant. Times are kept to whole
milliseconds on the way in, so a report reloaded from ``report.json`` is equal to the one
that was written and re-renders to the same bytes.

The engine builds a :class:`Report` after every wave and at the end; ``outcome=None`` on a
Supervisor means it is still pending or in flight (a partial report).

Schema version 2 added, all with defaults so a version 1 file still loads: the run's
provenance (``simulated``, ``scenario_sha256``, ``tool_version``, ``operator``,
``change_ref``), each wave's ``failure_threshold``, each Supervisor's
``health_wait_seconds`` and ``control_plane_nodes``, the ``culprits`` of a decision and
its human/admission verdicts, per-vCenter pacing and breaker counters, and the
``history`` and ``notifications`` logs.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Iterable
from datetime import UTC, datetime
from typing import Annotated, Any, Literal

from pydantic import AfterValidator, AwareDatetime, BaseModel, ConfigDict, PlainSerializer
from pydantic.dataclasses import dataclass
from pydantic.json_schema import WithJsonSchema

from fleetupgrade.outcomes import Outcome, RunResult, WaveStatus
from fleetupgrade.timefmt import format_instant

SCHEMA_VERSION = 2
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
    """A wave gate's limit: an absolute count or a percentage of the wave."""

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
    health_wait_seconds: float | None = None
    """From the end of the upgrade job to a healthy Supervisor; None when not measured."""
    control_plane_nodes: int | None = None
    messages: list[ReportMessage] = []

    @property
    def label(self) -> str:
        """How people call this Supervisor: its name, else its id."""
        return self.name or self.id or "?"


class WaveReport(_Model):
    """One wave: its gates, the counts it was judged on, and its Supervisors.

    ``threshold`` is the precheck gate, ``failure_threshold`` the failure gate (None in
    reports written before it existed).
    """

    name: str
    status: WaveStatus
    threshold: ThresholdRef
    failure_threshold: ThresholdRef | None = None
    precheck_errors: int = 0
    upgrade_failures: int = 0
    started_at: Instant | None = None
    finished_at: Instant | None = None
    supervisors: list[SupervisorReport] = []


# The journal keeps these counters in this very model (cumulative over resumes), so it is
# a dataclass: the engine builds it positionally from a client's counters.
@dataclass(frozen=True, slots=True, config=ConfigDict(extra="forbid"))
class VCenterReport:
    """Traffic with one vCenter over the run.

    ``paced_waits`` counts requests that waited for the per-vCenter rate limit,
    ``breaker_opens`` how often its circuit breaker opened.
    """

    name: str
    url: str
    requests: int = 0
    retries: int = 0
    errors: int = 0
    paced_waits: int = 0
    breaker_opens: int = 0


class Culprit(_Model):
    """One Supervisor that tipped a gate, and the precheck ids (or outcome) that did it."""

    supervisor: str
    ids: list[str] = []


Verdict = Literal["continue", "halt", "rejected", "refused", "approved"]
"""``halt``/``continue``: a gate evaluation; ``rejected``/``approved``: a human's answer
to an approval gate; ``refused``: window-fit admission did not launch a Supervisor."""

HALTING_VERDICTS = frozenset({"halt", "rejected"})
"""Verdicts that halt their wave."""


class Decision(_Model):
    """One decision: a gate evaluation (rule, counts, limit, verdict) or a human's answer."""

    at: Instant
    wave: str
    rule: str
    errors: int = 0
    failures: int = 0
    size: int = 0
    limit: int | float = 0
    verdict: Verdict
    culprits: list[Culprit] = []


HistoryEvent = Literal[
    "started",
    "resumed",
    "interrupted",
    "stopped",
    "finished",
    "approved",
    "rejected",
    "paused",
    "continued",
    "aborted",
]
"""What happened to the run as a whole (see docs/report.md, history)."""


class HistoryEntry(_Model):
    """One step in the life of the run: who did it, to which wave, and why.

    A ``stopped`` entry's ``reason`` says why (``SIGTERM``, ``window end …``, ``aborted:
    …``); ``interrupted`` marks a run found dead without a stop record when resumed.
    """

    at: Instant
    event: HistoryEvent
    wave: str | None = None
    by: str | None = None
    reason: str | None = None


class NotificationReport(_Model):
    """One notification sent (or given up on); ``target`` is already masked."""

    at: Instant
    target: str
    event: str
    status: Literal["delivered", "failed", "dropped"]
    attempts: int = 1


class Report(_Model):
    """The whole report of one run (or dry run), partial until ``finished_at`` is set."""

    schema_version: int = SCHEMA_VERSION
    run_id: str
    plan: PlanRef
    mode: Literal["run", "dry-run"]
    simulated: bool = False
    scenario_sha256: str | None = None
    tool_version: str | None = None
    operator: str | None = None
    """Who ran it, as ``user@host``."""
    change_ref: str | None = None
    started_at: Instant
    finished_at: Instant | None = None
    result: RunResult | None = None
    exit_code: int | None = None
    totals: dict[str, int]
    waves: list[WaveReport] = []
    vcenters: list[VCenterReport] = []
    decisions: list[Decision] = []
    history: list[HistoryEntry] = []
    notifications: list[NotificationReport] = []

    def supervisors(self) -> Iterable[tuple[WaveReport, SupervisorReport]]:
        """Every Supervisor of the run with its wave, in plan order."""
        for wave in self.waves:
            for supervisor in wave.supervisors:
                yield wave, supervisor

    def halting_decision(self, wave: str) -> Decision | None:
        """The decision that halted ``wave`` (a gate's halt or a human reject), if one did."""
        return next(
            (d for d in self.decisions if d.wave == wave and d.verdict in HALTING_VERDICTS),
            None,
        )

    def stop_entry(self) -> HistoryEntry | None:
        """The ``stopped`` entry that ended the run (it says why); None once resumed."""
        for entry in reversed(self.history):
            if entry.event == "stopped":
                return entry
            if entry.event in ("started", "resumed"):
                return None
        return None


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
