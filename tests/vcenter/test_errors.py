"""Error answers: every vAPI error kind of §2.2, bodiless statuses, malformed answers.

These use the fake vCenter: the simulator only emits the kinds each operation declares.
"""

from __future__ import annotations

from typing import Any

import pytest

from fleetupgrade.errors import APIError, MalformedResponse, VCenterUnreachable
from fleetupgrade.vcenter import VCenterClient
from fleetupgrade.vcenter.errors_map import ERROR_TYPE_STATUS, STATUS_TO_ERROR_TYPE
from fleetupgrade.vcenter.transport import RETRY_STATUSES
from tests.vcenter.conftest import Answer, FakeVCenter, endpoint_for

pytestmark = pytest.mark.anyio

VERSIONS = "/api/vcenter/namespace-management/software/supervisors/versions"
UPGRADES = "/api/vcenter/namespace-management/software/supervisors/upgrades"


@pytest.mark.parametrize(
    ("error_type", "status"),
    sorted(
        (kind, status) for kind, status in ERROR_TYPE_STATUS.items() if status not in RETRY_STATUSES
    ),
)
async def test_every_vapi_error_type_maps(fake: FakeVCenter, error_type: str, status: int) -> None:
    """A vAPI error body becomes APIError with its kind, status, texts and operation."""
    body = {
        "error_type": error_type,
        "messages": [
            {"id": "a", "default_message": "first cause", "args": []},
            {"id": "b", "default_message": "second cause", "args": []},
        ],
    }
    fake.script("GET", VERSIONS, Answer(status, body))
    async with VCenterClient(endpoint_for(fake.url)) as vc:
        with pytest.raises(APIError) as info:
            await vc.list_versions()
    error = info.value
    assert (error.error_type, error.status, error.operation) == (
        error_type,
        status,
        "list_versions",
    )
    assert error.messages == ("first cause", "second cause")
    assert error.vcenter == "vc-test"
    assert "first cause" in str(error)


@pytest.mark.parametrize(
    ("status", "error_type"),
    [(503, "SERVICE_UNAVAILABLE"), (504, "TIMED_OUT"), (502, "ERROR")],
)
@pytest.mark.parametrize("vapi_body", [True, False])
async def test_gateway_errors_end_unreachable_never_refused(
    fake: FakeVCenter, status: int, error_type: str, vapi_body: bool
) -> None:
    """A 502/503/504 that persists on a read is VCenterUnreachable naming status and kind."""
    body = {"error_type": error_type, "messages": []} if vapi_body else None
    fake.script("GET", VERSIONS, Answer(status, body, "application/json" if vapi_body else None))
    async with VCenterClient(endpoint_for(fake.url)) as vc:
        with pytest.raises(VCenterUnreachable) as info:
            await vc.list_versions()
    assert not isinstance(info.value, APIError)
    assert f"HTTP {status} ({error_type}), after retries" in str(info.value)


@pytest.mark.parametrize(
    ("status", "error_type"),
    sorted((s, kind) for s, kind in STATUS_TO_ERROR_TYPE.items() if s not in RETRY_STATUSES),
)
@pytest.mark.parametrize(
    ("body", "content_type"),
    [(None, None), (b"<html>bad gateway</html>", "text/html"), (b"{not json", "application/json")],
)
async def test_bodiless_errors_map_by_status(
    fake: FakeVCenter, status: int, error_type: str, body: Any, content_type: str | None
) -> None:
    """Without a vAPI body, the runtime's client-side reverse map classifies the status."""
    fake.script("GET", VERSIONS, Answer(status, body, content_type))
    async with VCenterClient(endpoint_for(fake.url)) as vc:
        with pytest.raises(APIError) as info:
            await vc.list_versions()
    assert (info.value.error_type, info.value.status) == (error_type, status)


@pytest.mark.parametrize(("status", "error_type"), [(599, "ERROR"), (499, "INVALID_REQUEST")])
async def test_statuses_outside_the_map_fall_back(
    fake: FakeVCenter, status: int, error_type: str
) -> None:
    """Statuses the reverse map lacks read as ERROR (5xx) or INVALID_REQUEST (4xx)."""
    fake.script("GET", VERSIONS, Answer(status, None, None))
    async with VCenterClient(endpoint_for(fake.url)) as vc:
        with pytest.raises(APIError) as info:
            await vc.list_versions()
    assert info.value.error_type == error_type


async def test_unknown_error_type_is_kept_verbatim(fake: FakeVCenter) -> None:
    """A kind this version does not know is reported as sent."""
    fake.script("GET", VERSIONS, Answer(400, {"error_type": "BRAND_NEW", "messages": []}))
    async with VCenterClient(endpoint_for(fake.url)) as vc:
        with pytest.raises(APIError, match="BRAND_NEW") as info:
            await vc.list_versions()
    assert info.value.messages == ()


@pytest.mark.parametrize(
    ("answer", "detail"),
    [
        (Answer(200, b"{not json"), "Invalid JSON"),
        (Answer(200, {"supervisors": [{"supervisor": "s"}]}), "supervisors.0.current_version"),
        (Answer(200, {"supervisors": [{"supervisor": 7}]}), "supervisors.0.supervisor"),
        (Answer(200, {"items": []}), "supervisors: Field required"),
        (Answer(200, None), "Invalid JSON"),
        (Answer(200, {"supervisors": []}, "text/plain"), "Content-Type 'text/plain'"),
    ],
)
async def test_malformed_answers_name_operation_and_field(
    fake: FakeVCenter, answer: Answer, detail: str
) -> None:
    """An answer off the contract is MalformedResponse naming the operation and the field."""
    fake.script("GET", UPGRADES, answer)
    async with VCenterClient(endpoint_for(fake.url)) as vc:
        with pytest.raises(MalformedResponse, match="list_upgrades") as info:
            await vc.list_upgrades()
    assert detail in str(info.value)


async def test_json_media_type_variants_are_accepted(fake: FakeVCenter) -> None:
    """``application/json; charset=utf-8`` and ``application/*+json`` are JSON."""
    fake.script(
        "GET",
        VERSIONS,
        Answer(
            200, {"supervisor_versions": [{"version": "9.1.0"}]}, "application/json; charset=utf-8"
        ),
        Answer(200, {"supervisor_versions": []}, "application/vnd.vmware+json"),
    )
    async with VCenterClient(endpoint_for(fake.url)) as vc:
        assert await vc.list_versions() == ["9.1.0"]
        assert await vc.list_versions() == []
