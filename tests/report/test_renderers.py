"""Renderers: deterministic, escaped, and saying what a change board needs to read."""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from collections.abc import Callable
from pathlib import Path

import pytest

from fleetupgrade.outcomes import FAILURE_OUTCOMES, SKIPPED_OUTCOMES, Outcome
from fleetupgrade.report import (
    Report,
    render_html,
    render_json,
    render_junit,
    render_markdown,
    render_summary,
    render_text,
)
from tests.report.sample import ODD_NAME, ODD_TEXT, partial_dry_run_report, sample_report

RENDERERS: list[Callable[[Report], str]] = [
    render_text,
    render_markdown,
    render_html,
    render_junit,
    render_json,
]
EXTERNAL = re.compile(r"""(?:src|href|xlink:href|action)\s*=\s*["']?\s*(?:https?:)?//""", re.I)


@pytest.mark.parametrize("render", RENDERERS)
@pytest.mark.parametrize("factory", [sample_report, partial_dry_run_report])
def test_renderers_are_deterministic(
    render: Callable[[Report], str], factory: Callable[[], Report]
) -> None:
    """The same report renders to the same text, and again after a JSON round trip."""
    report = factory()
    text = render(report)
    assert text == render(factory())
    assert text == render(Report.model_validate_json(render_json(report)))
    assert text.endswith("\n")


@pytest.mark.parametrize("render", [render_markdown, render_html, render_junit])
def test_untrusted_text_never_appears_raw(render: Callable[[Report], str]) -> None:
    """Names and messages from vCenters are escaped in every markup format."""
    text = render(sample_report())
    assert "<script" not in text
    assert "<img" not in text
    assert "<b>blue" not in text
    assert ODD_NAME not in text
    assert ODD_TEXT not in text


def test_text_shows_everything_plainly() -> None:
    """Terminal text: header, totals, every Supervisor, the halt decision, grouped messages."""
    text = render_text(sample_report())
    assert "Result:        halted\n" in text
    assert "Exit code:     3\n" in text
    assert "Decision: rule max_precheck_error_percent: 2 precheck error(s)" in text
    assert ODD_NAME in text  # plain text needs no escaping
    assert "ERROR vsphere.pods.capacity (2 Supervisor(s))" in text
    assert "\x1b" not in text  # no colour unless asked for
    assert all(line == line.rstrip() for line in text.splitlines())


def test_text_strips_control_characters() -> None:
    """Terminal escape sequences from a vCenter cannot reach the operator's terminal."""
    report = sample_report()
    wave = report.waves[0]
    evil = wave.supervisors[0].model_copy(update={"reason": "ok\x1b[2J\x07done\nnext"})
    report = report.model_copy(
        update={"waves": [wave.model_copy(update={"supervisors": [evil]}), *report.waves[1:]]}
    )
    text = render_text(report)
    assert "\x1b" not in text
    assert "\x07" not in text
    assert "ok\N{REPLACEMENT CHARACTER}[2J\N{REPLACEMENT CHARACTER}done next" in text


def test_markdown_header_totals_and_waves() -> None:
    """Markdown carries the ticket header, a totals table and one table per wave."""
    md = render_markdown(sample_report())
    for needle in (
        "| Plan | q4-supervisor-upgrade (plans/q4.toml) |",
        "| Run id | 20261205T220000Z-q4-supervisor-upgrade-3f9a |",
        "| Mode | run |",
        "| Simulated | no |",
        "| Started | 2026-12-05 22:00:00Z |",
        "| Finished | 2026-12-06 00:01:14Z (took 2h1m14s) |",
        "| Result | **halted** |",
        "| Exit code | 3 |",
        "| precheck\\_error | 2 |",
        "| total | 14 |",
        "### Wave canary: completed",
        "### Wave main: halted",
        "| sv-prod-04 | vc-west | 9.0.0 → 9.1.0 | failed | control plane node 2 failed to boot "
        "| task-204 |",
    ):
        assert needle in md


def test_markdown_explains_the_halt_with_its_decision() -> None:
    """The halted wave quotes the decision that halted it: rule and counts."""
    md = render_markdown(sample_report())
    halted = md.split("### Wave main: halted")[1].split("###")[0]
    assert "> **Halted.**" in halted
    assert "rule max\\_precheck\\_error\\_percent: 2 precheck error(s)" in halted
    assert "wave size 9, limit 12.5, verdict halt" in halted
    assert "> Tipped by: sv-&lt;script&gt;" in halted
    assert "sv-prod-03 (vsphere.pods.capacity)." in halted


def test_markdown_groups_messages_by_outcome_then_precheck_id() -> None:
    """Sections follow the Supervisor's outcome; each id appears once per section."""
    md = render_markdown(sample_report())
    section = md.split("## Precheck messages")[1].split("\n## ")[0]
    headings = re.findall(r"^###+ (.*)$", section, re.M)
    assert headings == [
        "Blocked by a precheck ERROR",
        "ERROR: vsphere.pods.capacity (2 Supervisor(s))",
        "WARNING: odd.id (1 Supervisor(s))",
        "WARNING: tkc.compat (1 Supervisor(s))",
        "Blocked by a precheck WARNING",
        "WARNING: tkc.compat (1 Supervisor(s))",
    ]
    warned = section.split("Blocked by a precheck WARNING")[1]
    assert "- sv-lab-03 (vc-west, wave canary)" in warned
    assert "- sv-prod-03 (vc-west, wave main)" in section.split("Blocked by a precheck WARNING")[0]


def test_markdown_table_cells_cannot_break_tables() -> None:
    """A pipe or a newline in a name stays inside its cell."""
    md = render_markdown(sample_report())
    row = next(line for line in md.splitlines() if line.startswith("| sv-&lt;script&gt;"))
    assert row.count(" | ") == 5  # six cells, escaped pipes do not count
    assert "\\|\\*\\_" in row


def test_html_is_self_contained() -> None:
    """No script, no external src/href, no @import, no url(): one file that works offline."""
    html = render_html(sample_report())
    assert html.startswith("<!DOCTYPE html>")
    assert "<script" not in html.lower()
    assert "@import" not in html
    assert "url(" not in html
    assert not EXTERNAL.search(html)
    assert "<link" not in html
    assert "@media print" in html


def test_html_has_totals_tables_timeline_and_messages() -> None:
    """The HTML shows totals, one table per wave, a timeline row per Supervisor, messages."""
    report = sample_report()
    html = render_html(report)
    assert html.count("<table>") == len(report.waves) + 2  # waves + decisions + vCenters
    svg = html.split("<svg", 1)[1].split("</svg>", 1)[0]
    supervisors = [sv for _, sv in report.supervisors()]
    bars = svg.count('<rect class="bar')
    markers = svg.count("<circle")
    assert bars + markers == len(supervisors)
    assert markers == sum(sv.started_at is None and sv.finished_at is None for sv in supervisors)
    assert svg.count('<text class="vc"') == 3
    assert '<text class="tick"' in svg
    assert 'class="bar open"' in svg  # detached job still running when the report was written
    assert "vsphere.pods.capacity" in html.split('id="messages"')[1]
    assert "Decision: rule max_precheck_error_percent: 2 precheck error(s)" in html
    assert "Tipped by: sv-&lt;script&gt;" in html
    assert "&lt;script&gt;alert(&quot;x&quot;)" in html


def test_html_without_times_has_no_timeline() -> None:
    """A report where nothing has started renders without a timeline, not with an error."""
    report = sample_report()
    waves = [
        w.model_copy(
            update={
                "supervisors": [
                    sv.model_copy(update={"started_at": None, "finished_at": None})
                    for sv in w.supervisors
                ]
            }
        )
        for w in report.waves
    ]
    html = render_html(report.model_copy(update={"waves": waves}))
    assert html.count("<circle") == sum(len(w.supervisors) for w in waves)


def _junit_cases(report: Report) -> list[ET.Element]:
    root = ET.fromstring(render_junit(report))
    return list(root.iter("testcase"))


@pytest.mark.parametrize("factory", [sample_report, partial_dry_run_report])
def test_junit_has_one_case_per_supervisor(factory: Callable[[], Report]) -> None:
    """One suite per wave, one case per Supervisor, counts that match the cases."""
    report = factory()
    root = ET.fromstring(render_junit(report))
    suites = root.findall("testsuite")
    assert [s.get("name") for s in suites] == [w.name for w in report.waves]
    for suite, wave in zip(suites, report.waves, strict=True):
        cases = suite.findall("testcase")
        assert len(cases) == len(wave.supervisors) == int(suite.get("tests", "-1"))
        assert int(suite.get("failures", "-1")) == sum(c.find("failure") is not None for c in cases)
        assert int(suite.get("skipped", "-1")) == sum(c.find("skipped") is not None for c in cases)
        for case, sv in zip(cases, wave.supervisors, strict=True):
            assert case.get("classname") == f"{wave.name}.{sv.vcenter}"
            assert case.get("name") == sv.label
    assert int(root.get("tests", "-1")) == sum(len(w.supervisors) for w in report.waves)


@pytest.mark.parametrize("outcome", list(Outcome))
def test_junit_maps_each_outcome(outcome: Outcome) -> None:
    """Failure outcomes are <failure>, not_started/detached <skipped>, successes pass."""
    report = sample_report()
    wave = report.waves[0]
    sv = wave.supervisors[0].model_copy(update={"outcome": outcome, "reason": "why"})
    report = report.model_copy(update={"waves": [wave.model_copy(update={"supervisors": [sv]})]})
    (case,) = _junit_cases(report)
    failure, skipped = case.find("failure"), case.find("skipped")
    if outcome in FAILURE_OUTCOMES:
        assert failure is not None
        assert skipped is None
        assert failure.get("type") == outcome.value
        assert failure.get("message") == f"{outcome.value}: why"
    elif outcome in SKIPPED_OUTCOMES:
        assert (failure, skipped is not None) == (None, True)
    else:
        assert (failure, skipped) == (None, None)


def test_junit_failure_carries_reason_and_messages() -> None:
    """A precheck failure's text has the reason and every message, escaped correctly."""
    cases = _junit_cases(sample_report())
    odd = next(c for c in cases if c.get("name") == ODD_NAME)
    failure = odd.find("failure")
    assert failure is not None
    assert failure.text is not None
    assert "reason: prechecks reported ERROR" in failure.text
    assert f"WARNING odd.id: {ODD_TEXT}" in failure.text
    assert "ERROR vsphere.pods.capacity: Not enough capacity" in failure.text


def test_junit_pending_is_skipped() -> None:
    """A Supervisor still pending in a partial report is skipped, not passed."""
    cases = _junit_cases(partial_dry_run_report())
    assert [c.find("skipped") is not None for c in cases] == [False, False, True, True]
    assert cases[1].find("failure") is not None  # in_progress needs a human


def test_junit_survives_control_characters() -> None:
    """Characters XML cannot carry are replaced, so the file always parses."""
    report = sample_report()
    wave = report.waves[0]
    sv = wave.supervisors[2].model_copy(update={"name": "bad\x00name", "reason": "x\x1by"})
    report = report.model_copy(update={"waves": [wave.model_copy(update={"supervisors": [sv]})]})
    (case,) = _junit_cases(report)
    assert case.get("name") == "bad\N{REPLACEMENT CHARACTER}name"


def test_summary_names_result_halt_and_files(tmp_path: Path) -> None:
    """The end-of-run summary: result and exit code, totals, why it halted, where to look."""
    text = render_summary(sample_report(), tmp_path)
    lines = text.splitlines()
    assert lines[0] == (
        "fleetupgrade run 20261205T220000Z-q4-supervisor-upgrade-3f9a: halted (exit code 3) "
        "after 2h1m14s"
    )
    assert lines[1].startswith("Supervisors: 14 (2 upgraded, 1 already_current, 2 precheck_error")
    assert "Wave main halted: rule max_precheck_error_percent: 2 precheck error(s)" in text
    assert "  tipped by sv-<script>" in text
    assert "Waves not started: final" in text
    assert f"Report: {tmp_path / 'report.html'}" in text


def test_summary_of_partial_dry_run() -> None:
    """A dry run in progress says so and lists no files when there is no run directory."""
    text = render_summary(partial_dry_run_report(), None)
    assert text.startswith("fleetupgrade dry run ")
    assert "in progress" in text
    assert "Report:" not in text
