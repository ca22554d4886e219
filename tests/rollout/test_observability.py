"""A whole run seen from outside: its event stream, its secrets, its re-rendered report."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from fleetupgrade.cli.main import cli
from tests.rollout.conftest import PASSWORD_ENV, PlanSpec
from tests.rollout.scenarios import error_check, refs, scenario, sup

SENTINEL = "Sentinel-Pa55word-7f3c"


@pytest.fixture
def finished_run(
    start_sim: Any, fleet_cli: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> Any:
    """A run with a sentinel password, one upgrade and one precheck ERROR."""
    sim = start_sim(
        scenario(
            {"vc-east": [sup("supervisor-1"), sup("supervisor-2", prechecks=error_check())]},
            users=[
                {
                    "username": "administrator@vsphere.local",
                    "password": SENTINEL,
                    "privileges": ["Namespaces.Upgrade"],
                }
            ],
        )
    )
    monkeypatch.setenv(PASSWORD_ENV, SENTINEL)
    plan = PlanSpec(
        waves=[
            {
                "name": "only",
                "max_precheck_errors": 1,
                "supervisors": refs("vc-east", "supervisor-1", "supervisor-2"),
            }
        ]
    )
    result = fleet_cli("run", str(plan.write(tmp_path, sim)), "--log-level", "debug")
    assert result.exit_code == 1, result.output
    return result


def test_event_stream_tells_the_whole_story(finished_run: Any) -> None:
    """events.jsonl carries the contract's event names and keys, in order."""
    events = finished_run.events()
    names = [e["event"] for e in events]
    for expected in (
        "run_started",
        "wave_started",
        "upgrade_job_created",
        "upgrade_progress",
        "precheck_result",
        "supervisor_finished",
        "wave_finished",
        "run_finished",
    ):
        assert expected in names, expected
    assert names.index("run_started") < names.index("wave_started") < names.index("run_finished")
    run_id = finished_run.run_dir.name
    for event in events:
        assert event["run_id"] == run_id
        assert event["timestamp"].endswith("Z")
        assert len(event["timestamp"]) == len("2026-11-27T01:02:03.456Z")
        assert event["level"] in ("debug", "info", "warning", "error")
    created = next(e for e in events if e["event"] == "upgrade_job_created")
    assert (created["wave"], created["vcenter"]) == ("only", "vc-east")
    assert created["task_id"]
    finished = [e for e in events if e["event"] == "supervisor_finished"]
    assert sorted(e["outcome"] for e in finished) == ["precheck_error", "upgraded"]
    assert any(e["event"] == "http_request" for e in events)


def test_sentinel_password_appears_nowhere(finished_run: Any) -> None:
    """The password is in no file of the run directory (journal included) and not in the output."""
    assert SENTINEL not in finished_run.output
    for path in finished_run.run_dir.rglob("*"):
        if path.is_file():
            assert SENTINEL.encode() not in path.read_bytes(), path.name


@pytest.mark.parametrize(
    ("fmt", "name"),
    [("md", "report.md"), ("html", "report.html"), ("junit", "junit.xml"), ("json", "report.json")],
)
def test_report_rerenders_identically(
    finished_run: Any, tmp_path: Path, fmt: str, name: str
) -> None:
    """`fleetupgrade report` re-renders each file byte for byte from the run's files."""
    out = tmp_path / f"again-{name}"
    result = CliRunner().invoke(
        cli, ["report", str(finished_run.run_dir), "--format", fmt, "-o", str(out)]
    )
    assert result.exit_code == 0, result.output
    assert out.read_bytes() == (finished_run.run_dir / name).read_bytes()


def test_junit_has_one_case_per_supervisor(finished_run: Any) -> None:
    """junit.xml parses; one test case per Supervisor; the precheck ERROR is a failure."""
    root = ET.parse(finished_run.run_dir / "junit.xml").getroot()
    cases = root.findall(".//testcase")
    assert len(cases) == 2
    failures = [c for c in cases if c.find("failure") is not None]
    assert len(failures) == 1
