"""Wire models: strict types, tolerated extras, unknown enums, RFC 3339 date-times."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

import pytest
from pydantic import ValidationError
from structlog.testing import capture_logs

from fleetupgrade.vcenter import (
    ConditionStatus,
    TaskInfo,
    TaskStatus,
    UpgradeInfo,
    UpgradeState,
    UpgradeSummary,
    parse_datetime,
)
from fleetupgrade.vcenter.models import SummaryListResult, task_map

MESSAGE = {"id": "m.id", "default_message": "text", "args": []}
SUMMARY: dict[str, Any] = {
    "supervisor": "supervisor-1",
    "current_version": "9.0.0",
    "available_versions": ["9.1.0"],
    "state": "READY",
}


def _summary(**changes: Any) -> UpgradeSummary:
    return UpgradeSummary.model_validate_json(json.dumps(SUMMARY | changes))


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("2026-11-26T22:00:00.000Z", datetime(2026, 11, 26, 22, 0, tzinfo=UTC)),
        ("2026-11-26T22:00:00Z", datetime(2026, 11, 26, 22, 0, tzinfo=UTC)),
        ("2026-11-26T23:30:00+01:30", datetime(2026, 11, 26, 22, 0, tzinfo=UTC)),
        ("2026-11-26T21:00:00-01:00", datetime(2026, 11, 26, 22, 0, tzinfo=UTC)),
        ("2026-11-26T22:00:00.5Z", datetime(2026, 11, 26, 22, 0, 0, 500000, tzinfo=UTC)),
        (
            "2026-11-26T22:00:00.123456789Z",
            datetime(2026, 11, 26, 22, 0, 0, 123456, tzinfo=UTC),
        ),
    ],
)
def test_parse_datetime_accepts_contract_forms(text: str, expected: datetime) -> None:
    """Every RFC 3339 form of the contract parses to an aware UTC datetime."""
    parsed = parse_datetime(text)
    assert parsed == expected
    assert parsed.tzinfo is UTC


@pytest.mark.parametrize(
    "text",
    [
        "2026-11-26T22:00:00",
        "2026-11-26 22:00:00Z",
        "2026-11-26t22:00:00Z",
        "2026-11-26T22:00:00z",
        "2026-11-26T22:00:00+0000",
        "2026-11-26T22:00Z",
        "2026-11-26",
        "2026-11-26T22:00:00+24:00",
    ],
)
def test_parse_datetime_rejects_forms_the_contract_rejects(text: str) -> None:
    """Forms the SDK rejects (no offset, space, lower case, +0000, no seconds) are errors."""
    with pytest.raises(ValueError, match=r"RFC 3339|offset"):
        parse_datetime(text)


def test_extra_fields_are_ignored() -> None:
    """Unknown response fields are tolerated (forward compatibility)."""
    assert _summary(new_field={"x": 1}).supervisor == "supervisor-1"


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"supervisor": None}, "supervisor"),
        ({"supervisor": 3}, "supervisor"),
        ({"available_versions": None}, "available_versions"),
        ({"state": 1}, "state"),
        ({"last_upgraded_date": "yesterday"}, "last_upgraded_date"),
    ],
)
def test_wrong_or_null_required_field_is_rejected(changes: dict[str, Any], field: str) -> None:
    """A null or ill-typed required field fails validation at that field."""
    with pytest.raises(ValidationError) as info:
        _summary(**changes)
    assert info.value.errors()[0]["loc"][0] == field


def test_missing_required_field_is_rejected() -> None:
    """A missing required field fails validation."""
    body = {key: value for key, value in SUMMARY.items() if key != "current_version"}
    with pytest.raises(ValidationError, match="current_version"):
        UpgradeSummary.model_validate_json(json.dumps(body))


@pytest.mark.parametrize("raw", ["3", 3.0])
def test_integers_are_strict(raw: Any) -> None:
    """``"3"`` and ``3.0`` are not JSON integers."""
    body = {"total": raw, "completed": 0, "message": MESSAGE}
    status = {"desired_version": "9.1.0", "messages": [], "progress": body}
    info = {"current_version": "9.0.0", "available_versions": [], "messages": []}
    document = info | {"state": "INPROGRESS", "upgrade_status": status}
    with pytest.raises(ValidationError, match="total"):
        UpgradeInfo.model_validate_json(json.dumps(document))


def test_optional_null_reads_as_unset() -> None:
    """An optional field sent as null reads like an omitted one."""
    assert _summary(desired_version=None, last_upgraded_date=None).desired_version is None


@pytest.mark.parametrize("raw", ["DONE", "ready", ""])
def test_unknown_enum_is_unrecognized_and_logged(raw: str) -> None:
    """Unknown enum strings become UNRECOGNIZED (never a success value) and are logged."""
    with capture_logs() as logs:
        state = _summary(state=raw).state
    assert state is UpgradeState.UNRECOGNIZED
    assert state not in (UpgradeState.READY, UpgradeState.INPROGRESS)
    assert logs == [
        {
            "event": "unknown_enum_value",
            "enum": "UpgradeState",
            "value": raw,
            "log_level": "warning",
        }
    ]


def test_real_unknown_values_are_not_unrecognized() -> None:
    """The contract's own ``UNKNOWN`` values are kept as such."""
    condition = {
        "type": "TkcCompatibility",
        "description": MESSAGE,
        "status": "UNKNOWN",
        "reason": "",
        "severity": "INFO",
        "messages": [],
    }
    info = {"current_version": "9.0.0", "available_versions": [], "messages": []}
    document = info | {"state": "READY", "upgrade_prechecks": [condition]}
    parsed = UpgradeInfo.model_validate_json(json.dumps(document))
    assert parsed.upgrade_prechecks is not None
    assert parsed.upgrade_prechecks[0].status is ConditionStatus.UNKNOWN


def test_summary_list_is_flattened() -> None:
    """Summary items become SupervisorSummary with the id and the APIEndpoint key."""
    info = {
        "name": "sv-lab-01",
        "APIEndpoint": "10.0.0.1",
        "stats": {},
        "config_status": "RUNNING",
        "kubernetes_status": "READY",
    }
    document = {"items": [{"supervisor": "supervisor-1", "info": info}]}
    (row,) = SummaryListResult.model_validate_json(json.dumps(document)).supervisors()
    assert (row.id, row.name, row.api_endpoint) == ("supervisor-1", "sv-lab-01", "10.0.0.1")


TASK: dict[str, Any] = {
    "description": MESSAGE,
    "service": "svc",
    "operation": "create",
    "status": "RUNNING",
    "cancelable": True,
    "start_time": "2026-11-26T22:00:00.000Z",
    "progress": {"total": 100, "completed": 5, "message": MESSAGE},
}


@pytest.mark.parametrize("missing", ["progress", "start_time"])
def test_task_union_rule_is_enforced(missing: str) -> None:
    """A RUNNING task without progress or start_time is malformed."""
    body = {key: value for key, value in TASK.items() if key != missing}
    with pytest.raises(ValidationError, match=f"{missing} is required when status is RUNNING"):
        TaskInfo.model_validate_json(json.dumps(body))


def test_task_list_forms_are_equivalent() -> None:
    """Tasks list as an object and as key/value pairs read the same."""
    from fleetupgrade.vcenter.answers import _TASKS

    as_object = task_map(_TASKS.validate_json(json.dumps({"t1": TASK})))
    as_pairs = task_map(_TASKS.validate_json(json.dumps([{"key": "t1", "value": TASK}])))
    assert as_object == as_pairs
    assert as_object["t1"].status is TaskStatus.RUNNING
