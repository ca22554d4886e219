"""Presentation helpers shared by every renderer, so all formats say the same thing.

Everything here is pure and deterministic: a renderer's output depends on the report
alone, never on the clock, the locale or the terminal. Renderers escape what these
helpers return for their own markup.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from datetime import datetime, timedelta

from fleetupgrade.durations import format_duration
from fleetupgrade.outcomes import Outcome
from fleetupgrade.report.model import (
    PENDING,
    Culprit,
    Decision,
    Report,
    SupervisorReport,
    ThresholdRef,
    WaveReport,
)

# C0/C1 controls (but tab/newline/CR), lone surrogates and the two XML non-characters:
# text from vCenters may carry them, and they would corrupt a terminal or an XML file.
_CONTROL = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\ud800-\udfff\ufffe\uffff]")
_WHITESPACE_RUN = re.compile(r"\s+")
_TASK_KEEP = 12  # task ids up to this long are shown whole
_TASK_HEAD = 8
CULPRITS_SHOWN = 10
"""A halt box names at most this many culprits, then says how many more there are."""

SIMULATED_BANNER = "SIMULATED: every vCenter was the built-in simulator; nothing real was upgraded"

OUTCOME_COLOURS: dict[str, str] = {
    Outcome.UPGRADED: "#2e7d32",
    Outcome.ALREADY_CURRENT: "#81c784",
    Outcome.WOULD_UPGRADE: "#43a047",
    Outcome.PRECHECK_ERROR: "#c62828",
    Outcome.PRECHECK_WARNING: "#f9a825",
    Outcome.REJECTED: "#6a1b9a",
    Outcome.FAILED: "#e64a19",
    Outcome.TIMED_OUT: "#ff8f00",
    Outcome.UNHEALTHY: "#ad1457",
    Outcome.UNHEALTHY_BEFORE: "#f06292",
    Outcome.NOT_STARTED: "#9e9e9e",
    Outcome.DETACHED: "#1565c0",
    Outcome.UNREACHABLE: "#5d4037",
    Outcome.IN_PROGRESS: "#0288d1",
    PENDING: "#78909c",
}
"""One colour per outcome, shared by the HTML legend, badges and timeline bars."""


def clean(text: str) -> str:
    """Drop control characters that would corrupt a terminal, a table or an XML file."""
    return _CONTROL.sub("\N{REPLACEMENT CHARACTER}", text)


def one_line(text: str | None) -> str:
    """``clean`` and fold every whitespace run (newlines too) into one space."""
    if not text:
        return ""
    # Fast path for the common case (a 10,000-Supervisor report calls this ~10^5 times):
    # printable text has no control character, surrogate or non-space whitespace.
    if text.isprintable() and "  " not in text and text[0] != " " and text[-1] != " ":
        return text
    return _WHITESPACE_RUN.sub(" ", clean(text)).strip()


def outcome_key(outcome: Outcome | None) -> str:
    """The outcome as report.json spells it; ``pending`` while there is none."""
    return PENDING if outcome is None else str(outcome)


def short_task_id(task_id: str | None) -> str:
    """A task id short enough for a table: service suffix dropped, long ids cut to 8 + "…".

    ``52b0c5e4-1d2c-…:com.vmware…clusters`` becomes ``52b0c5e4…``; ``task-101`` stays.
    The full id stays in report.json, in the HTML tooltip and in the Supervisor details.
    """
    if not task_id:
        return ""
    base = one_line(task_id).split(":", 1)[0]
    return base if len(base) <= _TASK_KEEP else base[:_TASK_HEAD] + "\N{HORIZONTAL ELLIPSIS}"


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


def human_seconds(seconds: float | None) -> str:
    """A number of seconds as a plan would spell a duration; empty when unknown."""
    if seconds is None or seconds < 0:
        return ""
    return format_duration(timedelta(seconds=seconds))


def format_seconds(start: datetime | None, end: datetime | None) -> str:
    """Elapsed seconds with milliseconds, as JUnit's ``time`` wants; ``0.000`` when unknown."""
    if start is None or end is None or end < start:
        return "0.000"
    return f"{(end - start).total_seconds():.3f}"


def _limit(threshold: ThresholdRef) -> str:
    return f"{threshold.limit:g}" + ("%" if threshold.kind == "percent" else "")


def describe_threshold(threshold: ThresholdRef) -> str:
    """``halts above 2 precheck errors`` / ``halts above 10% precheck errors``."""
    return f"halts above {_limit(threshold)} precheck errors"


def describe_gates(wave: WaveReport) -> str:
    """Both gates of a wave in words (the failure gate only when it is recorded)."""
    text = describe_threshold(wave.threshold)
    if wave.failure_threshold is not None:
        text += f", above {_limit(wave.failure_threshold)} failures"
    return text


def describe_wave_times(wave: WaveReport) -> str:
    """``<start> to <end> (<took>)``, or ``not started`` for a wave that never began."""
    if wave.started_at is None:
        return "not started"
    took = human_span(wave.started_at, wave.finished_at)
    return f"{human_time(wave.started_at)} to {human_time(wave.finished_at, 'not yet')}" + (
        f" ({took})" if took else ""
    )


def describe_decision(decision: Decision) -> str:
    """Quote a decision: a gate's rule with every count it was made on, or a human answer."""
    when = f"(at {human_time(decision.at)})"
    if decision.verdict in ("halt", "continue"):
        return (
            f"rule {one_line(decision.rule)}: {decision.errors} precheck error(s), "
            f"{decision.failures} failure(s), wave size {decision.size}, "
            f"limit {decision.limit:g}, verdict {decision.verdict} {when}"
        )
    return f"rule {one_line(decision.rule)}: verdict {decision.verdict} {when}"


def describe_culprits(culprits: Sequence[Culprit], shown: int = CULPRITS_SHOWN) -> str:
    """``sv-a (id1, id2), sv-b (id3) and 4 more``: who tipped a gate, and with what."""
    parts = []
    for culprit in culprits[:shown]:
        ids = ", ".join(one_line(i) for i in culprit.ids)
        parts.append(one_line(culprit.supervisor) + (f" ({ids})" if ids else ""))
    more = len(culprits) - shown
    return ", ".join(parts) + (f" and {more} more" if more > 0 else "")


def halt_lines(report: Report, wave: WaveReport) -> list[str]:
    """Why a halted wave halted: the decision, who tipped it, a human's reason (plain text)."""
    decision = report.halting_decision(wave.name)
    if decision is None:
        return ["Decision: no decision was recorded."]
    lines = [f"Decision: {describe_decision(decision)}."]
    if decision.culprits:
        lines.append(f"Tipped by: {describe_culprits(decision.culprits)}.")
    if decision.verdict == "rejected":
        entry = next(
            (h for h in reversed(report.history) if h.event == "rejected" and h.wave == wave.name),
            None,
        )
        if entry is not None:
            by = f" by {one_line(entry.by)}" if entry.by else ""
            reason = f": {one_line(entry.reason)}" if entry.reason else ""
            lines.append(f"Rejected{by}{reason}.")
    return lines


HALT_LEAD = "No new upgrade was started in this wave and later waves did not start."


def stop_reason(report: Report) -> str | None:
    """Why the run stopped (``SIGTERM at …``), from its latest ``stopped`` entry."""
    if report.result is not None and str(report.result) != "stopped":
        return None
    entry = report.stop_entry()
    if entry is None:
        return None
    why = one_line(entry.reason) or "no reason recorded"
    by = f" by {one_line(entry.by)}" if entry.by else ""
    return f"{why}{by} (at {human_time(entry.at)})"


def run_result(report: Report) -> str:
    """``halted (exit code 3)``, or ``in progress`` for a partial report."""
    if report.result is None:
        return "in progress (partial report)"
    code = "" if report.exit_code is None else f" (exit code {report.exit_code})"
    return f"{report.result}{code}"


def simulated_text(report: Report) -> str | None:
    """The SIMULATED banner of a simulated run (with its scenario's sha256), else None."""
    if not report.simulated:
        return None
    if report.scenario_sha256:
        return f"{SIMULATED_BANNER} (scenario sha256 {one_line(report.scenario_sha256)})"
    return f"{SIMULATED_BANNER} (scenario derived from the plan)"


def metadata_rows(report: Report) -> list[tuple[str, str]]:
    """The block a change board reads: provenance, times, result; plain text values."""
    took = human_span(report.started_at, report.finished_at)
    if report.simulated:
        simulated = "yes" + (
            f", scenario sha256 {one_line(report.scenario_sha256)}"
            if report.scenario_sha256
            else ", scenario derived from the plan"
        )
    else:
        simulated = "no"
    rows = [
        ("Plan", f"{one_line(report.plan.name)} ({one_line(report.plan.path)})"),
        ("Plan sha256", one_line(report.plan.sha256)),
        ("Run id", one_line(report.run_id)),
        ("Mode", report.mode),
        ("Simulated", simulated),
        ("Tool version", one_line(report.tool_version) or "unknown"),
        ("Operator", one_line(report.operator) or "unknown"),
        ("Change ref", one_line(report.change_ref) or "none"),
        ("Started", human_time(report.started_at)),
        (
            "Finished",
            human_time(report.finished_at, "not yet") + (f" (took {took})" if took else ""),
        ),
        ("Result", str(report.result) if report.result else "in progress (partial report)"),
        ("Exit code", "-" if report.exit_code is None else str(report.exit_code)),
    ]
    why = stop_reason(report)
    if why is not None:
        rows.append(("Stopped", why))
    return rows


def totals_rows(report: Report) -> list[tuple[str, int]]:
    """``(outcome, count)`` rows in report order, then ``total``."""
    rows = list(report.totals.items())
    rows.append(("total", sum(report.totals.values())))
    return rows


def supervisor_details(
    report: Report,
) -> list[tuple[WaveReport, SupervisorReport, list[tuple[str, str]]]]:
    """The Supervisors with more to say than their table row, each with its wave and facts.

    The facts are ``(label, value)`` pairs; a Supervisor's messages follow them in every
    rendering of the details section.
    """
    return [(wave, sv, _facts(sv)) for wave, sv in report.supervisors() if _has_details(sv)]


def _facts(sv: SupervisorReport) -> list[tuple[str, str]]:
    """What a table leaves out for one Supervisor: full task id, id, times, health, nodes."""
    rows: list[tuple[str, str]] = []
    if sv.id and sv.name:
        rows.append(("id", one_line(sv.id)))
    if sv.task_id:
        rows.append(("task", one_line(sv.task_id)))
    if sv.started_at is not None or sv.finished_at is not None:
        took = human_span(sv.started_at, sv.finished_at)
        rows.append(
            (
                "time",
                f"{human_time(sv.started_at)} to {human_time(sv.finished_at, 'not yet')}"
                + (f" ({took})" if took else ""),
            )
        )
    if sv.health_wait_seconds is not None:
        rows.append(("healthy after", human_seconds(sv.health_wait_seconds)))
    if sv.control_plane_nodes is not None:
        rows.append(("control-plane nodes", str(sv.control_plane_nodes)))
    return rows


def _has_details(sv: SupervisorReport) -> bool:
    """Whether a Supervisor has anything for the details section beyond its table row."""
    return bool(
        sv.task_id
        or sv.messages
        or sv.health_wait_seconds is not None
        or sv.control_plane_nodes is not None
    )
