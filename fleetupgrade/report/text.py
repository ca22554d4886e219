"""The report for a terminal: plain aligned text, no colour, no control characters.

``fleetupgrade report RUN_DIR`` prints this by default; it has to be readable over ssh,
in a pager and when pasted into a chat, so it uses nothing but printable text.
"""

from __future__ import annotations

from fleetupgrade.outcomes import WaveStatus
from fleetupgrade.report._format import (
    describe_decision,
    describe_threshold,
    group_messages,
    human_span,
    human_time,
    one_line,
    outcome_key,
    run_result,
    text_table,
    totals_rows,
)
from fleetupgrade.report.model import Report, WaveReport

_SUPERVISOR_HEADERS = ("Supervisor", "vCenter", "From -> To", "Outcome", "Reason", "Task")


def _header(report: Report) -> list[str]:
    took = human_span(report.started_at, report.finished_at)
    finished = human_time(report.finished_at, "not yet")
    return [
        f"fleetupgrade report: {one_line(report.plan.name)}",
        f"Run:      {one_line(report.run_id)} ({report.mode})",
        f"Plan:     {one_line(report.plan.path)} (sha256 {one_line(report.plan.sha256)})",
        f"Started:  {human_time(report.started_at)}",
        f"Finished: {finished}" + (f" (took {took})" if took else ""),
        f"Result:   {run_result(report)}",
    ]


def _wave(report: Report, wave: WaveReport) -> list[str]:
    lines = [
        f"Wave {one_line(wave.name)}: {wave.status} ({describe_threshold(wave.threshold)}; "
        f"{wave.precheck_errors} precheck error(s), {wave.upgrade_failures} upgrade failure(s))",
    ]
    if wave.started_at is not None:
        took = human_span(wave.started_at, wave.finished_at)
        lines.append(
            f"  {human_time(wave.started_at)} to {human_time(wave.finished_at, 'not yet')}"
            + (f" ({took})" if took else "")
        )
    decision = report.halting_decision(wave.name)
    if wave.status == WaveStatus.HALTED and decision is not None:
        lines.append(f"  Halted by {describe_decision(decision)}")
    rows = [
        (
            one_line(sv.label),
            one_line(sv.vcenter),
            f"{one_line(sv.from_version) or '?'} -> {one_line(sv.to_version) or '?'}",
            outcome_key(sv.outcome),
            one_line(sv.reason),
            one_line(sv.task_id),
        )
        for sv in wave.supervisors
    ]
    if rows:
        lines.extend(text_table(_SUPERVISOR_HEADERS, rows, indent="  "))
    else:
        lines.append("  (no Supervisors)")
    return lines


def render_text(report: Report) -> str:
    """The whole report as terminal text, ending with a newline."""
    lines = _header(report)
    lines += ["", "Totals"]
    lines += text_table(("Outcome", "Count"), [(k, str(n)) for k, n in totals_rows(report)], "  ")
    for wave in report.waves:
        lines += ["", *_wave(report, wave)]
    groups = group_messages(report)
    if groups:
        lines += ["", "Precheck messages"]
        for group in groups:
            lines.append(
                f"  {one_line(group.severity)} {one_line(group.id)} "
                f"({len(group.hits)} Supervisor(s))"
            )
            lines += [
                f"    {one_line(hit.supervisor)} ({one_line(hit.vcenter)}, wave "
                f"{one_line(hit.wave)}): {one_line(hit.text)}"
                for hit in group.hits
            ]
    if report.decisions:
        decisions = [
            (human_time(d.at), one_line(d.wave), one_line(d.rule), str(d.errors),
             str(d.failures), str(d.size), f"{d.limit:g}", str(d.verdict))
            for d in report.decisions
        ]  # fmt: skip
        lines += ["", "Threshold decisions"]
        headers = ("At", "Wave", "Rule", "Errors", "Failures", "Size", "Limit", "Verdict")
        lines += text_table(headers, decisions, "  ")
    if report.vcenters:
        rows = [
            (one_line(vc.name), one_line(vc.url), str(vc.requests), str(vc.retries), str(vc.errors))
            for vc in report.vcenters
        ]
        lines += ["", "vCenters"]
        lines += text_table(("vCenter", "URL", "Requests", "Retries", "Errors"), rows, "  ")
    return "\n".join(lines) + "\n"
