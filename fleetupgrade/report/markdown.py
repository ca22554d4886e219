"""The report for change tickets (``report.md``): GitHub-flavoured Markdown.

Change boards paste this into tickets and wikis whose renderers differ, so it sticks to
headings, tables, quotes and lists, and every value that came from a vCenter or a plan is
escaped: HTML is turned into entities (some renderers pass raw HTML through) and Markdown
punctuation is backslash-escaped so a Supervisor called ``a|b`` cannot break a table.
Tables show short task ids; the full ids are in the Supervisor details at the end.
"""

from __future__ import annotations

import html
import re
from collections.abc import Sequence

from fleetupgrade.outcomes import WaveStatus
from fleetupgrade.report._format import (
    HALT_LEAD,
    describe_gates,
    describe_wave_times,
    halt_lines,
    metadata_rows,
    outcome_key,
    short_task_id,
    simulated_text,
    supervisor_details,
    totals_rows,
)
from fleetupgrade.report._format import one_line as _one_line
from fleetupgrade.report._groups import message_sections
from fleetupgrade.report._logs import Kind, log_tables
from fleetupgrade.report.model import HALTING_VERDICTS, Report, WaveReport

_MD_SPECIAL = re.compile(r"([\\`*_\[\]|~])")
_NEEDS_ESCAPE = re.compile(r"[\\`*_\[\]|~&<>]")


def md(text: str | None) -> str:
    """One line of untrusted text, safe in a table cell or a heading."""
    line = _one_line(text)
    if not _NEEDS_ESCAPE.search(line):
        return line
    return _MD_SPECIAL.sub(r"\\\1", html.escape(line, quote=False))


def _table(headers: Sequence[str], rows: Sequence[Sequence[str]]) -> list[str]:
    lines = ["| " + " | ".join(headers) + " |", "|" + "|".join("---" for _ in headers) + "|"]
    lines += ["| " + " | ".join(cell or " " for cell in row) + " |" for row in rows]
    return lines


def _header(report: Report) -> list[str]:
    lines = [f"# Supervisor upgrade report: {md(report.plan.name)}", ""]
    banner = simulated_text(report)
    if banner is not None:
        lines += [f"> **{md(banner)}**", ""]
    rows = [
        (
            label,
            f"**{md(value)}**" if label in ("Result", "Simulated") and value != "no" else md(value),
        )
        for label, value in metadata_rows(report)
    ]
    return lines + _table(("Field", "Value"), rows)


def _wave(report: Report, wave: WaveReport) -> list[str]:
    lines = [
        f"### Wave {md(wave.name)}: {md(wave.status)}",
        "",
        f"Gates: {md(describe_gates(wave))}. Precheck errors: {wave.precheck_errors}; "
        f"upgrade failures: {wave.upgrade_failures}. Time: {md(describe_wave_times(wave))}.",
    ]
    if wave.status == WaveStatus.HALTED:
        lines += ["", f"> **Halted.** {HALT_LEAD}"]
        lines += [f">\n> {md(line)}" for line in halt_lines(report, wave)]
    rows = [
        (
            md(sv.label),
            md(sv.vcenter),
            f"{md(sv.from_version) or '?'} → {md(sv.to_version) or '?'}",
            md(outcome_key(sv.outcome)),
            md(sv.reason),
            md(short_task_id(sv.task_id)),
        )
        for sv in wave.supervisors
    ]
    if rows:
        headers = ("Supervisor", "vCenter", "From → To", "Outcome", "Reason", "Task")
        lines += ["", *_table(headers, rows)]
    return lines


def _messages(report: Report) -> list[str]:
    sections = message_sections(report)
    if not sections:
        return []
    lines = ["", "## Precheck messages"]
    for title, groups in sections:
        lines += ["", f"### {title}"]
        for group in groups:
            lines += [
                "",
                f"#### {md(group.severity)}: {md(group.id)} ({len(group.hits)} Supervisor(s))",
                "",
            ]
            lines += [
                f"- {md(hit.supervisor)} ({md(hit.vcenter)}, wave {md(hit.wave)}): {md(hit.text)}"
                for hit in group.hits
            ]
    return lines


def _cell(kind: Kind, text: str) -> str:
    if kind == "verdict" and text in HALTING_VERDICTS:
        return f"**{text}**"
    return md(text)


def _logs(report: Report) -> list[str]:
    lines: list[str] = []
    for table in log_tables(report):
        kinds = [column.kind for column in table.columns]
        rows = [tuple(map(_cell, kinds, row)) for row in table.rows]
        lines += ["", f"## {table.title}", ""]
        lines += _table([column.header for column in table.columns], rows)
    return lines


def _details(report: Report) -> list[str]:
    lines: list[str] = []
    for wave, sv, facts in supervisor_details(report):
        said = "; ".join(f"{label} {md(value)}" for label, value in facts)
        lines.append(
            f"- **{md(sv.label)}** ({md(sv.vcenter)}, wave {md(wave.name)}): "
            f"{md(outcome_key(sv.outcome))}" + (f"; {said}" if said else "")
        )
        lines += [f"  - {md(m.severity)} {md(m.id)}: {md(m.text)}" for m in sv.messages]
    return ["", "## Supervisor details", "", *lines] if lines else []


def render_markdown(report: Report) -> str:
    """The whole report as Markdown, ending with a newline."""
    lines = _header(report)
    totals = [(md(key), str(count)) for key, count in totals_rows(report)]
    lines += ["", "## Totals", "", *_table(("Outcome", "Count"), totals)]
    lines += ["", "## Waves"]
    for wave in report.waves:
        lines += ["", *_wave(report, wave)]
    lines += _messages(report)
    lines += _logs(report)
    lines += _details(report)
    return "\n".join(lines) + "\n"
