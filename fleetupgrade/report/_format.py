"""Presentation helpers shared by every renderer, so all formats say the same thing.

Everything here is pure and deterministic: a renderer's output depends on the report
alone, never on the clock, the locale or the terminal.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from fleetupgrade.durations import format_duration
from fleetupgrade.outcomes import Outcome
from fleetupgrade.report.model import PENDING, Decision, Report, ThresholdRef

# C0/C1 controls (but tab/newline/CR), lone surrogates and the two XML non-characters:
# text from vCenters may carry them, and they would corrupt a terminal or an XML file.
_CONTROL = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\ud800-\udfff\ufffe\uffff]")
_WHITESPACE_RUN = re.compile(r"\s+")
_SEVERITY_RANK = {"ERROR": 0, "WARNING": 1, "INFO": 2}

OUTCOME_TITLES: dict[str, str] = {
    Outcome.UPGRADED: "upgraded",
    Outcome.ALREADY_CURRENT: "already current",
    Outcome.PRECHECK_ERROR: "precheck error",
    Outcome.PRECHECK_WARNING: "precheck warning",
    Outcome.REJECTED: "rejected",
    Outcome.FAILED: "failed",
    Outcome.TIMED_OUT: "timed out",
    Outcome.NOT_STARTED: "not started",
    Outcome.DETACHED: "detached",
    Outcome.UNREACHABLE: "unreachable",
    Outcome.WOULD_UPGRADE: "would upgrade",
    Outcome.IN_PROGRESS: "in progress",
    PENDING: "pending",
}


def clean(text: str) -> str:
    """Drop control characters that would corrupt a terminal, a table or an XML file."""
    return _CONTROL.sub("\N{REPLACEMENT CHARACTER}", text)


def one_line(text: str | None) -> str:
    """``clean`` and fold every whitespace run (newlines too) into one space."""
    return _WHITESPACE_RUN.sub(" ", clean(text or "")).strip()


def outcome_key(outcome: Outcome | None) -> str:
    """The outcome as report.json spells it; ``pending`` while there is none."""
    return PENDING if outcome is None else str(outcome)


def human_time(value: datetime | None, placeholder: str = "-") -> str:
    """A UTC instant for people: ``2026-12-05 22:00:03Z`` (seconds are enough to read)."""
    if value is None:
        return placeholder
    return value.strftime("%Y-%m-%d %H:%M:%SZ")


def human_span(start: datetime | None, end: datetime | None) -> str:
    """How long something took, as a plan would spell it; empty when unknown."""
    if start is None or end is None or end < start:
        return ""
    return format_duration(end - start)


def format_seconds(start: datetime | None, end: datetime | None) -> str:
    """Elapsed seconds with milliseconds, as JUnit's ``time`` wants; ``0.000`` when unknown."""
    if start is None or end is None or end < start:
        return "0.000"
    return f"{(end - start).total_seconds():.3f}"


def describe_threshold(threshold: ThresholdRef) -> str:
    """``halts above 2 errors`` / ``halts above 10% errors``."""
    unit = "%" if threshold.kind == "percent" else ""
    return f"halts above {threshold.limit:g}{unit} precheck errors"


def describe_decision(decision: Decision) -> str:
    """Quote a threshold decision with its rule and every count it was made on."""
    return (
        f"rule {one_line(decision.rule)}: {decision.errors} precheck error(s), "
        f"{decision.failures} upgrade failure(s), wave size {decision.size}, "
        f"limit {decision.limit:g}, verdict {decision.verdict} "
        f"(at {human_time(decision.at)})"
    )


def totals_rows(report: Report) -> list[tuple[str, int]]:
    """``(outcome, count)`` rows in report order, then ``total``."""
    rows = list(report.totals.items())
    rows.append(("total", sum(report.totals.values())))
    return rows


def run_result(report: Report) -> str:
    """``halted (exit code 3)``, or ``in progress`` for a partial report."""
    if report.result is None:
        return "in progress (partial report)"
    code = "" if report.exit_code is None else f" (exit code {report.exit_code})"
    return f"{report.result}{code}"


@dataclass(frozen=True, slots=True)
class MessageHit:
    """One Supervisor a precheck message was reported for."""

    wave: str
    vcenter: str
    supervisor: str
    text: str


@dataclass(frozen=True, slots=True)
class MessageGroup:
    """Every Supervisor one precheck id hit, so a reader sees each problem once."""

    id: str
    severity: str
    hits: tuple[MessageHit, ...]


def group_messages(report: Report) -> list[MessageGroup]:
    """Messages grouped by precheck id: errors first, then warnings, then by id."""
    groups: dict[tuple[str, str], list[MessageHit]] = {}
    for wave, sv in report.supervisors():
        for message in sv.messages:
            key = (message.severity.upper(), message.id)
            groups.setdefault(key, []).append(
                MessageHit(wave.name, sv.vcenter, sv.label, message.text)
            )
    ordered = sorted(groups, key=lambda k: (_SEVERITY_RANK.get(k[0], 9), k[0], k[1]))
    return [
        MessageGroup(id=mid, severity=sev, hits=tuple(groups[sev, mid])) for sev, mid in ordered
    ]


def text_table(
    headers: Sequence[str], rows: Sequence[Sequence[str]], indent: str = ""
) -> list[str]:
    """Left-aligned plain-text columns, two spaces apart, no trailing blanks."""
    widths = [len(h) for h in headers]
    for row in rows:
        widths = [max(w, len(cell)) for w, cell in zip(widths, row, strict=True)]

    def line(cells: Sequence[str]) -> str:
        return (indent + "  ".join(c.ljust(w) for c, w in zip(cells, widths, strict=True))).rstrip()

    return [line(headers), line(["-" * w for w in widths]), *(line(r) for r in rows)]


OUTCOME_COLOURS: dict[str, str] = {
    Outcome.UPGRADED: "#2e7d32",
    Outcome.ALREADY_CURRENT: "#81c784",
    Outcome.WOULD_UPGRADE: "#43a047",
    Outcome.PRECHECK_ERROR: "#c62828",
    Outcome.PRECHECK_WARNING: "#f9a825",
    Outcome.REJECTED: "#6a1b9a",
    Outcome.FAILED: "#e64a19",
    Outcome.TIMED_OUT: "#ff8f00",
    Outcome.NOT_STARTED: "#9e9e9e",
    Outcome.DETACHED: "#1565c0",
    Outcome.UNREACHABLE: "#5d4037",
    Outcome.IN_PROGRESS: "#0288d1",
    PENDING: "#78909c",
}
"""One colour per outcome, shared by the HTML legend, badges and timeline bars."""
