"""The report as one self-contained HTML file (``report.html``).

It is mailed, attached to tickets and opened on air-gapped jump hosts, so it carries
everything inline: CSS in one ``<style>``, the timeline as inline SVG, no script, no
font, no image, no external reference of any kind. Every value from a vCenter or a plan
goes through ``html.escape``. ``@media print`` rules keep it readable on paper.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from html import escape

from fleetupgrade.outcomes import WaveStatus
from fleetupgrade.report._format import (
    HALT_LEAD,
    OUTCOME_COLOURS,
    describe_gates,
    describe_wave_times,
    halt_lines,
    human_seconds,
    human_span,
    metadata_rows,
    one_line,
    outcome_key,
    run_result,
    short_task_id,
    simulated_text,
    totals_rows,
)
from fleetupgrade.report._groups import message_sections
from fleetupgrade.report._logs import Kind, log_tables
from fleetupgrade.report.model import Report, WaveReport
from fleetupgrade.report.timeline import render_timeline_svg

_CSS = """
:root { color-scheme: light; }
body { font: 14px/1.45 system-ui, -apple-system, "Segoe UI", Roboto, Helvetica, Arial,
  sans-serif; color: #1f2328; margin: 24px auto; max-width: 1180px; padding: 0 16px; }
h1 { font-size: 22px; margin: 0 0 8px; } h3 { font-size: 15px; margin: 18px 0 6px; }
h4 { font-size: 14px; margin: 12px 0 4px; }
h2 { font-size: 18px; margin: 28px 0 8px; border-bottom: 1px solid #d0d7de; padding-bottom: 4px; }
table { border-collapse: collapse; width: 100%; margin: 6px 0; font-size: 13px; }
th, td { border: 1px solid #d0d7de; padding: 3px 8px; text-align: left; vertical-align: top; }
td { overflow-wrap: anywhere; } /* long task ids must not widen the page */
th { background: #f6f8fa; } td.num { text-align: right; font-variant-numeric: tabular-nums; }
dl.meta { display: grid; grid-template-columns: max-content auto; gap: 2px 16px; margin: 0; }
dl.meta dt { font-weight: 600; } dl.meta dd { margin: 0; overflow-wrap: anywhere; }
.result { font-size: 16px; font-weight: 700; padding: 6px 10px; border-radius: 4px;
  display: inline-block; margin: 10px 0 0; background: #f6f8fa; border-left: 6px solid #777; }
.result.succeeded { border-color: #2e7d32; } .result.halted { border-color: #c62828; }
.result.completed_with_failures { border-color: #e64a19; }
.result.stopped { border-color: #1565c0; }
.chips { display: flex; flex-wrap: wrap; gap: 6px; padding: 0; list-style: none; }
.chips li { border: 1px solid #d0d7de; border-radius: 4px; padding: 2px 8px; }
.badge { border-left: 0.8em solid var(--c, #777); padding-left: 6px; white-space: nowrap; }
.halt { background: #fdecea; border: 1px solid #c62828; padding: 8px 12px; border-radius: 4px; }
.halt p { margin: 2px 0; }
.simulated { background: #f3e5f5; border: 3px solid #6a1b9a; color: #4a148c; font-weight: 700;
  font-size: 16px; padding: 8px 12px; margin: 0 0 12px; border-radius: 4px; }
.nowrap { white-space: nowrap; } .muted { color: #57606a; }
code, .mono { font-family: ui-monospace, Menlo, Consolas, monospace; }
.timeline { width: 100%; height: auto; display: block; }
.timeline text { font-size: 11px; fill: #1f2328; }
.timeline text.sv { text-anchor: end; } .timeline text.tick { text-anchor: middle; fill: #57606a; }
.timeline text.vc { font-weight: 700; }
.timeline text.nolabel { fill: #57606a; font-style: italic; }
.timeline text.wave { fill: #6e7781; font-style: italic; }
.timeline rect.group { fill: #f6f8fa; } .timeline line.grid { stroke: #eaeef2; }
.timeline line.wave { stroke: #8c959f; stroke-dasharray: 4 3; }
.timeline rect.open { fill-opacity: 0.55; stroke: #1f2328; stroke-dasharray: 3 2; }
.timeline circle.none { fill: #ffffff; stroke-width: 2; }
.timeline line.haltmark { stroke: #c62828; stroke-width: 2; }
.timeline text.haltmark { fill: #c62828; font-weight: 700; }
@media print {
  @page { size: A4 landscape; margin: 12mm; }
  body { margin: 0; max-width: none; font-size: 10pt; color: #000; }
  * { -webkit-print-color-adjust: exact; print-color-adjust: exact; }
  h2 { break-after: avoid; } h3 { break-after: avoid; }
  tr, .halt, li { break-inside: avoid; } thead { display: table-header-group; }
  section#timeline { break-inside: avoid; }
}
"""


_WAVE_COLOURS = {
    WaveStatus.AWAITING_APPROVAL: "#f9a825",
    WaveStatus.RUNNING: "#0288d1",
    WaveStatus.COMPLETED: "#2e7d32",
    WaveStatus.HALTED: "#c62828",
    WaveStatus.STOPPED: "#1565c0",
    WaveStatus.NOT_STARTED: "#9e9e9e",
}


def _css() -> str:
    colours = [(f"o-{key}", colour) for key, colour in OUTCOME_COLOURS.items()]
    colours += [(f"w-{key}", colour) for key, colour in _WAVE_COLOURS.items()]
    return _CSS + "\n".join(f".{cls} {{ --c: {colour}; }}" for cls, colour in colours) + "\n"


_HTML_SPECIAL = re.compile("[&<>\"']")


def _e(text: str | None) -> str:
    """One line of untrusted text, escaped for HTML (quotes too, so also for attributes)."""
    line = one_line(text)
    return escape(line) if _HTML_SPECIAL.search(line) else line


def _badge(key: str, text: str | None = None, prefix: str = "o") -> str:
    return f'<span class="badge {prefix}-{escape(key)}">{escape(text or key)}</span>'


def _table(headers: tuple[str, ...], rows: Sequence[Sequence[str]], num: frozenset[int]) -> str:
    head = "".join(f"<th>{h}</th>" for h in headers)
    body = "".join(
        "<tr>"
        + "".join(
            f'<td class="num">{cell}</td>' if i in num else f"<td>{cell}</td>"
            for i, cell in enumerate(row)
        )
        + "</tr>"
        for row in rows
    )
    return f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


_MONO = frozenset({"Plan sha256", "Run id"})
_VERDICT_BADGES = {
    "halt": "precheck_error",
    "rejected": "precheck_error",
    "refused": "not_started",
    "continue": "upgraded",
    "approved": "upgraded",
}


def _header(report: Report) -> str:
    items = "".join(
        f'<dt>{k}</dt><dd><span class="mono">{_e(v)}</span></dd>' if k in _MONO
        else f"<dt>{k}</dt><dd>{_e(v)}</dd>"
        for k, v in metadata_rows(report)
    )  # fmt: skip
    banner = simulated_text(report)
    banner_html = f'<p class="simulated" role="note">{_e(banner)}</p>' if banner else ""
    result_cls = escape(str(report.result or "partial"))
    return (
        f"<header>{banner_html}<h1>Supervisor upgrade report: {_e(report.plan.name)}</h1>"
        f'<dl class="meta">{items}</dl>'
        f'<p class="result {result_cls}">Result: {escape(run_result(report))}</p></header>'
    )


def _totals(report: Report) -> str:
    chips = "".join(
        f"<li>{_badge(key) if key != 'total' else 'total'} <b>{count}</b></li>"
        for key, count in totals_rows(report)
    )
    return f'<section id="totals"><h2>Totals</h2><ul class="chips">{chips}</ul></section>'


def _timeline(report: Report) -> str:
    svg = render_timeline_svg(report)
    if not svg:
        return ""
    seen = {outcome_key(sv.outcome) for _, sv in report.supervisors()}
    legend = "".join(f"<li>{_badge(k)}</li>" for k in OUTCOME_COLOURS if k in seen)
    return (
        '<section id="timeline"><h2>Timeline</h2>'
        '<p class="muted">Every upgrade by vCenter, UTC; dashed bars were still running when '
        "the report was written; dashed lines mark wave starts, a red line the instant a "
        "wave halted.</p>"
        f'{svg}<ul class="chips">{legend}</ul></section>'
    )


def _task(task_id: str | None) -> str:
    if not task_id:
        return ""
    return f'<span class="mono" title="{_e(task_id)}">{_e(short_task_id(task_id))}</span>'


def _wave(report: Report, wave: WaveReport, extra: bool) -> str:
    parts = [
        f"<h3>Wave {_e(wave.name)}: {_badge(str(wave.status), prefix='w')}</h3>",
        f'<p class="muted">{escape(describe_gates(wave))}; '
        f"{wave.precheck_errors} precheck error(s), {wave.upgrade_failures} failure(s); "
        f"{escape(describe_wave_times(wave))}</p>",
    ]
    if wave.status == WaveStatus.HALTED:
        why = "".join(f"<p>{_e(line)}</p>" for line in halt_lines(report, wave))
        parts.append(f'<div class="halt"><p><b>Halted.</b> {HALT_LEAD}</p>{why}</div>')
    rows = []
    for sv in wave.supervisors:
        row = [
            _e(sv.label),
            _e(sv.vcenter),
            f'<span class="nowrap">{_e(sv.from_version) or "?"} → '
            f"{_e(sv.to_version) or '?'}</span>",
            _badge(outcome_key(sv.outcome)),
            _e(sv.reason),
            _task(sv.task_id),
            f'<span class="nowrap">{human_span(sv.started_at, sv.finished_at)}</span>',
        ]
        if extra:
            nodes = sv.control_plane_nodes
            row += [human_seconds(sv.health_wait_seconds), "" if nodes is None else str(nodes)]
        rows.append(row)
    headers: tuple[str, ...] = ("Supervisor", "vCenter", "From → To", "Outcome", "Reason")
    headers += ("Task", "Took")
    if extra:
        headers += ("Healthy after", "CP nodes")
    parts.append(_table(headers, rows, frozenset({8}) if extra else frozenset()))
    return "".join(parts)


def _messages(report: Report) -> str:
    sections = message_sections(report)
    if not sections:
        return ""
    parts = ['<section id="messages"><h2>Precheck messages</h2>']
    for title, groups in sections:
        parts.append(f"<h3>{title}</h3>")
        for group in groups:
            hits = "".join(
                f"<li><b>{escape(h.supervisor)}</b> ({escape(h.vcenter)}, wave "
                f"{escape(h.wave)}): {escape(h.text)}</li>"
                for h in group.hits
            )
            parts.append(
                f'<h4>{escape(group.severity)}: <span class="mono">{escape(group.id)}</span> '
                f"({len(group.hits)} Supervisor(s))</h4><ul>{hits}</ul>"
            )
    return "".join(parts) + "</section>"


def _cell(kind: Kind, text: str) -> str:
    if kind == "code":
        return f'<span class="mono">{_e(text)}</span>'
    if kind == "verdict":
        return _badge(_VERDICT_BADGES[text], text)
    if kind == "status":
        return _badge("upgraded" if text == "delivered" else "failed", text)
    return _e(text)


def _logs(report: Report) -> str:
    """One section per log with entries (decisions, history, notifications, vCenters)."""
    sections = []
    for log in log_tables(report):
        kinds = [column.kind for column in log.columns]
        table = _table(
            tuple(column.header for column in log.columns),
            [tuple(map(_cell, kinds, row)) for row in log.rows],
            frozenset(i for i, kind in enumerate(kinds) if kind == "number"),
        )
        sections.append(f'<section id="{log.key}"><h2>{log.title}</h2>{table}</section>\n')
    return "".join(sections)


def render_html(report: Report) -> str:
    """The whole report as one HTML document, ending with a newline."""
    extra = any(
        sv.health_wait_seconds is not None or sv.control_plane_nodes is not None
        for _, sv in report.supervisors()
    )
    waves = "".join(_wave(report, wave, extra) for wave in report.waves)
    title = f"fleetupgrade report: {_e(report.plan.name)} ({_e(report.run_id)})"
    if report.simulated:
        title = "[SIMULATED] " + title
    return "".join(
        [
            '<!DOCTYPE html>\n<html lang="en">\n<head>\n<meta charset="utf-8">\n'
            '<meta name="viewport" content="width=device-width, initial-scale=1">\n'
            f"<title>{title}</title>\n<style>{_css()}</style>\n</head>\n<body>\n",
            _header(report),
            "\n",
            _totals(report),
            "\n",
            _timeline(report),
            "\n",
            f'<section id="waves"><h2>Waves</h2>{waves}</section>\n',
            _messages(report),
            "\n",
            _logs(report),
            f'<footer class="muted"><p>report.json schema {report.schema_version}</p></footer>',
            "\n</body>\n</html>\n",
        ]
    )
