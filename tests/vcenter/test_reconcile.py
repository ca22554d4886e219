"""The pure parts of reconciliation: the verdict from both sources, and vCenter's clock."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from fleetupgrade.vcenter import TaskInfo, UpgradeInfo, Verdict
from fleetupgrade.vcenter.reconcile import judge
from fleetupgrade.vcenter.vclock import VCenterClock, parse_http_date
from tests.vcenter.conftest import job_task, upgrade_info

NOW = datetime(2026, 12, 5, 22, 0, tzinfo=UTC)
CUTOFF = NOW - timedelta(minutes=2)


def _task(start: datetime | None, **changes: Any) -> TaskInfo:
    return TaskInfo.model_validate_json(json.dumps(job_task(start, **changes)))


def _info(state: str = "READY", desired: str | None = None) -> UpgradeInfo:
    return UpgradeInfo.model_validate_json(json.dumps(upgrade_info(state, desired)))


@pytest.mark.parametrize(
    ("tasks", "upgrade", "cutoff", "verdict", "task_id"),
    [
        ({}, _info(), CUTOFF, Verdict.NO_JOB, None),
        ({"old": _task(NOW - timedelta(hours=1))}, _info(), CUTOFF, Verdict.NO_JOB, None),
        ({"new": _task(NOW - timedelta(minutes=1))}, _info(), CUTOFF, Verdict.JOB_FOUND, "new"),
        ({"pending": _task(None)}, _info(), CUTOFF, Verdict.JOB_FOUND, "pending"),
        ({}, _info("INPROGRESS", "9.1.0"), CUTOFF, Verdict.JOB_FOUND, None),
        ({}, _info("INPROGRESS", "9.2.0"), CUTOFF, Verdict.UNKNOWN, None),
        ({}, _info("INPROGRESS"), CUTOFF, Verdict.UNKNOWN, None),
        ({"other": _task(NOW, supervisor="sv-2")}, _info(), CUTOFF, Verdict.NO_JOB, None),
        ({"run": _task(NOW - timedelta(days=9))}, _info(), None, Verdict.JOB_FOUND, "run"),
        (
            {"done": _task(NOW - timedelta(days=9), status="FAILED")},
            _info(),
            None,
            Verdict.UNKNOWN,
            None,
        ),
        ({}, _info("ERROR"), None, Verdict.NO_JOB, None),
    ],
)
def test_verdicts(
    tasks: dict[str, TaskInfo],
    upgrade: UpgradeInfo,
    cutoff: datetime | None,
    verdict: Verdict,
    task_id: str | None,
) -> None:
    """No job only when neither source shows one; a fresh task wins; doubt is UNKNOWN."""
    found = judge("sv-1", "9.1.0", tasks, upgrade, cutoff)
    assert (found.verdict, found.task_id) == (verdict, task_id)
    assert found.reason


def test_newest_recent_task_is_chosen() -> None:
    """Of several recent tasks the newest is the job; a PENDING one counts as newest."""
    tasks = {"a": _task(NOW - timedelta(minutes=1)), "b": _task(NOW)}
    assert judge("sv-1", "9.1.0", tasks, _info(), CUTOFF).task_id == "b"
    tasks["c"] = _task(None)
    assert judge("sv-1", "9.1.0", tasks, _info(), CUTOFF).task_id == "c"


@pytest.mark.parametrize(
    ("header", "expected"),
    [
        ("Sat, 05 Dec 2026 22:00:00 GMT", NOW),
        ("Sat, 05 Dec 2026 23:00:00 +0100", NOW),
        ("Sat, 05 Dec 2026 22:00:00 -0000", NOW),
        ("yesterday", None),
        ("", None),
        (None, None),
    ],
)
def test_http_date_parsing(header: str | None, expected: datetime | None) -> None:
    """IMF-fixdate and RFC 5322 offsets read as UTC; anything else is unusable (None)."""
    assert parse_http_date(header) == expected


def test_clock_converts_with_the_nearest_estimate() -> None:
    """A past instant converts with the offset observed nearest to it, not the latest."""
    clock = VCenterClock()
    assert clock.to_vcenter(NOW) is None
    for minute, skew in ((0, 60), (10, 600)):  # a vCenter clock that drifts
        ours = NOW + timedelta(minutes=minute)
        vcenter = ours + timedelta(seconds=skew)
        clock.observe(vcenter.strftime("%a, %d %b %Y %H:%M:%S GMT"), ours)
    assert clock.offset == timedelta(seconds=600)
    assert clock.to_vcenter(NOW + timedelta(minutes=1)) == NOW + timedelta(minutes=1, seconds=60)
    assert clock.to_vcenter(NOW + timedelta(minutes=9)) == NOW + timedelta(minutes=9, seconds=600)
    clock.observe("garbage", NOW + timedelta(minutes=20))
    assert clock.offset == timedelta(seconds=600)
