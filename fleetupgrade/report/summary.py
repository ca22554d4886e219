"""The few lines printed on stdout when a run ends.

An operator (or a scheduler's mail) reads this first: how the run ended and with which
exit code, the counts, which wave halted and on what decision, and where the full report
is. Everything else lives in the report files.

A dry run speaks in the conditional: per wave, the arithmetic of both gates ("precheck
gate: halts at the 2nd ERROR of 18"), whether the wave *would* halt and why, and whether
it is predicted to fit the maintenance window. It never says a wave "halted".
"""

from __future__ import annotations

from fractions import Fraction
from pathlib import Path

from fleetupgrade.decide.admission import FIT_RULE
from fleetupgrade.outcomes import WaveStatus
from fleetupgrade.plan.threshold import Threshold
from fleetupgrade.report._format import (
    describe_culprits,
    describe_decision,
    human_span,
    one_line,
    run_result,
    simulated_text,
    stop_reason,
)
from fleetupgrade.report.model import Report, ThresholdRef, WaveReport

_FILES = ("report.html", "report.md", "report.json", "junit.xml")


_WOULD = {
    "halted": "would halt",
    "succeeded": "would succeed",
    "completed_with_failures": "would complete with failures",
}


def _threshold(ref: ThresholdRef, gate: str) -> Threshold:
    """The report's limit as the exact rule (``24.9`` read back as 249/10, not a float)."""
    limit: int | Fraction = (
        int(ref.limit) if ref.kind == "count" else Fraction(repr(float(ref.limit)))
    )
    return Threshold(ref.kind, limit, "precheck" if gate == "precheck" else "failure")


def _halt(report: Report, wave: WaveReport, lead: str) -> list[str]:
    """Why a halted wave halted (``lead: why``), and which Supervisors tipped the gate."""
    decision = report.halting_decision(wave.name)
    why = describe_decision(decision) if decision else "no decision was recorded"
    lines = [f"{lead}: {why}"]
    if decision is not None and decision.culprits:
        lines.append(f"  tipped by {describe_culprits(decision.culprits)}")
    return lines


def _dry_run_wave(report: Report, wave: WaveReport) -> list[str]:
    """One dry-run wave: its gates' arithmetic, whether it would halt, whether it fits."""
    size = len(wave.supervisors)
    gates = f"precheck gate: {_threshold(wave.threshold, 'precheck').halts_at(size)}"
    if wave.failure_threshold is not None:
        failure = _threshold(wave.failure_threshold, "failure")
        gates += f"; failure gate: {failure.halts_at(size)}"
    lines = [f"Wave {one_line(wave.name)}: {gates}"]
    if wave.status == WaveStatus.HALTED:
        lines += _halt(report, wave, "  would halt")
    for decision in report.decisions:
        if decision.wave == wave.name and decision.rule.startswith(FIT_RULE):
            lines.append(f"  window: {one_line(decision.rule[len(FIT_RULE) + 2 :])}")
    return lines


def render_summary(report: Report, run_dir: Path | None) -> str:
    """The end-of-run summary as plain text, ending with a newline."""
    dry = report.mode == "dry-run"
    mode = "dry run" if dry else "run"
    if report.simulated:
        mode = f"SIMULATED {mode}"
    took = human_span(report.started_at, report.finished_at)
    banner = simulated_text(report)
    lines = [] if banner is None else [banner]
    result = run_result(report)
    if dry and report.result is not None:
        said = str(report.result)
        result = result.replace(said, _WOULD.get(said, said), 1)
    lines += [
        f"fleetupgrade {mode} {one_line(report.run_id)}: {result}"
        + (f" after {took}" if took else ""),
    ]
    total = sum(report.totals.values())
    counts = ", ".join(f"{count} {key}" for key, count in report.totals.items())
    lines.append(f"Supervisors: {total}" + (f" ({counts})" if counts else ""))
    for wave in report.waves:
        if dry:
            lines += _dry_run_wave(report, wave)
        elif wave.status == WaveStatus.HALTED:
            lines += _halt(report, wave, f"Wave {one_line(wave.name)} halted")
    why_stopped = stop_reason(report)
    if why_stopped is not None:
        lines.append(f"Stopped: {why_stopped}")
    not_run = [one_line(w.name) for w in report.waves if w.status == WaveStatus.NOT_STARTED]
    if not_run:
        lines.append(f"Waves not started: {', '.join(not_run)}")
    stopped = [one_line(w.name) for w in report.waves if w.status == WaveStatus.STOPPED]
    if stopped:
        lines.append(f"Waves stopped: {', '.join(stopped)} (resume with --resume)")
    if run_dir is not None:
        lines.append(f"Report: {run_dir / _FILES[0]}")
        lines.append(f"        (also {', '.join(_FILES[1:])} and events.jsonl in {run_dir})")
    return "\n".join(lines) + "\n"
