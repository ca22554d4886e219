"""report.json model: strict, round-trips exactly, times in one format, totals stable."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st
from pydantic import ValidationError

from fleetupgrade.outcomes import Outcome
from fleetupgrade.report.model import (
    HistoryEntry,
    Report,
    SupervisorReport,
    ThresholdRef,
    WaveReport,
    compute_totals,
    render_json,
    report_json_schema_text,
)
from fleetupgrade.timefmt import format_instant
from tests.report.sample import (
    partial_dry_run_report,
    sample_report,
    stopped_simulated_report,
)

SCHEMA_FILE = Path(__file__).parents[2] / "docs" / "report.schema.json"


@pytest.mark.parametrize(
    "factory", [sample_report, partial_dry_run_report, stopped_simulated_report]
)
def test_json_round_trip_is_exact(factory: object) -> None:
    """A report reloaded from its JSON equals the original and re-serialises identically."""
    report = factory()  # type: ignore[operator]
    text = render_json(report)
    again = Report.model_validate_json(text)
    assert again == report
    assert render_json(again) == text


def test_json_keys_follow_the_contract() -> None:
    """report.json has the keys of docs/design.md, "Report", in its order."""
    data = json.loads(render_json(sample_report()))
    assert list(data) == [
        "schema_version", "run_id", "plan", "mode", "simulated", "scenario_sha256",
        "tool_version", "operator", "change_ref", "started_at", "finished_at", "result",
        "exit_code", "totals", "waves", "vcenters", "decisions", "history", "notifications",
    ]  # fmt: skip
    assert data["schema_version"] == 2
    assert list(data["waves"][0]) == [
        "name", "status", "threshold", "failure_threshold", "precheck_errors",
        "upgrade_failures", "started_at", "finished_at", "supervisors",
    ]  # fmt: skip
    assert list(data["waves"][0]["supervisors"][0]) == [
        "vcenter", "id", "name", "from_version", "to_version", "outcome", "reason", "task_id",
        "started_at", "finished_at", "health_wait_seconds", "control_plane_nodes", "messages",
    ]  # fmt: skip
    assert list(data["decisions"][0]) == [
        "at", "wave", "rule", "errors", "failures", "size", "limit", "verdict", "culprits",
    ]  # fmt: skip
    assert data["decisions"][2]["culprits"][1] == {
        "supervisor": "sv-prod-03",
        "ids": ["vsphere.pods.capacity"],
    }
    assert list(data["vcenters"][0]) == [
        "name", "url", "requests", "retries", "errors", "paced_waits", "breaker_opens",
    ]  # fmt: skip
    stopped = json.loads(render_json(stopped_simulated_report()))
    assert list(stopped["history"][1]) == ["at", "event", "wave", "by", "reason"]
    assert list(stopped["notifications"][0]) == ["at", "target", "event", "status", "attempts"]
    assert data["waves"][1]["threshold"] == {"kind": "percent", "limit": 12.5}


def test_times_are_utc_millis_with_z() -> None:
    """Times are written as RFC 3339 UTC with milliseconds and Z, whatever the input zone."""
    plus_two = timezone(timedelta(hours=2))
    wave = WaveReport(
        name="w",
        status="completed",
        threshold=ThresholdRef(kind="count", limit=0),
        started_at=datetime(2026, 12, 6, 0, 0, 1, 123456, tzinfo=plus_two),
    )
    assert wave.started_at == datetime(2026, 12, 5, 22, 0, 1, 123000, tzinfo=UTC)
    assert json.loads(wave.model_dump_json())["started_at"] == "2026-12-05T22:00:01.123Z"
    data = json.loads(render_json(sample_report()))
    assert data["started_at"] == "2026-12-05T22:00:00.000Z"
    assert data["finished_at"] == "2026-12-06T00:01:14.070Z"


@given(st.datetimes(timezones=st.just(UTC)))
def test_format_instant_parses_back(value: datetime) -> None:
    """format_instant is valid RFC 3339 that parses back to the millisecond."""
    text = format_instant(value)
    assert text.endswith("Z")
    assert len(text.split(".")[-1]) == 4
    parsed = datetime.fromisoformat(text)
    assert parsed == value.replace(microsecond=value.microsecond // 1000 * 1000)


def test_naive_datetime_is_rejected() -> None:
    """A time without a zone is a bug in the caller, not something to guess about."""
    with pytest.raises(ValidationError, match="timezone"):
        SupervisorReport(vcenter="vc", started_at=datetime(2026, 1, 1))


def test_unknown_keys_are_rejected_and_models_frozen() -> None:
    """extra='forbid' and frozen: a typo or a late mutation fails loudly."""
    data = json.loads(render_json(sample_report()))
    data["waves"][0]["supervisors"][0]["outcom"] = "upgraded"
    with pytest.raises(ValidationError, match="outcom"):
        Report.model_validate(data)
    with pytest.raises(ValidationError, match="frozen"):
        sample_report().run_id = "x"  # type: ignore[misc]


def test_unknown_outcome_is_rejected() -> None:
    """Only the outcomes of docs/design.md, "Outcomes", are accepted."""
    with pytest.raises(ValidationError, match="outcome"):
        SupervisorReport.model_validate({"vcenter": "vc", "outcome": "exploded"})


def test_compute_totals_orders_by_outcome_and_counts_pending_last() -> None:
    """Totals list occurring outcomes in Outcome order; unfinished ones count as pending."""
    assert list(sample_report().totals) == [
        "upgraded", "already_current", "precheck_error", "precheck_warning", "rejected",
        "failed", "timed_out", "not_started", "detached", "unreachable",
    ]  # fmt: skip
    assert sample_report().totals["not_started"] == 3
    assert partial_dry_run_report().totals == {"would_upgrade": 1, "in_progress": 1, "pending": 2}
    assert compute_totals([]) == {}


def test_halting_decision_is_the_halt_verdict() -> None:
    """halting_decision finds the evaluation that halted the wave, not an earlier one."""
    report = sample_report()
    decision = report.halting_decision("main")
    assert decision is not None
    assert (decision.errors, decision.verdict) == (2, "halt")
    assert report.halting_decision("canary") is None
    assert stopped_simulated_report().halting_decision("canary") is None  # approved, refused


def test_version_1_report_still_loads() -> None:
    """A report.json written before schema 2 loads with defaults and keeps its version."""
    data = json.loads(render_json(sample_report()))
    for key in (
        "simulated",
        "scenario_sha256",
        "tool_version",
        "operator",
        "change_ref",
        "history",
        "notifications",
    ):
        del data[key]  # fmt: skip
    data["schema_version"] = 1
    for wave in data["waves"]:
        del wave["failure_threshold"]
        for sv in wave["supervisors"]:
            del sv["health_wait_seconds"], sv["control_plane_nodes"]
    for decision in data["decisions"]:
        del decision["culprits"]
    old = Report.model_validate(data)
    assert (old.schema_version, old.simulated, old.history) == (1, False, [])
    assert json.loads(render_json(old))["schema_version"] == 1


def test_supervisor_label_falls_back_to_id() -> None:
    """A Supervisor known only by id is labelled by its id."""
    assert SupervisorReport(vcenter="vc", id="supervisor-1").label == "supervisor-1"
    assert SupervisorReport(vcenter="vc", outcome=Outcome.UNREACHABLE).label == "?"


def test_committed_schema_is_in_sync() -> None:
    """docs/report.schema.json matches the model (regenerate it when the model changes)."""
    expected = report_json_schema_text()
    assert SCHEMA_FILE.read_text(encoding="utf-8") == expected, (
        "regenerate: .venv/bin/python -c 'from fleetupgrade.report.model import "
        'report_json_schema_text as t; open("docs/report.schema.json", "w").write(t())\''
    )


def test_stop_entry_is_forgotten_after_a_resume() -> None:
    """The stop that ended a run is its latest one; a later resume clears it."""
    report = stopped_simulated_report()
    stop = report.stop_entry()
    assert stop is not None
    assert stop.reason == "SIGTERM"
    resumed = report.model_copy(
        update={"history": [*report.history, HistoryEntry(at=stop.at, event="resumed")]}
    )
    assert resumed.stop_entry() is None
    assert sample_report().stop_entry() is None
