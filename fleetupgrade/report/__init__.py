"""Reports of runs: the report.json model and its renderings (text, md, html, junit).

Pure functions over :class:`Report`; the only I/O is in :mod:`.files` and :mod:`.command`.
"""

from __future__ import annotations

from fleetupgrade.report.errors import ReportError
from fleetupgrade.report.files import load_report, write_report_files, write_report_json
from fleetupgrade.report.html import render_html
from fleetupgrade.report.junit import render_junit
from fleetupgrade.report.markdown import render_markdown
from fleetupgrade.report.model import (
    Culprit,
    Decision,
    HistoryEntry,
    NotificationReport,
    PlanRef,
    Report,
    ReportMessage,
    SupervisorReport,
    ThresholdRef,
    VCenterReport,
    WaveReport,
    compute_totals,
    render_json,
    report_json_schema,
)
from fleetupgrade.report.summary import render_summary
from fleetupgrade.report.text import render_text

__all__ = [
    "Culprit",
    "Decision",
    "HistoryEntry",
    "NotificationReport",
    "PlanRef",
    "Report",
    "ReportError",
    "ReportMessage",
    "SupervisorReport",
    "ThresholdRef",
    "VCenterReport",
    "WaveReport",
    "compute_totals",
    "load_report",
    "render_html",
    "render_json",
    "render_junit",
    "render_markdown",
    "render_summary",
    "render_text",
    "report_json_schema",
    "write_report_files",
    "write_report_json",
]
