"""The few lines printed on stdout when a run ends.

An operator (or a scheduler's mail) reads this first: how the run ended and with which
exit code, the counts, which wave halted and on what decision, and where the full report
is. Everything else lives in the report files.
"""

from __future__ import annotations

from pathlib import Path

from fleetupgrade.outcomes import WaveStatus
from fleetupgrade.report._format import (
    describe_culprits,
    describe_decision,
    human_span,
    one_line,
    run_result,
    simulated_text,
    stop_reason,
)
from fleetupgrade.report.model import Report

_FILES = ("report.html", "report.md", "report.json", "junit.xml")


def render_summary(report: Report, run_dir: Path | None) -> str:
    """The end-of-run summary as plain text, ending with a newline."""
    mode = "dry run" if report.mode == "dry-run" else "run"
    if report.simulated:
        mode = f"SIMULATED {mode}"
    took = human_span(report.started_at, report.finished_at)
    banner = simulated_text(report)
    lines = [] if banner is None else [banner]
    lines += [
        f"fleetupgrade {mode} {one_line(report.run_id)}: {run_result(report)}"
        + (f" after {took}" if took else ""),
    ]
    total = sum(report.totals.values())
    counts = ", ".join(f"{count} {key}" for key, count in report.totals.items())
    lines.append(f"Supervisors: {total}" + (f" ({counts})" if counts else ""))
    for wave in report.waves:
        if wave.status == WaveStatus.HALTED:
            decision = report.halting_decision(wave.name)
            why = describe_decision(decision) if decision else "no decision was recorded"
            lines.append(f"Wave {one_line(wave.name)} halted: {why}")
            if decision is not None and decision.culprits:
                lines.append(f"  tipped by {describe_culprits(decision.culprits)}")
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
