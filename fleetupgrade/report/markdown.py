"""The report for change tickets (``report.md``): GitHub-flavoured Markdown.

Change boards paste this into tickets and wikis whose renderers differ, so it sticks to
headings, tables and lists, and every value that came from a vCenter or a plan is escaped:
HTML is turned into entities (some renderers pass raw HTML through) and Markdown
punctuation is backslash-escaped so a Supervisor called ``a|b`` cannot break a table.
"""

from __future__ import annotations

import html
import re
from collections.abc import Sequence

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
    totals_rows,
)
from fleetupgrade.report.model import Report, WaveReport

_MD_SPECIAL = re.compile(r"([\\`*_\[\]|~])")


def md(text: str | None) -> str:
    """One line of untrusted text, safe in a table cell or a heading."""
    escaped = html.escape(one_line(text), quote=False)
    return _MD_SPECIAL.sub(r"\\\1", escaped)


def _table(headers: tuple[str, ...], rows: Sequence[Sequence[str]]) -> list[str]:
    lines = ["| " + " | ".join(headers) + " |", "|" + "|".join("---" for _ in headers) + "|"]
    lines += ["| " + " | ".join(cell or " " for cell in row) + " |" for row in rows]
    return lines


def _header(report: Report) -> list[str]:
    took = human_span(report.started_at, report.finished_at)
    finished = human_time(report.finished_at, "not yet")
    return [
        f"# Supervisor upgrade report: {md(report.plan.name)}",
        "",
        *_table(
            ("Field", "Value"),
            [
                ("Plan", f"{md(report.plan.name)} ({md(report.plan.path)})"),
                ("Plan sha256", md(report.plan.sha256)),
                ("Run id", md(report.run_id)),
                ("Mode", md(report.mode)),
                ("Started", human_time(report.started_at)),
                ("Finished", finished + (f" (took {took})" if took else "")),
                ("Result", f"**{md(run_result(report))}**"),
            ],
        ),
    ]


def _wave(report: Report, wave: WaveReport) -> list[str]:
    lines = [
        f"### Wave {md(wave.name)}: {md(wave.status)}",
        "",
        f"Threshold: {md(describe_threshold(wave.threshold))}. "
        f"Precheck errors: {wave.precheck_errors}; upgrade failures: {wave.upgrade_failures}. "
        + (
            f"Started {human_time(wave.started_at)}, "
            f"finished {human_time(wave.finished_at, 'not yet')}."
            if wave.started_at is not None
            else "Not started."
        ),
    ]
    decision = report.halting_decision(wave.name)
    if wave.status == WaveStatus.HALTED:
        why = md(describe_decision(decision)) if decision else "no decision was recorded"
        lines += [
            "",
            f"> **Halted.** No new upgrade was started in this wave and later waves did not "
            f"start. Decision: {why}.",
        ]
    rows = [
        (
            md(sv.label),
            md(sv.vcenter),
            f"{md(sv.from_version) or '?'} → {md(sv.to_version) or '?'}",
            md(outcome_key(sv.outcome)),
            md(sv.reason),
            md(sv.task_id),
        )
        for sv in wave.supervisors
    ]
    if rows:
        headers = ("Supervisor", "vCenter", "From → To", "Outcome", "Reason", "Task")
        lines += ["", *_table(headers, rows)]
    return lines


def render_markdown(report: Report) -> str:
    """The whole report as Markdown, ending with a newline."""
    lines = _header(report)
    lines += [
        "",
        "## Totals",
        "",
        *_table(
            ("Outcome", "Count"), [(md(key), str(count)) for key, count in totals_rows(report)]
        ),
    ]
    lines += ["", "## Waves"]
    for wave in report.waves:
        lines += ["", *_wave(report, wave)]
    groups = group_messages(report)
    if groups:
        lines += ["", "## Precheck messages"]
        for group in groups:
            lines += [
                "",
                f"### {md(group.severity)}: {md(group.id)} ({len(group.hits)} Supervisor(s))",
                "",
            ]
            lines += [
                f"- {md(hit.supervisor)} ({md(hit.vcenter)}, wave {md(hit.wave)}): {md(hit.text)}"
                for hit in group.hits
            ]
    if report.decisions:
        lines += ["", "## Threshold decisions", ""]
        lines += _table(
            ("At", "Wave", "Rule", "Errors", "Failures", "Size", "Limit", "Verdict"),
            [
                (
                    human_time(d.at),
                    md(d.wave),
                    md(d.rule),
                    str(d.errors),
                    str(d.failures),
                    str(d.size),
                    f"{d.limit:g}",
                    f"**{d.verdict}**" if d.verdict == "halt" else d.verdict,
                )
                for d in report.decisions
            ],
        )
    if report.vcenters:
        lines += ["", "## vCenters", ""]
        lines += _table(
            ("vCenter", "URL", "Requests", "Retries", "Errors"),
            [
                (md(vc.name), md(vc.url), str(vc.requests), str(vc.retries), str(vc.errors))
                for vc in report.vcenters
            ],
        )
    return "\n".join(lines) + "\n"
