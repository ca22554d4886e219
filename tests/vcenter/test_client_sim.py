"""The real client against the real simulator over HTTPS on 127.0.0.1."""

from __future__ import annotations

import hashlib
import ssl
from collections.abc import AsyncIterator, Awaitable, Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import anyio
import pytest
from structlog.testing import capture_logs

from fleetupgrade.errors import (
    APIError,
    AuthenticationError,
    CreateOutcomeUnknown,
    MalformedResponse,
    TLSVerificationError,
    UpgradeJobRejected,
    VCenterError,
    VCenterUnreachable,
)
from fleetupgrade.sim import RunningSimulator, parse_scenario, run_simulator
from fleetupgrade.vcenter import (
    ConfigStatus,
    KubernetesStatus,
    PrecheckStatus,
    Severity,
    TaskStatus,
    UpgradeState,
    VCenterClient,
    VCenterEndpoint,
    format_thumbprint,
)
from tests.vcenter.conftest import ATTEMPTS, SENTINEL_PASSWORD

pytestmark = pytest.mark.anyio

VC = "vc-east"
SCENARIO = f"""
[sim]
seed = 7
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
precheck_duration = "30s"
prechecks = [{{ severity = "WARNING", id = "tkc.compat", text = "TKC blue is not compatible" }}]

[[vcenters.supervisors]]
id = "supervisor-2"
name = "sv-lab-02"
upgrade_duration = "4h"

[[vcenters.supervisors]]
id = "supervisor-3"
name = "sv-lab-03"
unsupported = true
"""


@pytest.fixture
async def sim(tmp_path: Path) -> AsyncIterator[RunningSimulator]:
    """A fresh simulator of one vCenter with three Supervisors."""
    async with run_simulator(parse_scenario(SCENARIO), workdir=tmp_path) as running:
        yield running


def _endpoint(sim: RunningSimulator, **changes: Any) -> VCenterEndpoint:
    values: dict[str, Any] = {
        "name": VC,
        "url": sim.vcenter_urls[VC],
        "username": "administrator@vsphere.local",
        "password": SENTINEL_PASSWORD,
        "ca_file": sim.ca_file,
        "request_timeout": 5.0,
        "settle_delay": 0.0,
        "max_requests_per_second": 0.0,
        "breaker_cooldown": 0.01,
    }
    values.update(changes)
    return VCenterEndpoint(**values)


def _requests(sim: RunningSimulator, method: str, fragment: str) -> int:
    """Requests the simulator counted for routes with this method containing ``fragment``."""
    counted: dict[str, int] = sim.stats()["requests"]
    return sum(n for key, n in counted.items() if key.startswith(f"{method} ") and fragment in key)


def _creates(sim: RunningSimulator, supervisor: str) -> int:
    creates: dict[str, int] = sim.stats()["creates"]
    return creates.get(f"{VC}/{supervisor}", 0)


async def _server_thumbprint(url: str) -> str:
    """Measure the certificate's thumbprint ourselves (in a thread: the sim shares our loop)."""
    parts = urlsplit(url)
    address = (parts.hostname or "", parts.port or 443)
    pem = await anyio.to_thread.run_sync(ssl.get_server_certificate, address)
    return format_thumbprint(hashlib.sha256(ssl.PEM_cert_to_DER_cert(pem)).digest())


# -- every operation --------------------------------------------------------------------


async def test_list_supervisors(sim: RunningSimulator) -> None:
    """Summary list: ids, names and statuses of every Supervisor."""
    async with VCenterClient(_endpoint(sim)) as vc:
        rows = await vc.list_supervisors()
    assert sorted((row.id, row.name) for row in rows) == [
        ("supervisor-1", "sv-lab-01"),
        ("supervisor-2", "sv-lab-02"),
        ("supervisor-3", "sv-lab-03"),
    ]
    assert {row.config_status for row in rows} == {ConfigStatus.RUNNING}
    assert {row.kubernetes_status for row in rows} == {KubernetesStatus.READY}


async def test_list_upgrades_all_and_by_id(sim: RunningSimulator) -> None:
    """Upgrades.list: all rows, or only the requested ids (unknown ids absent)."""
    async with VCenterClient(_endpoint(sim)) as vc:
        everything = await vc.list_upgrades()
        some = await vc.list_upgrades(["supervisor-2", "no-such-supervisor"])
    assert len(everything) == 3
    (row,) = some
    assert (row.supervisor, row.state, row.current_version) == (
        "supervisor-2",
        UpgradeState.READY,
        "9.0.0",
    )
    assert row.available_versions == ("9.1.0",)
    assert row.desired_version is None


async def test_get_upgrade_idle(sim: RunningSimulator) -> None:
    """Upgrades.get of an idle Supervisor: READY, no upgrade status, no prechecks yet."""
    async with VCenterClient(_endpoint(sim)) as vc:
        info = await vc.get_upgrade("supervisor-1")
    assert (info.state, info.current_version, info.available_versions) == (
        UpgradeState.READY,
        "9.0.0",
        ("9.1.0",),
    )
    assert info.upgrade_status is None
    assert info.last_upgraded_date is None


async def test_list_versions(sim: RunningSimulator) -> None:
    """Versions.list names the versions vCenter knows."""
    async with VCenterClient(_endpoint(sim)) as vc:
        assert "9.1.0" in await vc.list_versions()


async def test_prechecks_run_and_results(sim: RunningSimulator) -> None:
    """No results before a run; after it, RUNNING and then the final WARNING verdict."""
    async with VCenterClient(_endpoint(sim)) as vc:
        assert await vc.get_prechecks("supervisor-1", "9.1.0") is None
        await vc.run_prechecks("supervisor-1", "9.1.0")
        with anyio.fail_after(5):
            while True:
                result = await vc.get_prechecks("supervisor-1", "9.1.0")
                assert result is not None
                if result.status is not PrecheckStatus.RUNNING:
                    break
                await anyio.sleep(0.02)
    assert result.status is PrecheckStatus.WARNING
    (condition,) = [c for c in result.conditions if c.severity is not Severity.INFO]
    assert condition.severity is Severity.WARNING
    assert condition.last_transition_time is not None


async def test_create_job_then_task_views(sim: RunningSimulator) -> None:
    """Create returns the task id, readable by get_task, the task lists and Upgrades.get."""
    async with VCenterClient(_endpoint(sim)) as vc:
        since = datetime.now(UTC)
        task_id = await vc.create_upgrade_job(
            "supervisor-2", "9.1.0", ignore_precheck_warnings=False
        )
        task = await vc.get_task(task_id)
        by_supervisor = await vc.list_upgrade_tasks("supervisor-2")
        by_id = await vc.list_tasks([task_id, task_id])
        info = await vc.get_upgrade("supervisor-2")
        found = await vc.reconcile_create("supervisor-2", "9.1.0", since=since)
    assert task.status is TaskStatus.RUNNING
    assert task.target is not None
    assert task.target.id == "supervisor-2"
    assert list(by_supervisor) == [task_id]
    assert list(by_id) == [task_id]
    assert info.state is UpgradeState.INPROGRESS
    assert info.upgrade_status is not None
    assert info.upgrade_status.desired_version == "9.1.0"
    assert (found.task_id, found.in_progress, found.job_found) == (task_id, True, True)
    assert _creates(sim, "supervisor-2") == 1


async def test_reconcile_finds_nothing_for_an_idle_supervisor(sim: RunningSimulator) -> None:
    """Reconciling a create that never happened finds no job."""
    async with VCenterClient(_endpoint(sim)) as vc:
        found = await vc.reconcile_create("supervisor-1", "9.1.0", since=datetime.now(UTC))
    assert (found.task_id, found.job_found) == (None, False)
    assert "no upgrade task since" in found.describe()


# -- errors -----------------------------------------------------------------------------


async def test_unknown_supervisor_is_not_found(sim: RunningSimulator) -> None:
    """Upgrades.get of an unknown id is APIError NOT_FOUND 404 naming the operation."""
    async with VCenterClient(_endpoint(sim)) as vc:
        with pytest.raises(APIError) as info:
            await vc.get_upgrade("no-such-supervisor")
    assert (info.value.error_type, info.value.status, info.value.operation) == (
        "NOT_FOUND",
        404,
        "get_upgrade",
    )


@pytest.mark.parametrize(
    ("supervisor", "version", "error_type", "status"),
    [
        ("supervisor-2", "9.9.9", "INVALID_ARGUMENT", 400),
        ("supervisor-3", "9.1.0", "UNSUPPORTED", 400),
        ("no-such-supervisor", "9.1.0", "NOT_FOUND", 404),
    ],
)
async def test_create_rejections(
    sim: RunningSimulator, supervisor: str, version: str, error_type: str, status: int
) -> None:
    """vCenter's refusals of a create are UpgradeJobRejected; no job was started."""
    async with VCenterClient(_endpoint(sim)) as vc:
        with pytest.raises(UpgradeJobRejected) as info:
            await vc.create_upgrade_job(supervisor, version, ignore_precheck_warnings=False)
    assert (info.value.error_type, info.value.status) == (error_type, status)
    assert info.value.messages
    assert _creates(sim, supervisor) == 0


async def test_create_without_privilege_is_unauthorized(sim: RunningSimulator) -> None:
    """A user without Namespaces.Upgrade gets UpgradeJobRejected UNAUTHORIZED 403."""
    endpoint = _endpoint(sim, username="reader@vsphere.local", password="reader-password")
    async with VCenterClient(endpoint) as vc:
        with pytest.raises(UpgradeJobRejected) as info:
            await vc.create_upgrade_job("supervisor-2", "9.1.0", ignore_precheck_warnings=False)
    assert (info.value.error_type, info.value.status) == ("UNAUTHORIZED", 403)


async def test_second_create_while_in_progress_is_rejected(sim: RunningSimulator) -> None:
    """A create while an upgrade runs is refused and starts no second job."""
    async with VCenterClient(_endpoint(sim)) as vc:
        await vc.create_upgrade_job("supervisor-2", "9.1.0", ignore_precheck_warnings=False)
        with pytest.raises(UpgradeJobRejected, match="UNSUPPORTED"):
            await vc.create_upgrade_job("supervisor-2", "9.1.0", ignore_precheck_warnings=False)
    assert _creates(sim, "supervisor-2") == 1


async def test_wrong_password(sim: RunningSimulator) -> None:
    """Refused credentials: AuthenticationError, and they are not tried again."""
    async with VCenterClient(_endpoint(sim, password="wrong-password")) as vc:
        for _ in range(2):
            with pytest.raises(
                AuthenticationError, match=f"check username/password for vCenter {VC}"
            ):
                await vc.list_versions()
    assert _requests(sim, "POST", "/api/session") == 1


async def test_down_vcenter_is_unreachable(sim: RunningSimulator) -> None:
    """A vCenter that refuses connections is VCenterUnreachable after ATTEMPTS attempts."""
    await sim.set_faults(VC, down=True)
    async with VCenterClient(_endpoint(sim)) as vc:
        with pytest.raises(VCenterUnreachable, match="cannot connect"):
            await vc.login()
        assert vc.counters.requests == ATTEMPTS


async def test_create_that_cannot_connect_was_not_sent(sim: RunningSimulator) -> None:
    """A create that cannot even connect raises VCenterUnreachable: nothing sent, no job."""
    async with VCenterClient(_endpoint(sim)) as vc:
        await vc.login()
        await sim.set_faults(VC, down=True)
        with pytest.raises(VCenterUnreachable):
            await vc.list_versions()  # also discards the kept-alive connection
        with pytest.raises(VCenterUnreachable, match="cannot connect"):
            await vc.create_upgrade_job("supervisor-2", "9.1.0", ignore_precheck_warnings=False)
    assert _creates(sim, "supervisor-2") == 0


async def test_create_on_a_dropped_connection_then_unreadable_is_unknown(
    sim: RunningSimulator,
) -> None:
    """Sent on a kept-alive connection that dies, with vCenter then unreadable: unknown."""
    async with VCenterClient(_endpoint(sim)) as vc:
        await vc.login()
        await sim.set_faults(VC, down=True)
        with pytest.raises(CreateOutcomeUnknown, match="could not be re-read") as info:
            await vc.create_upgrade_job("supervisor-2", "9.1.0", ignore_precheck_warnings=False)
    assert isinstance(info.value.__cause__, VCenterUnreachable)


async def test_malformed_answers(sim: RunningSimulator) -> None:
    """A malformed answer is MalformedResponse naming the operation, never success."""
    async with VCenterClient(_endpoint(sim)) as vc:
        await vc.login()
        await sim.set_faults(VC, malformed_rate=1.0)
        with pytest.raises(MalformedResponse, match="list_upgrades"):
            await vc.list_upgrades()


# -- sessions, retries, lost answers --------------------------------------------------


async def test_concurrent_callers_share_one_login(sim: RunningSimulator) -> None:
    """Twenty concurrent first calls log in once; closing deletes that session."""
    async with VCenterClient(_endpoint(sim)) as vc:
        async with anyio.create_task_group() as tg:
            for _ in range(20):
                tg.start_soon(vc.list_upgrades)
        assert sim.stats()["sessions"] == 1
    assert _requests(sim, "POST", "/api/session") == 1
    assert sim.stats()["sessions"] == 0


async def test_relogin_after_session_ttl(sim: RunningSimulator) -> None:
    """An expired session is renewed once and the read repeated."""
    await sim.set_faults(VC, session_ttl="1m")  # 0.1 s real time at speed 600
    async with VCenterClient(_endpoint(sim)) as vc:
        await vc.list_versions()
        await anyio.sleep(0.2)
        with capture_logs() as logs:
            assert "9.1.0" in await vc.list_versions()
        assert vc.counters.renewals == 1
    assert "session_renewed" in [entry["event"] for entry in logs]
    assert _requests(sim, "POST", "/api/session") == 2


async def test_503_burst_is_retried_a_bounded_number_of_times(sim: RunningSimulator) -> None:
    """Under a 503 storm a read is tried ATTEMPTS times, then unreachable; it works after."""
    async with VCenterClient(_endpoint(sim)) as vc:
        await vc.login()
        await sim.set_faults(VC, http_503_rate=1.0)
        with pytest.raises(VCenterUnreachable, match=r"HTTP 503 \(SERVICE_UNAVAILABLE\)"):
            await vc.list_versions()
        assert vc.counters.retries == ATTEMPTS - 1
        assert _requests(sim, "GET", "versions") == ATTEMPTS
        await sim.set_faults(VC, http_503_rate=0.0)
        assert "9.1.0" in await vc.list_versions()


async def test_resets_are_retried_a_bounded_number_of_times(sim: RunningSimulator) -> None:
    """Dropped connections are retried ATTEMPTS times, then VCenterUnreachable."""
    async with VCenterClient(_endpoint(sim)) as vc:
        await vc.login()
        before = vc.counters
        await sim.set_faults(VC, reset_rate=1.0)
        with pytest.raises(VCenterUnreachable):
            await vc.list_versions()
        after = vc.counters
    assert after.requests - before.requests == ATTEMPTS
    assert after.retries - before.retries == ATTEMPTS - 1


async def test_lost_create_answer_is_reconciled_not_repeated(sim: RunningSimulator) -> None:
    """The create's answer is lost: exactly one job exists and its task id is returned."""
    async with VCenterClient(_endpoint(sim)) as vc:
        await vc.login()
        await sim.set_faults(VC, lost_response_rate=1.0)
        with capture_logs() as logs:
            task_id = await vc.create_upgrade_job(
                "supervisor-2", "9.1.0", ignore_precheck_warnings=False
            )
        await sim.set_faults(VC, lost_response_rate=0.0)
        assert list(await vc.list_upgrade_tasks("supervisor-2")) == [task_id]
    assert _creates(sim, "supervisor-2") == 1
    assert _requests(sim, "POST", "jobs") == 1
    events = [entry["event"] for entry in logs]
    assert "create_outcome_unknown" in events
    assert "create_reconciled" in events


# -- TLS --------------------------------------------------------------------------------


async def test_unknown_ca_is_refused(sim: RunningSimulator) -> None:
    """Without the simulator's CA the certificate is untrusted; the message says what to set."""
    async with VCenterClient(_endpoint(sim, ca_file=None)) as vc:
        with pytest.raises(TLSVerificationError, match=r"ca_file.*tls_thumbprint") as info:
            await vc.login()
    assert info.value.vcenter == VC
    assert _requests(sim, "POST", "/api/session") == 0


async def test_thumbprint_mismatch_is_refused(sim: RunningSimulator) -> None:
    """A pinned thumbprint that differs is refused before anything is sent, showing both."""
    actual = await _server_thumbprint(sim.vcenter_urls[VC])
    wrong = format_thumbprint(bytes(32))
    async with VCenterClient(_endpoint(sim, tls_thumbprint=wrong)) as vc:
        with pytest.raises(TLSVerificationError) as info:
            await vc.login()
    assert f"expected {wrong}" in str(info.value)
    assert f"presented {actual}" in str(info.value)
    assert actual == sim.cert_thumbprint
    assert _requests(sim, "POST", "/api/session") == 0


@pytest.mark.parametrize("with_ca", [True, False])
async def test_correct_thumbprint_works(sim: RunningSimulator, with_ca: bool) -> None:
    """The right pin works, with or without the CA file."""
    pin = await _server_thumbprint(sim.vcenter_urls[VC])
    endpoint = _endpoint(sim, tls_thumbprint=pin, ca_file=sim.ca_file if with_ca else None)
    async with VCenterClient(endpoint) as vc:
        assert await vc.list_versions()


# -- secrets ----------------------------------------------------------------------------


async def test_password_and_session_id_never_leak(sim: RunningSimulator) -> None:
    """The sentinel password and the session id appear in no log, message or repr."""
    texts: list[str] = []
    with capture_logs() as logs:
        async with VCenterClient(_endpoint(sim)) as vc:
            await vc.list_versions()
            token = vc._session._token
            texts += [repr(vc), str(vc), repr(vc.endpoint)]
            await sim.set_faults(VC, session_ttl="1m")
            await anyio.sleep(0.2)
            await vc.list_versions()
            calls: list[Callable[[], Awaitable[object]]] = [
                lambda: vc.get_upgrade("nope"),
                lambda: vc.create_upgrade_job("nope", "1", ignore_precheck_warnings=False),
            ]
            for call in calls:
                with pytest.raises(VCenterError) as info:
                    await call()
                texts += [str(info.value), repr(info.value)]
        async with VCenterClient(_endpoint(sim, password=SENTINEL_PASSWORD + "x")) as bad:
            with pytest.raises(AuthenticationError) as refused:
                await bad.login()
            texts += [str(refused.value), repr(refused.value), repr(bad)]
    texts += [repr(entry) for entry in logs]
    assert token
    assert logs
    for text in texts:
        assert SENTINEL_PASSWORD not in text
        assert token not in text


async def test_a_read_after_the_run_closed_its_client_fails_as_a_vcenter_error(
    sim: RunningSimulator,
) -> None:
    """A poll still on its way when the run is done with a vCenter ends quietly.

    The run closes a vCenter's client once no later wave needs it; a bulk round that
    started just before must fail as a VCenterError (the poller then logs and stops), never
    crash the run with aiohttp's "Session is closed".
    """
    async with VCenterClient(_endpoint(sim)) as vc:
        await vc.list_upgrades()
    with pytest.raises(VCenterError, match="closed"):
        await vc.list_upgrades()
    before = sum(sim.stats()["requests"].values())
    with pytest.raises(VCenterError, match="closed"):
        await vc.list_supervisors()
    assert sum(sim.stats()["requests"].values()) == before  # nothing more was sent


async def test_a_read_whose_pool_closes_under_it_is_retried_on_the_fresh_pool(
    sim: RunningSimulator,
) -> None:
    """Between waves a vCenter's connections are dropped; a read caught in it goes again."""
    async with VCenterClient(_endpoint(sim)) as vc:
        await vc.list_upgrades()
        async with anyio.create_task_group() as tg:
            reads: list[int] = []

            async def read() -> None:
                reads.append(len(await vc.list_upgrades()))

            for _ in range(5):
                tg.start_soon(read)
            tg.start_soon(vc.drop_connections)
        assert len(reads) == 5
