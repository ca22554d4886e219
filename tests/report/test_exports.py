"""The report package's public surface: the model, the renderers and the file writers."""

from __future__ import annotations

import fleetupgrade.report as report


def test_report_exports_exactly_its_api() -> None:
    """Every name in __all__ exists, and the list is the intended public API."""
    assert sorted(report.__all__) == sorted(
        [
            "Culprit", "Decision", "HistoryEntry", "NotificationReport", "PlanRef", "Report",
            "ReportError", "ReportMessage", "SupervisorReport", "ThresholdRef", "VCenterReport",
            "WaveReport", "compute_totals", "load_report", "render_html", "render_json",
            "render_junit", "render_markdown", "render_summary", "render_text",
            "report_json_schema", "write_report_files", "write_report_json",
        ]
    )  # fmt: skip
    for name in report.__all__:
        assert getattr(report, name) is not None
