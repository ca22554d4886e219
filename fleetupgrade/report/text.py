"""The report for a terminal: rich tables fitted to 100 columns, colour only on request.

``fleetupgrade report RUN_DIR`` prints this by default; it has to be readable over ssh,
in a pager and when pasted into a chat, so every line fits in ``width`` columns (long
names, ids and reasons wrap inside their cell), there is no colour unless the caller says
the output is a terminal, and no untrusted text is read as rich markup.

rich lays out a table at roughly half a millisecond per row, so a table of more than
:data:`RICH_MAX_ROWS` rows (a 10,000-Supervisor wave) and the long per-Supervisor lists
are laid out here instead, in the same shape: same columns, same wrapping, same width.
"""

from __future__ import annotations

import io
import textwrap
from collections.abc import Sequence

from rich import box
from rich.console import Console, RenderableType
from rich.panel import Panel
from rich.table import Table
from rich.text import Text

from fleetupgrade.outcomes import WaveStatus
from fleetupgrade.report._format import (
    HALT_LEAD,
    describe_gates,
    describe_wave_times,
    halt_lines,
    metadata_rows,
    one_line,
    outcome_key,
    short_task_id,
    simulated_text,
    supervisor_details,
    totals_rows,
)
from fleetupgrade.report._groups import message_sections
from fleetupgrade.report._logs import log_tables
from fleetupgrade.report.model import Report, WaveReport

WIDTH = 100
RICH_MAX_ROWS = 200
_GAP = 3  # spaces between columns, as rich's borderless table has
_MIN_COL = 4


_KEEP_MAX = 30  # a column kept whole is never squeezed below this many columns


def _table(
    headers: Sequence[str],
    rows: Sequence[Sequence[str]],
    *,
    numeric: int = 0,
    keep: frozenset[int] = frozenset(),
) -> Table:
    """A borderless table; the last ``numeric`` columns are right-aligned counts.

    Columns in ``keep`` (identifiers such as rule names) are not squeezed below their
    longest value (up to 30 columns), so other columns wrap first.
    """
    table = Table(box=box.SIMPLE_HEAD, show_edge=False, pad_edge=False, header_style="bold")
    for i, header in enumerate(headers):
        right = i >= len(headers) - numeric
        widest = max((len(row[i]) for row in rows), default=0) if i in keep else None
        table.add_column(
            header,
            overflow="fold",
            justify="right" if right else "left",
            min_width=None if widest is None else min(max(widest, len(header)), _KEEP_MAX),
        )
    for row in rows:
        table.add_row(*(Text(cell) for cell in row))
    return table


def _wrap(text: str, width: int) -> list[str]:
    """Word-wrap to ``width`` columns, folding words longer than a line."""
    if len(text) <= width:
        return [text]
    return textwrap.wrap(text, width, break_long_words=True, break_on_hyphens=False) or [""]


def _indented(lines: Sequence[tuple[int, str]], width: int) -> list[str]:
    """Lines indented by their level (two columns each); wrapped text keeps the indent."""
    out = []
    for level, text in lines:
        pad = "  " * level
        out += [pad + part for part in _wrap(text, max(width - len(pad), 10))]
    return out


def _fit(natural: list[int], minimum: list[int], available: int) -> list[int]:
    """Column widths: natural ones when they fit, else the widest are capped evenly."""
    if sum(natural) <= available:
        return natural
    cap = max(natural)
    while (
        cap > _MIN_COL
        and sum(max(min(w, cap), m) for w, m in zip(natural, minimum, strict=True)) > available
    ):
        cap -= 1
    return [max(min(w, cap), m) for w, m in zip(natural, minimum, strict=True)]


def _plain_table(
    headers: Sequence[str],
    rows: Sequence[Sequence[str]],
    width: int,
    numeric: int = 0,
    keep: frozenset[int] = frozenset(),
) -> list[str]:
    """A large table laid out like :func:`_table`, without rich's per-cell cost."""
    count = len(headers)
    natural = [len(h) for h in headers]
    for row in rows:
        natural = [max(w, len(cell)) for w, cell in zip(natural, row, strict=True)]
    minimum = [
        min(w, _KEEP_MAX) if i in keep else min(len(h), w)
        for i, (h, w) in enumerate(zip(headers, natural, strict=True))
    ]
    widths = _fit(natural, minimum, width - _GAP * (count - 1))
    right = [i >= count - numeric for i in range(count)]
    gap = " " * _GAP

    def lines(cells: Sequence[str]) -> list[str]:
        wrapped = [_wrap(cell, w) for cell, w in zip(cells, widths, strict=True)]
        height = max(len(part) for part in wrapped)
        out = []
        for k in range(height):
            parts = [
                (part[k] if k < len(part) else "").rjust(w) if r
                else (part[k] if k < len(part) else "").ljust(w)
                for part, w, r in zip(wrapped, widths, right, strict=True)
            ]  # fmt: skip
            out.append(gap.join(parts).rstrip())
        return out

    result = lines(headers)
    result.append("\N{BOX DRAWINGS LIGHT HORIZONTAL}" * (sum(widths) + _GAP * (count - 1)))
    for row in rows:
        result += lines(row)
    return result


class _Doc:
    """The text being built: rich renderables are laid out as they are added."""

    def __init__(self, width: int, color: bool) -> None:
        self.width = width
        self.lines: list[str] = []
        self._console = Console(
            file=io.StringIO(),
            width=width,
            color_system="standard" if color else None,
            force_terminal=color,
            force_interactive=False,
            legacy_windows=False,
            emoji=False,
            markup=False,
            highlight=False,
            _environ={},
        )

    def rich(self, renderable: RenderableType) -> None:
        """Lay out one rich renderable at the document's width."""
        with self._console.capture() as capture:
            self._console.print(renderable, overflow="fold", crop=True)
        self.lines += capture.get().splitlines()

    def heading(self, text: str, *, blank: bool = True) -> None:
        """A bold section heading, after a blank line."""
        if blank:
            self.lines.append("")
        self.rich(Text(text, style="bold"))

    def table(
        self,
        headers: Sequence[str],
        rows: Sequence[Sequence[str]],
        *,
        numeric: int = 0,
        keep: frozenset[int] = frozenset(),
    ) -> None:
        """A table: rich's layout for ordinary sizes, the same shape done here for huge ones."""
        if len(rows) > RICH_MAX_ROWS:
            self.lines += _plain_table(headers, rows, self.width, numeric, keep)
        else:
            self.rich(_table(headers, rows, numeric=numeric, keep=keep))

    def indented(self, lines: Sequence[tuple[int, str]]) -> None:
        """Indented lines, wrapped with their indent kept."""
        self.lines += _indented(lines, self.width)


def _header(doc: _Doc, report: Report) -> None:
    banner = simulated_text(report)
    if banner is not None:
        doc.rich(Panel(Text(banner, style="bold magenta"), box=box.HEAVY, expand=False))
    doc.heading(f"fleetupgrade report: {one_line(report.plan.name)}", blank=False)
    meta = Table.grid(padding=(0, 2))
    meta.add_column(no_wrap=True)
    meta.add_column(overflow="fold")
    for label, value in metadata_rows(report):
        meta.add_row(Text(f"{label}:"), Text(value))
    doc.rich(meta)


def _wave(doc: _Doc, report: Report, wave: WaveReport) -> None:
    doc.heading(f"Wave {one_line(wave.name)}: {wave.status}")
    doc.indented(
        [
            (1, f"Gates: {describe_gates(wave)}"),
            (
                1,
                f"Counted: {wave.precheck_errors} precheck error(s), "
                f"{wave.upgrade_failures} failure(s)",
            ),
            (1, f"Time: {describe_wave_times(wave)}"),
        ]
    )
    if wave.status == WaveStatus.HALTED:
        body = Text("\n".join([f"HALTED. {HALT_LEAD}", *halt_lines(report, wave)]))
        doc.rich(Panel(body, box=box.ASCII, border_style="red", expand=True))
    rows = [
        (
            one_line(sv.label),
            one_line(sv.vcenter),
            f"{one_line(sv.from_version) or '?'} -> {one_line(sv.to_version) or '?'}",
            outcome_key(sv.outcome),
            one_line(sv.reason),
            short_task_id(sv.task_id),
        )
        for sv in wave.supervisors
    ]
    if rows:
        headers = ("Supervisor", "vCenter", "From -> To", "Outcome", "Reason", "Task")
        doc.table(headers, rows, keep=frozenset({3, 5}))
    else:
        doc.indented([(1, "(no Supervisors)")])


def _messages(doc: _Doc, report: Report) -> None:
    sections = message_sections(report)
    if not sections:
        return
    lines: list[tuple[int, str]] = []
    for title, groups in sections:
        lines.append((1, title))
        for group in groups:
            lines.append((2, f"{group.severity} {group.id} ({len(group.hits)} Supervisor(s))"))
            lines += [
                (3, f"{hit.supervisor} ({hit.vcenter}, wave {hit.wave}): {hit.text}")
                for hit in group.hits
            ]
    doc.heading("Precheck messages")
    doc.indented(lines)


def _logs(doc: _Doc, report: Report) -> None:
    for table in log_tables(report):
        kinds = [column.kind for column in table.columns]
        numeric = 0  # the trailing count columns are right-aligned
        while numeric < len(kinds) and kinds[-1 - numeric] == "number":
            numeric += 1
        doc.heading(table.title)
        doc.table(
            [column.short_header for column in table.columns],
            table.rows,
            numeric=numeric,
            keep=frozenset(i for i, kind in enumerate(kinds) if kind == "key"),
        )


def _details(doc: _Doc, report: Report) -> None:
    lines: list[tuple[int, str]] = []
    for wave, sv, facts in supervisor_details(report):
        lines.append(
            (
                1,
                f"{one_line(sv.label)} ({one_line(sv.vcenter)}, wave {one_line(wave.name)}): "
                f"{outcome_key(sv.outcome)}",
            )
        )
        lines += [(2, f"{label}: {value}") for label, value in facts]
        lines += [
            (2, f"{one_line(m.severity)} {one_line(m.id)}: {one_line(m.text)}") for m in sv.messages
        ]
    if lines:
        doc.heading("Supervisor details")
        doc.indented(lines)


def render_text(report: Report, *, width: int = WIDTH, color: bool = False) -> str:
    """The whole report as terminal text, each line at most ``width`` columns.

    ``color`` adds ANSI styles; pass it only when the output is a terminal, so files,
    pipes and re-renders stay plain and byte-identical.
    """
    doc = _Doc(width, color)
    _header(doc, report)
    doc.heading("Totals")
    doc.table(("Outcome", "Count"), [(k, str(n)) for k, n in totals_rows(report)], numeric=1)
    for wave in report.waves:
        _wave(doc, report, wave)
    _messages(doc, report)
    _logs(doc, report)
    _details(doc, report)
    return "\n".join(line.rstrip() for line in doc.lines) + "\n"
