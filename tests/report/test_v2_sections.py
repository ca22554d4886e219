"""Schema-2 renderings: SIMULATED banner, provenance, stops and resumes, logs, long values."""

from __future__ import annotations

import functools
import re
import xml.etree.ElementTree as ET
from collections.abc import Callable
from pathlib import Path

import pytest

from fleetupgrade.report import (
    Report,
    render_html,
    render_junit,
    render_markdown,
    render_summary,
    render_text,
)
from fleetupgrade.report import timeline as timeline_module
from fleetupgrade.report._format import short_task_id
from fleetupgrade.report.text import RICH_MAX_ROWS
from tests.report.sample import (
    LONG_NAME,
    LONG_TASK,
    sample_report,
    stopped_simulated_report,
)

SCENARIO_SHA = "12" * 32


def _summary(report: Report) -> str:
    return render_summary(report, Path("/runs/x"))


@functools.cache
def _stopped(render: Callable[[Report], str]) -> str:
    """The stopped simulated sample rendered once per renderer (rich is not free)."""
    return render(stopped_simulated_report())


ALL_FORMATS: list[Callable[[Report], str]] = [
    render_text,
    render_markdown,
    render_html,
    render_junit,
    _summary,
]


@pytest.mark.parametrize("render", ALL_FORMATS)
def test_simulated_banner_in_every_format(render: Callable[[Report], str]) -> None:
    """A simulated run says SIMULATED in every rendering; a real run never does."""
    assert "SIMULATED" in _stopped(render)
    assert "SIMULATED" not in render(sample_report())


@pytest.mark.parametrize("render", [render_text, render_markdown, render_html, _summary])
def test_simulated_banner_comes_first(render: Callable[[Report], str]) -> None:
    """The banner is on top (before any run detail), with the scenario's sha256."""
    text = _stopped(render)
    banner = text.index("SIMULATED")
    assert banner < text.index("q4-supervisor-upgrade-5b5b")
    assert banner < text.index("Supervisors" if render is _summary else "Plan sha256")
    assert SCENARIO_SHA[:40] in text


def test_junit_simulated_suites_are_prefixed_and_flagged() -> None:
    """JUnit: every suite name starts with [SIMULATED] and carries simulated=true."""
    root = ET.fromstring(render_junit(stopped_simulated_report()))
    assert (root.get("name") or "").startswith("[SIMULATED] ")
    for suite in root.findall("testsuite"):
        assert (suite.get("name") or "").startswith("[SIMULATED] ")
        props = {p.get("name"): p.get("value") for p in suite.iter("property")}
        assert props["simulated"] == "true"
        assert props["scenario_sha256"] == SCENARIO_SHA
    real = ET.fromstring(render_junit(sample_report()))
    props = {p.get("name"): p.get("value") for p in real.iter("property")}
    assert props["simulated"] == "false"


@pytest.mark.parametrize(
    "needle",
    [
        "Tool version",
        "0.2.0",
        "Operator",
        "alice@jump-01.corp.example",
        "Change ref",
        "CHG-1234567890",
        "Plan sha256",
        "ef" * 32,
        "Simulated",
        "Started",
        "2026-12-05 22:00:00Z",
        "Finished",
        "Result",
        "Exit code",
    ],
)
@pytest.mark.parametrize("render", [render_text, render_markdown, render_html])
def test_metadata_block_for_change_boards(render: Callable[[Report], str], needle: str) -> None:
    """Text, Markdown and HTML carry the whole provenance block."""
    assert needle in _stopped(render)


@pytest.mark.parametrize("render", [render_text, render_markdown, render_html, _summary])
def test_stopped_run_says_why(render: Callable[[Report], str]) -> None:
    """A stopped run names its stop reason from the history (here the signal)."""
    assert "SIGTERM (at 2026-12-05 22:31:00Z)" in _stopped(render)


@pytest.mark.parametrize("render", [render_text, render_markdown, render_html])
def test_history_shows_interruption_and_resume(render: Callable[[Report], str]) -> None:
    """After a resume the history lists the interruption and the resume, in order."""
    text = _stopped(render)
    history = text[text.index("History") :]
    positions = [history.index(word) for word in ("started", "interrupted", "resumed", "stopped")]
    assert positions == sorted(positions)
    assert "no stop record" in history


@pytest.mark.parametrize("render", [render_text, render_markdown, render_html])
def test_never_started_wave_says_not_started(render: Callable[[Report], str]) -> None:
    """A wave that never began says "not started" (no empty or placeholder times)."""
    text = _stopped(render)
    main = text[text.index("Wave main") :]
    assert "not started" in main[:400]


@pytest.mark.parametrize("render", [render_text, render_markdown, render_html])
def test_decision_log_notifications_and_vcenter_counters(render: Callable[[Report], str]) -> None:
    """The decision log shows human/admission verdicts and culprits; notifications and
    per-vCenter counters have their own sections."""
    text = _stopped(render)
    for needle in ("approved", "refused", "window", "run", "hooks.slack.com/services/"):
        assert needle in text
    vcenters = text[text.rindex("vCenters") :]
    assert re.search(r"99\D+2\D+1\D+17\D+1\b", vcenters)


@pytest.mark.parametrize("render", [render_text, render_markdown, render_html])
def test_notification_target_is_printed_as_given_masked(render: Callable[[Report], str]) -> None:
    """The report shows the target exactly as the engine masked it (never un-masks)."""
    text = _stopped(render)
    assert "services/" in text
    assert "T000/B000" not in text


def test_short_task_ids() -> None:
    """Table task ids: service suffix dropped, long ids cut to 8 characters and an ellipsis."""
    assert short_task_id(LONG_TASK) == "52b0c5e4\N{HORIZONTAL ELLIPSIS}"
    assert short_task_id("task-101") == "task-101"
    assert short_task_id("task-101:svc") == "task-101"
    assert short_task_id(None) == ""


def test_markdown_short_ids_in_tables_full_in_details() -> None:
    """Markdown tables hold the short task id; the details hold the full one."""
    md = render_markdown(stopped_simulated_report())
    waves, details = md.split("## Supervisor details")
    assert "| 52b0c5e4\N{HORIZONTAL ELLIPSIS} |" in waves
    assert "52b0c5e4-1d2c" not in waves
    assert "task 52b0c5e4-1d2c-4f6a-9b1e-8c7d6e5f4a3b:com.vmware" in details
    assert "healthy after 15m; control-plane nodes 3" in details


def test_html_task_tooltip_and_health_columns() -> None:
    """HTML shows the short id with the full id in its title, and health wait per Supervisor."""
    html = render_html(stopped_simulated_report())
    assert f'title="{LONG_TASK}">52b0c5e4\N{HORIZONTAL ELLIPSIS}</span>' in html
    assert "<th>Healthy after</th>" in html
    assert "<td>42s</td>" in html


def test_text_details_hold_full_task_id_and_health_wait() -> None:
    """The terminal details list the full task id (folded), health wait and node count."""
    text = render_text(stopped_simulated_report())
    details = text[text.index("Supervisor details") :]
    assert LONG_TASK in details.replace("\n    ", "").replace("task:", "task: ")
    assert "healthy after: 15m" in details
    assert "control-plane nodes: 3" in details


@pytest.mark.parametrize("extra", [0, RICH_MAX_ROWS + 5])
def test_text_fits_100_columns(extra: int) -> None:
    """Every line fits 100 columns with long names, ids and reasons, small or huge tables."""
    text = render_text(stopped_simulated_report(extra))
    widths = [len(line) for line in text.splitlines()]
    assert max(widths) <= 100
    assert max(widths) >= 90  # long values really were folded, not dropped
    assert LONG_NAME[:15] in text
    assert all(line == line.rstrip() for line in text.splitlines())


def test_text_width_and_colour_are_parameters() -> None:
    """Width is a parameter; colour (ANSI) only when asked for."""
    narrow = render_text(sample_report(), width=80)
    assert max(len(line) for line in narrow.splitlines()) <= 80
    assert "\x1b[" in render_text(sample_report(), color=True)


def test_precheck_warning_supervisor_never_listed_under_error() -> None:
    """A WARNING-blocked Supervisor lands under WARNING, even its ERROR "blocked" message."""
    md = render_markdown(stopped_simulated_report())
    section = md.split("## Precheck messages")[1].split("\n## ")[0]
    assert "Blocked by a precheck ERROR" not in section
    assert (
        "vcenter.wcp.upgrade.precheck.blocked" in section.split("Blocked by a precheck WARNING")[1]
    )


def test_precheck_groups_list_each_supervisor_once() -> None:
    """A message vCenter repeated is listed once per Supervisor."""
    md = render_markdown(stopped_simulated_report())
    section = md.split("## Precheck messages")[1].split("\n## ")[0]
    tkc = section.split("tkc.compat")[1]
    assert "(1 Supervisor(s))" in section.split("tkc.compat")[1][:30]
    assert tkc.count("- sv-warned") == 1


def test_timeline_marks_the_halt_instant() -> None:
    """The HTML timeline draws a red line at the halting decision's instant."""
    html = render_html(sample_report())
    svg = html.split("<svg", 1)[1].split("</svg>", 1)[0]
    assert svg.count('<line class="haltmark"') == 1
    assert "wave main halted at 2026-12-05 22:52:00Z" in svg
    halt_x = float(re.search(r'<line class="haltmark" x1="([\d.]+)"', svg).group(1))  # type: ignore[union-attr]
    wave_x = [float(x) for x in re.findall(r'<line class="wave" x1="([\d.]+)"', svg)]
    assert wave_x[1] < halt_x  # after the halted wave started
    assert '<line class="haltmark"' not in render_html(stopped_simulated_report())


def test_huge_timeline_is_aggregated(monkeypatch: pytest.MonkeyPatch) -> None:
    """Above MAX_ROWS Supervisors the timeline draws in-flight bands per vCenter, not rows."""
    monkeypatch.setattr(timeline_module, "MAX_ROWS", 5)
    svg = render_html(sample_report()).split("<svg", 1)[1].split("</svg>", 1)[0]
    assert '<rect class="bar' not in svg
    assert svg.count('<text class="vc"') == 3
    assert "Supervisors, at most" in svg
    assert "in-flight upgrades per vCenter" in svg
    assert '<line class="haltmark"' in svg


def test_rejected_wave_names_who_and_why() -> None:
    """A human reject halts the wave; the halt box quotes who rejected it and why."""
    from fleetupgrade.outcomes import WaveStatus
    from fleetupgrade.report import Decision, HistoryEntry

    report = sample_report()
    main = report.waves[1]
    at = main.started_at
    assert at is not None
    report = report.model_copy(
        update={
            "decisions": [Decision(at=at, wave="main", rule="approval", verdict="rejected")],
            "history": [
                HistoryEntry(at=at, event="rejected", wave="main", by="carol", reason="freeze")
            ],
            "waves": [report.waves[0], main.model_copy(update={"status": WaveStatus.HALTED})],
        }
    )
    for render in (render_text, render_markdown, render_html):
        assert "Rejected by carol: freeze." in render(report)
