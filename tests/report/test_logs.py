"""The run's logs: one table definition, shown with the same cells by every rendering."""

from __future__ import annotations

import functools
import html
from collections.abc import Callable

import pytest

from fleetupgrade.report import Report, render_html, render_markdown, render_text
from fleetupgrade.report._logs import log_tables
from fleetupgrade.report.markdown import md
from tests.report.sample import partial_dry_run_report, stopped_simulated_report


def _shown(render: Callable[[Report], str], cell: str) -> str:
    """A cell as the rendering escapes it."""
    if render is render_markdown:
        return md(cell)
    return html.escape(cell) if render is render_html else cell


@functools.cache
def _stopped(render: Callable[[Report], str]) -> str:
    return render(stopped_simulated_report())


def test_only_logs_with_entries_are_tables() -> None:
    """A report without notifications or counters gets no empty table for them."""
    report = partial_dry_run_report().model_copy(update={"notifications": [], "vcenters": []})
    keys = [table.key for table in log_tables(report)]
    assert "notifications" not in keys
    assert "vcenters" not in keys


@pytest.mark.parametrize("render", [render_text, render_markdown, render_html])
def test_every_rendering_shows_each_logs_cells(render: Callable[[Report], str]) -> None:
    """Each rendering has every log's title, its headers and every cell of every row."""
    text = _stopped(render)
    tables = log_tables(stopped_simulated_report())
    assert [t.key for t in tables] == ["decisions", "history", "notifications", "vcenters"]
    for table in tables:
        section = text[text.index(table.title) :]
        for column in table.columns:
            header = column.short_header if render is render_text else column.header
            assert header in section
        cells = {_shown(render, cell) for row in table.rows for cell in row if 0 < len(cell) < 20}
        assert cells
        assert all(cell in section for cell in cells), table.key


def test_html_styles_verdicts_and_machine_strings() -> None:
    """HTML styles cells by their column's kind: verdict badges and monospace machine strings."""
    page = _stopped(render_html)
    assert '<span class="badge o-upgraded">approved</span>' in page
    assert '<span class="badge o-not_started">refused</span>' in page
    assert '<td><span class="mono">https://hooks.slack.com/services/***</span></td>' in page
    assert '<td><span class="mono">https://vc-east.corp.example</span></td>' in page
