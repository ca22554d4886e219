"""Requests: exact retry sequences, timeouts, limits, encoding, re-login, create settling.

Uses the fake vCenter where an exact sequence of answers (or a hang) is needed; the
same behaviours run against the simulator in ``test_client_sim.py``.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import anyio
import pytest
from structlog.testing import capture_logs

from fleetupgrade.errors import (
    APIError,
    CreateOutcomeUnknown,
    UpgradeJobNotCreated,
    UpgradeJobRejected,
    VCenterUnreachable,
)
from fleetupgrade.vcenter import JOBS_SERVICE, SUPERVISOR_TYPE, Counters, VCenterClient
from tests.vcenter.conftest import ATTEMPTS, Answer, FakeVCenter, endpoint_for

pytestmark = pytest.mark.anyio

SOFTWARE = "/api/vcenter/namespace-management/software/supervisors"
VERSIONS = f"{SOFTWARE}/versions"
UPGRADES = f"{SOFTWARE}/upgrades"
MESSAGE = {"id": "m", "default_message": "text", "args": []}
OK_VERSIONS = Answer(200, {"supervisor_versions": [{"version": "9.1.0"}]})
UNAUTHENTICATED = Answer(401, {"error_type": "UNAUTHENTICATED", "messages": []})


def _info(state: str = "READY", desired: str | None = None) -> dict[str, Any]:
    info: dict[str, Any] = {
        "current_version": "9.0.0",
        "available_versions": ["9.1.0"],
        "messages": [],
        "state": state,
    }
    if desired is not None:
        progress = {"total": 3, "completed": 0, "message": MESSAGE}
        info["upgrade_status"] = {"desired_version": desired, "messages": [], "progress": progress}
    return info


def _task(start: str | None) -> dict[str, Any]:
    task: dict[str, Any] = {
        "description": MESSAGE,
        "service": JOBS_SERVICE,
        "operation": "create",
        "target": {"type": SUPERVISOR_TYPE, "id": "sv-1"},
        "status": "PENDING",
        "cancelable": True,
    }
    if start is not None:
        progress = {"total": 100, "completed": 0, "message": MESSAGE}
        task |= {"status": "RUNNING", "start_time": start, "progress": progress}
    return task


async def test_503_burst_is_retried_until_success(fake: FakeVCenter) -> None:
    """Two 503s then a 200: three attempts, two retries logged, the result returned."""
    busy = Answer(503, {"error_type": "SERVICE_UNAVAILABLE", "messages": []})
    fake.script("GET", VERSIONS, busy, Answer(503, None, None), OK_VERSIONS)
    async with VCenterClient(endpoint_for(fake.url)) as vc:
        with capture_logs() as logs:
            assert await vc.list_versions() == ["9.1.0"]
        assert vc.counters == Counters(requests=4, retries=2, errors=2, renewals=0)
    retries = [entry for entry in logs if entry["event"] == "http_retry"]
    assert [entry["attempt"] for entry in retries] == [2, 3]
    assert retries[0]["reason"] == "HTTP 503 (SERVICE_UNAVAILABLE)"
    assert set(retries[0]) >= {"vcenter", "method", "route", "attempt", "reason"}
    assert fake.count("GET", VERSIONS) == 3


@pytest.mark.parametrize("status", [502, 503, 504])
async def test_retries_are_bounded(fake: FakeVCenter, status: int) -> None:
    """A gateway error that persists is retried ATTEMPTS times, then VCenterUnreachable."""
    fake.script("GET", VERSIONS, Answer(status, None, None))
    async with VCenterClient(endpoint_for(fake.url)) as vc:
        with pytest.raises(VCenterUnreachable, match=f"HTTP {status}"):
            await vc.list_versions()
    assert fake.count("GET", VERSIONS) == ATTEMPTS


@pytest.mark.parametrize("status", [400, 404, 500])
async def test_other_errors_are_not_retried(fake: FakeVCenter, status: int) -> None:
    """Only 502/503/504 and connection failures are retried."""
    fake.script("GET", VERSIONS, Answer(status, {"error_type": "ERROR", "messages": []}))
    async with VCenterClient(endpoint_for(fake.url)) as vc:
        with pytest.raises(APIError):
            await vc.list_versions()
    assert fake.count("GET", VERSIONS) == 1


async def test_request_timeout_is_retried_then_unreachable(fake: FakeVCenter) -> None:
    """An answer slower than request_timeout is a timeout, retried, then VCenterUnreachable."""
    fake.script("GET", VERSIONS, Answer(200, {"supervisor_versions": []}, delay=0.3))
    async with VCenterClient(endpoint_for(fake.url, request_timeout=0.05)) as vc:
        await vc.login()
        with pytest.raises(VCenterUnreachable, match=r"no answer within 0.05s \(request_timeout\)"):
            await vc.list_versions()
        assert vc.counters.retries == ATTEMPTS - 1


async def test_concurrent_requests_are_capped(fake: FakeVCenter) -> None:
    """No more than max_connections requests are in flight at once."""
    fake.script("GET", VERSIONS, Answer(200, {"supervisor_versions": []}, delay=0.05))
    endpoint = endpoint_for(fake.url, max_connections=2)
    async with VCenterClient(endpoint) as vc, anyio.create_task_group() as tg:
        for _ in range(8):
            tg.start_soon(vc.list_versions)
    assert fake.max_in_flight == 2


async def test_requests_per_second_are_paced(fake: FakeVCenter) -> None:
    """Past a quarter second's burst, request starts are spaced 1/rate apart."""
    fake.script("GET", VERSIONS, OK_VERSIONS)
    async with VCenterClient(endpoint_for(fake.url, max_requests_per_second=20.0)) as vc:
        await vc.login()  # one of the burst of 5
        started = anyio.current_time()
        async with anyio.create_task_group() as tg:
            for _ in range(10):
                tg.start_soon(vc.list_versions)
        # 4 leave at once, the other 6 at 50 ms steps: the last one 0.3 s after the login
        assert anyio.current_time() - started >= 0.25
        assert vc.counters.paced_waits >= 5


async def test_a_quarter_second_s_requests_leave_together(fake: FakeVCenter) -> None:
    """A cycle's few requests are not spaced: the pacer lets a quarter second's worth through."""
    fake.script("GET", VERSIONS, OK_VERSIONS)
    async with VCenterClient(endpoint_for(fake.url, max_requests_per_second=20.0)) as vc:
        await vc.login()
        async with anyio.create_task_group() as tg:
            for _ in range(4):
                tg.start_soon(vc.list_versions)
        assert vc.counters.paced_waits == 0


async def test_twenty_concurrent_callers_log_in_once(fake: FakeVCenter) -> None:
    """Concurrent first calls share one login."""
    fake.script("GET", VERSIONS, OK_VERSIONS)
    async with VCenterClient(endpoint_for(fake.url)) as vc, anyio.create_task_group() as tg:
        for _ in range(20):
            tg.start_soon(vc.list_versions)
    assert fake.logins == 1


async def test_401_renews_once_for_concurrent_callers(fake: FakeVCenter) -> None:
    """Callers hit by the same expired session share one re-login and repeat their read."""
    fake.script("GET", VERSIONS, *[UNAUTHENTICATED] * 5, OK_VERSIONS)
    async with VCenterClient(endpoint_for(fake.url)) as vc:
        await vc.login()
        with capture_logs() as logs:
            async with anyio.create_task_group() as tg:
                for _ in range(5):
                    tg.start_soon(vc.list_versions)
        assert vc.counters.renewals == 1
    assert fake.logins == 2
    assert [entry["event"] for entry in logs].count("session_renewed") == 1


async def test_path_segments_and_query_are_percent_encoded(fake: FakeVCenter) -> None:
    """Ids with ``/ ? # % space`` travel percent-encoded in paths and queries."""
    fake.script("GET", UPGRADES, Answer(200, {"supervisors": []}))
    async with VCenterClient(endpoint_for(fake.url)) as vc:
        await vc.list_upgrades(["a/b", "c?d#e%f g"])
        with pytest.raises(APIError):
            await vc.get_upgrade("x/y z")
    paths = [path for method, path in fake.requests if method == "GET"]
    assert paths == [
        f"{UPGRADES}?supervisors=a%2Fb&supervisors=c%3Fd%23e%25f%20g",
        f"{UPGRADES}/x%2Fy%20z",
    ]


async def test_list_upgrades_is_chunked_by_50(fake: FakeVCenter) -> None:
    """120 ids take three calls of 50, 50 and 20; duplicates are sent once; [] sends none."""
    fake.script("GET", UPGRADES, Answer(200, {"supervisors": []}))
    ids = [f"sv-{index}" for index in range(120)] + ["sv-0"]
    async with VCenterClient(endpoint_for(fake.url)) as vc:
        assert await vc.list_upgrades(ids) == []
        assert await vc.list_upgrades([]) == []
    queries = [path.split("?")[1] for method, path in fake.requests if method == "GET"]
    assert [query.count("supervisors=") for query in queries] == [50, 50, 20]


async def test_create_rejected_by_vapi_error_created_nothing(fake: FakeVCenter) -> None:
    """A vAPI error answer to a create is UpgradeJobRejected, sent once, no re-read."""
    body = {"error_type": "INVALID_ARGUMENT", "messages": [MESSAGE]}
    fake.script("POST", f"{UPGRADES}/jobs/sv-1", Answer(400, body))
    async with VCenterClient(endpoint_for(fake.url)) as vc:
        with pytest.raises(UpgradeJobRejected) as info:
            await vc.create_upgrade_job("sv-1", "9.1.0", ignore_precheck_warnings=True)
    assert (info.value.error_type, info.value.status) == ("INVALID_ARGUMENT", 400)
    assert fake.count("POST", f"{UPGRADES}/jobs/sv-1") == 1
    assert fake.count("GET", f"{UPGRADES}/sv-1") == 0
    assert fake.bodies[-2] == {"desired_version": "9.1.0", "ignore_precheck_warnings": True}


@pytest.mark.parametrize(
    "answer",
    [Answer(502, None, None), Answer(504, b"gateway timeout", "text/plain"), Answer(201, 42)],
)
async def test_ambiguous_create_answer_is_reconciled(fake: FakeVCenter, answer: Answer) -> None:
    """A gateway error or malformed create answer is settled by re-reading: the task is found."""
    fake.script("POST", f"{UPGRADES}/jobs/sv-1", answer)
    fake.script("GET", f"{UPGRADES}/sv-1", Answer(200, _info("INPROGRESS", "9.1.0")))
    now = datetime.now(UTC).isoformat().replace("+00:00", "Z")
    tasks = {"old": _task("2020-01-01T00:00:00Z"), "new": _task(now)}
    fake.script("POST", "/api/cis/tasks", Answer(200, tasks))
    async with VCenterClient(endpoint_for(fake.url)) as vc:
        with capture_logs() as logs:
            task_id = await vc.create_upgrade_job("sv-1", "9.1.0", ignore_precheck_warnings=False)
    assert task_id == "new"
    assert fake.count("POST", f"{UPGRADES}/jobs/sv-1") == 1
    assert {"create_outcome_unknown", "create_reconciled"} <= {entry["event"] for entry in logs}


async def test_ambiguous_create_without_job_is_not_created(fake: FakeVCenter) -> None:
    """When the re-read shows no job from the lost create, UpgradeJobNotCreated says so."""
    fake.script("POST", f"{UPGRADES}/jobs/sv-1", Answer(502, None, None))
    fake.script("GET", f"{UPGRADES}/sv-1", Answer(200, _info()))
    fake.script("POST", "/api/cis/tasks", Answer(200, {"old": _task("2020-01-01T00:00:00Z")}))
    async with VCenterClient(endpoint_for(fake.url)) as vc:
        with pytest.raises(
            UpgradeJobNotCreated, match=r"HTTP 502 \(ERROR\); vCenter re-read: no job created"
        ):
            await vc.create_upgrade_job("sv-1", "9.1.0", ignore_precheck_warnings=False)


async def test_running_upgrade_without_task_is_outcome_unknown(fake: FakeVCenter) -> None:
    """An upgrade seen running toward the version but no task of it: CreateOutcomeUnknown."""
    fake.script("POST", f"{UPGRADES}/jobs/sv-1", Answer(502, None, None))
    fake.script("GET", f"{UPGRADES}/sv-1", Answer(200, _info("INPROGRESS", "9.1.0")))
    fake.script("POST", "/api/cis/tasks", Answer(200, {}))
    async with VCenterClient(endpoint_for(fake.url)) as vc:
        with pytest.raises(CreateOutcomeUnknown, match="in progress but no task"):
            await vc.create_upgrade_job("sv-1", "9.1.0", ignore_precheck_warnings=False)


async def test_unreadable_vcenter_after_lost_create_is_outcome_unknown(fake: FakeVCenter) -> None:
    """If vCenter cannot be re-read, CreateOutcomeUnknown chains the read failure."""
    fake.script("POST", f"{UPGRADES}/jobs/sv-1", Answer(502, None, None))
    fake.script("GET", f"{UPGRADES}/sv-1", Answer(500, {"error_type": "ERROR", "messages": []}))
    async with VCenterClient(endpoint_for(fake.url)) as vc:
        with pytest.raises(CreateOutcomeUnknown, match="could not be re-read") as info:
            await vc.create_upgrade_job("sv-1", "9.1.0", ignore_precheck_warnings=False)
    assert isinstance(info.value.__cause__, APIError)


async def test_create_after_401_renews_then_sends_again(fake: FakeVCenter) -> None:
    """A 401 on create (refused before anything ran) renews the session and sends it again."""
    fake.script("POST", f"{UPGRADES}/jobs/sv-1", UNAUTHENTICATED, Answer(201, "task-1"))
    fake.script("GET", f"{UPGRADES}/sv-1", Answer(200, _info()))
    fake.script("POST", "/api/cis/tasks", Answer(200, {}))
    async with VCenterClient(endpoint_for(fake.url)) as vc:
        task_id = await vc.create_upgrade_job("sv-1", "9.1.0", ignore_precheck_warnings=False)
    assert task_id == "task-1"
    assert fake.count("POST", f"{UPGRADES}/jobs/sv-1") == 2
    assert fake.count("GET", f"{UPGRADES}/sv-1") == 0
    assert fake.logins == 2


async def test_reconcile_requires_an_aware_since(fake: FakeVCenter) -> None:
    """A naive ``since`` is a programming error."""
    async with VCenterClient(endpoint_for(fake.url)) as vc:
        with pytest.raises(ValueError, match="timezone-aware"):
            await vc.reconcile_create("sv-1", "9.1.0", since=datetime(2026, 1, 1))


async def test_close_deletes_the_session_even_when_cancelled(fake: FakeVCenter) -> None:
    """Logout runs shielded on close, also when the caller is being cancelled."""
    fake.script("GET", VERSIONS, OK_VERSIONS)
    fake.script("DELETE", "/api/session", Answer(204, None, None))
    with anyio.CancelScope() as scope:
        async with VCenterClient(endpoint_for(fake.url)) as vc:
            await vc.list_versions()
            scope.cancel()
            await anyio.sleep(1)
    assert fake.count("DELETE", "/api/session") == 1


async def test_caller_cancellation_leaves_the_client_usable(fake: FakeVCenter) -> None:
    """A read cancelled by the caller's deadline ends at once; the next call works."""
    fake.script("GET", VERSIONS, Answer(200, {"supervisor_versions": []}, delay=0.3), OK_VERSIONS)
    async with VCenterClient(endpoint_for(fake.url)) as vc:
        with anyio.move_on_after(0.05) as scope:
            await vc.list_versions()
        assert scope.cancelled_caught
        assert await vc.list_versions() == ["9.1.0"]
