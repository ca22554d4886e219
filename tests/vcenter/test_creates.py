"""Creates: one attempt; definite refusals vs unknown outcomes; reconciliation on vCenter's clock.

The fake vCenter scripts exact answers and shifts its ``Date`` header; the simulator
(``clock_skew``, lost answers, real refusals) checks the same rules end to end.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import anyio
import pytest

from fleetupgrade.errors import (
    CreateOutcomeUnknown,
    UpgradeJobNotCreated,
    UpgradeJobRejected,
    VCenterUnreachable,
)
from fleetupgrade.sim import RunningSimulator, parse_scenario, run_simulator
from fleetupgrade.vcenter import VCenterClient, Verdict
from tests.vcenter.conftest import (
    JOBS_PATH,
    SENTINEL_PASSWORD,
    TASKS_PATH,
    UPGRADES_PATH,
    Answer,
    FakeVCenter,
    endpoint_for,
    job_task,
    upgrade_info,
)

pytestmark = pytest.mark.anyio

JOB = f"{JOBS_PATH}/sv-1"
GET_SV1 = f"{UPGRADES_PATH}/sv-1"


def _vapi(error_type: str, message_id: str = "m", text: str = "text") -> dict[str, Any]:
    return {
        "error_type": error_type,
        "messages": [{"id": message_id, "default_message": text, "args": []}],
    }


async def _create(vc: VCenterClient) -> str:
    return await vc.create_upgrade_job("sv-1", "9.1.0", ignore_precheck_warnings=False)


# -- unknown outcomes are reconciled, never called refusals ------------------------------


@pytest.mark.parametrize(
    ("answer", "cause"),
    [
        (Answer(503, _vapi("SERVICE_UNAVAILABLE")), "HTTP 503 (SERVICE_UNAVAILABLE)"),
        (Answer(500, _vapi("ERROR")), "HTTP 500 (ERROR)"),
        (Answer(500, _vapi("INTERNAL_SERVER_ERROR")), "HTTP 500 (INTERNAL_SERVER_ERROR)"),
        (Answer(429, None, None), "HTTP 429 without a vAPI error body"),
        (Answer(201, {"not": "a task id"}), "answer does not match the wire contract"),
    ],
)
async def test_unknown_outcome_proven_absent_is_not_created(
    fake: FakeVCenter, answer: Answer, cause: str
) -> None:
    """A 5xx (vAPI body or not), a bodiless 4xx or a malformed answer: re-read, no job proven."""
    fake.script("POST", JOB, answer)
    fake.script("GET", GET_SV1, Answer(200, upgrade_info()))
    old = fake.vcenter_now() - timedelta(hours=3)
    fake.script("POST", TASKS_PATH, Answer(200, {"old": job_task(old, status="SUCCEEDED")}))
    async with VCenterClient(endpoint_for(fake.url)) as vc:
        with pytest.raises(UpgradeJobNotCreated) as info:
            await _create(vc)
    message = str(info.value)
    assert f"{cause}" in message
    assert "; vCenter re-read: no job created" in message
    assert "refused" not in message
    assert fake.count("POST", JOB) == 1


async def test_timeout_after_sending_is_reconciled(fake: FakeVCenter) -> None:
    """A create answered after request_timeout is an unknown outcome; the task is found."""
    fake.script("POST", JOB, Answer(201, "late-task", delay=0.3))
    fake.script("GET", GET_SV1, Answer(200, upgrade_info("INPROGRESS", "9.1.0")))
    fake.script("POST", TASKS_PATH, Answer(200, {"t-1": job_task(fake.vcenter_now())}))
    async with VCenterClient(endpoint_for(fake.url, request_timeout=0.1)) as vc:
        await vc.login()
        assert await _create(vc) == "t-1"
    assert fake.count("POST", JOB) == 1


async def test_running_upgrade_of_another_version_is_unknown(fake: FakeVCenter) -> None:
    """No task, but an upgrade to another version runs: the sources disagree, never re-send."""
    fake.script("POST", JOB, Answer(502, None, None))
    fake.script("GET", GET_SV1, Answer(200, upgrade_info("INPROGRESS", "9.2.0")))
    fake.script("POST", TASKS_PATH, Answer(200, {}))
    async with VCenterClient(endpoint_for(fake.url)) as vc:
        with pytest.raises(
            CreateOutcomeUnknown, match=r"upgrade to 9\.2\.0 is in progress instead"
        ):
            await _create(vc)


# -- definite refusals -----------------------------------------------------------------


@pytest.mark.parametrize(
    ("message_id", "in_progress"),
    [("vcenter.wcp.upgrade.in_progress", True), ("vcenter.wcp.upgrade.unsupported", False)],
)
async def test_in_progress_refusal_is_recognisable(
    fake: FakeVCenter, message_id: str, in_progress: bool
) -> None:
    """400 UNSUPPORTED with the in-progress message id sets ``in_progress``; others do not."""
    fake.script("POST", JOB, Answer(400, _vapi("UNSUPPORTED", message_id)))
    async with VCenterClient(endpoint_for(fake.url)) as vc:
        with pytest.raises(UpgradeJobRejected) as info:
            await _create(vc)
    assert info.value.in_progress is in_progress
    assert info.value.message_ids == (message_id,)
    assert fake.count("GET", GET_SV1) == 0


async def test_forbidden_names_user_and_privilege(fake: FakeVCenter) -> None:
    """A 403 says which user lacks Namespaces.Upgrade on which Supervisor."""
    fake.script("POST", JOB, Answer(403, _vapi("UNAUTHORIZED")))
    async with VCenterClient(endpoint_for(fake.url)) as vc:
        with pytest.raises(UpgradeJobRejected) as info:
            await _create(vc)
    assert "user administrator@vsphere.local lacks privilege Namespaces.Upgrade on sv-1" in str(
        info.value
    )
    assert SENTINEL_PASSWORD not in str(info.value)


async def test_connection_refused_before_sending_is_unreachable(fake: FakeVCenter) -> None:
    """A create whose connection is refused was never sent: VCenterUnreachable, no re-read."""
    endpoint = endpoint_for("http://127.0.0.1:9")  # discard port: nothing listens
    async with VCenterClient(endpoint) as vc:
        vc._session._token = "t"  # skip the login (which would fail the same way)
        with pytest.raises(VCenterUnreachable, match="cannot connect") as info:
            await _create(vc)
    assert not isinstance(info.value, CreateOutcomeUnknown)


# -- vCenter's clock, not ours ---------------------------------------------------------


async def test_task_of_a_vcenter_whose_clock_is_behind_is_found(fake: FakeVCenter) -> None:
    """vCenter's clock 1 h behind ours: its fresh task is still recognised as the job."""
    fake.clock_skew = -timedelta(hours=1)
    fake.script("POST", JOB, Answer(502, None, None))
    fake.script("GET", GET_SV1, Answer(200, upgrade_info("INPROGRESS", "9.1.0")))
    fake.script("POST", TASKS_PATH, Answer(200, {"fresh": job_task(fake.vcenter_now())}))
    async with VCenterClient(endpoint_for(fake.url)) as vc:
        await vc.login()
        assert await _create(vc) == "fresh"
        offset = vc.clock_offset
    assert offset is not None
    assert abs(offset + timedelta(hours=1)) < timedelta(seconds=5)


async def test_older_task_of_a_vcenter_whose_clock_is_ahead_is_not_taken(
    fake: FakeVCenter,
) -> None:
    """vCenter's clock 1 h ahead: a task 30 min old on its clock is not this create's job."""
    fake.clock_skew = timedelta(hours=1)
    fake.script("POST", JOB, Answer(502, None, None))
    fake.script("GET", GET_SV1, Answer(200, upgrade_info("ERROR")))
    old = fake.vcenter_now() - timedelta(minutes=30)
    fake.script("POST", TASKS_PATH, Answer(200, {"old": job_task(old, status="FAILED")}))
    async with VCenterClient(endpoint_for(fake.url)) as vc:
        await vc.login()
        with pytest.raises(UpgradeJobNotCreated, match="no job created"):
            await _create(vc)


@pytest.mark.parametrize(
    ("status", "verdict"), [("RUNNING", Verdict.JOB_FOUND), ("FAILED", Verdict.UNKNOWN)]
)
async def test_without_a_usable_date_only_running_tasks_count(
    fake: FakeVCenter, status: str, verdict: Verdict
) -> None:
    """No usable Date: a running task is the job; a finished one cannot be placed: unknown."""
    fake.usable_date = False
    fake.script("GET", GET_SV1, Answer(200, upgrade_info()))
    started = datetime.now(UTC) - timedelta(days=1)
    fake.script("POST", TASKS_PATH, Answer(200, {"t": job_task(started, status=status)}))
    async with VCenterClient(endpoint_for(fake.url)) as vc:
        found = await vc.reconcile_create("sv-1", "9.1.0", since=datetime.now(UTC))
    assert found.verdict is verdict
    assert vc.clock_offset is None


# -- reconcile_create ------------------------------------------------------------------


async def test_reconcile_of_an_unreadable_vcenter_is_unknown(fake: FakeVCenter) -> None:
    """reconcile_create never raises for an unreadable vCenter: the verdict is UNKNOWN."""
    fake.script("POST", TASKS_PATH, Answer(200, {}))
    fake.script("GET", GET_SV1, Answer(500, _vapi("ERROR")))
    async with VCenterClient(endpoint_for(fake.url)) as vc:
        found = await vc.reconcile_create("sv-1", "9.1.0", since=datetime.now(UTC))
    assert found.verdict is Verdict.UNKNOWN
    assert "could not be re-read" in found.reason
    assert not found.job_found
    assert not found.no_job


async def test_reconcile_waits_the_settle_delay_after_a_fresh_intent(fake: FakeVCenter) -> None:
    """vCenter is re-read only settle_delay after the intent; an old intent is read at once."""
    fake.script("GET", GET_SV1, Answer(200, upgrade_info()))
    fake.script("POST", TASKS_PATH, Answer(200, {}))
    async with VCenterClient(endpoint_for(fake.url, settle_delay=0.3)) as vc:
        await vc.login()
        started = anyio.current_time()
        found = await vc.reconcile_create("sv-1", "9.1.0", since=datetime.now(UTC))
        fresh = anyio.current_time() - started
        started = anyio.current_time()
        await vc.reconcile_create("sv-1", "9.1.0", since=datetime.now(UTC) - timedelta(hours=1))
        old = anyio.current_time() - started
    assert found.verdict is Verdict.NO_JOB
    assert fresh >= 0.25
    assert old < 0.25


# -- against the simulator -------------------------------------------------------------

VC = "vc-east"
SCENARIO = f"""
[sim]
seed = 3
speed = 600.0

[[users]]
username = "administrator@vsphere.local"
password = "{SENTINEL_PASSWORD}"
privileges = ["Namespaces.Upgrade"]

[[users]]
username = "reader@vsphere.local"
password = "reader-password"

[[vcenters]]
name = "{VC}"

[[vcenters.supervisors]]
id = "supervisor-1"
name = "sv-lab-01"
upgrade_duration = "4h"
"""


@pytest.fixture
async def sim(tmp_path: Path) -> AsyncIterator[RunningSimulator]:
    """A simulator of one vCenter with one Supervisor."""
    async with run_simulator(parse_scenario(SCENARIO), workdir=tmp_path) as running:
        yield running


def _sim_endpoint(sim: RunningSimulator, **changes: Any) -> Any:
    values: dict[str, Any] = {"ca_file": sim.ca_file, "name": VC} | changes
    return endpoint_for(sim.vcenter_urls[VC], **values)


def _creates(sim: RunningSimulator) -> int:
    return int(sim.stats()["creates"].get(f"{VC}/supervisor-1", 0))


@pytest.mark.parametrize("skew", ["-3h", "3h"])
async def test_lost_answer_on_a_skewed_vcenter_finds_the_one_job(
    sim: RunningSimulator, skew: str
) -> None:
    """vCenter's clock hours off ours and the create's answer lost: its task is found."""
    await sim.set_faults(VC, clock_skew=skew, lost_response_rate=1.0)
    async with VCenterClient(_sim_endpoint(sim)) as vc:
        await vc.login()
        task_id = await vc.create_upgrade_job(
            "supervisor-1", "9.1.0", ignore_precheck_warnings=False
        )
        await sim.set_faults(VC, lost_response_rate=0.0)
        assert list(await vc.list_upgrade_tasks("supervisor-1")) == [task_id]
    assert _creates(sim) == 1


async def test_second_create_is_refused_as_in_progress(sim: RunningSimulator) -> None:
    """The simulator's refusal of a create while one runs reads as ``in_progress``."""
    async with VCenterClient(_sim_endpoint(sim)) as vc:
        await vc.create_upgrade_job("supervisor-1", "9.1.0", ignore_precheck_warnings=False)
        with pytest.raises(UpgradeJobRejected) as info:
            await vc.create_upgrade_job("supervisor-1", "9.1.0", ignore_precheck_warnings=False)
    assert info.value.in_progress
    assert _creates(sim) == 1


async def test_simulator_forbidden_names_user_and_privilege(sim: RunningSimulator) -> None:
    """A user without Namespaces.Upgrade: the refusal names the user and the privilege."""
    endpoint = _sim_endpoint(sim, username="reader@vsphere.local", password="reader-password")
    async with VCenterClient(endpoint) as vc:
        with pytest.raises(UpgradeJobRejected) as info:
            await vc.create_upgrade_job("supervisor-1", "9.1.0", ignore_precheck_warnings=False)
    assert (info.value.error_type, info.value.status) == ("UNAUTHORIZED", 403)
    assert "user reader@vsphere.local lacks privilege Namespaces.Upgrade on supervisor-1" in str(
        info.value
    )
    assert not info.value.in_progress
