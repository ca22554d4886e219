"""Staying polite and alive: read retries, login under the session cap, pacing, the circuit
breaker, shared TLS contexts and pool limits, and logout after timeouts."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import anyio
import pytest
import stamina
from structlog.testing import capture_logs

from fleetupgrade.errors import APIError, MalformedResponse, VCenterUnreachable
from fleetupgrade.sim import RunningSimulator, parse_scenario, run_simulator
from fleetupgrade.vcenter import VCenterClient
from fleetupgrade.vcenter.breaker import BreakerState, CircuitBreaker, CircuitOpen, Result
from fleetupgrade.vcenter.pacer import TokenBucket
from fleetupgrade.vcenter.tls import shared_ssl_context
from tests.vcenter.conftest import ATTEMPTS, SENTINEL_PASSWORD, Answer, FakeVCenter, endpoint_for

pytestmark = pytest.mark.anyio

VERSIONS = "/api/vcenter/namespace-management/software/supervisors/versions"
OK_VERSIONS = Answer(200, {"supervisor_versions": [{"version": "9.1.0"}]})
BUSY = Answer(503, {"error_type": "SERVICE_UNAVAILABLE", "messages": []})
VC = "vc-east"
SCENARIO = f"""
[sim]
seed = 5
speed = 600.0

[[users]]
username = "administrator@vsphere.local"
password = "{SENTINEL_PASSWORD}"
privileges = ["Namespaces.Upgrade"]

[[vcenters]]
name = "{VC}"

[[vcenters.supervisors]]
id = "supervisor-1"
name = "sv-lab-01"
"""


@pytest.fixture
async def sim(tmp_path: Path) -> AsyncIterator[RunningSimulator]:
    """A simulator of one vCenter."""
    async with run_simulator(parse_scenario(SCENARIO), workdir=tmp_path) as running:
        yield running


def _sim_endpoint(sim: RunningSimulator, **changes: Any) -> Any:
    values: dict[str, Any] = {"ca_file": sim.ca_file, "name": VC} | changes
    return endpoint_for(sim.vcenter_urls[VC], **values)


# -- retries ---------------------------------------------------------------------------


async def test_malformed_read_is_retried(fake: FakeVCenter) -> None:
    """A garbled answer to a read is retried like a dropped one; the next good answer wins."""
    fake.script("GET", VERSIONS, Answer(200, b"{not json"), OK_VERSIONS)
    async with VCenterClient(endpoint_for(fake.url)) as vc:
        with capture_logs() as logs:
            assert await vc.list_versions() == ["9.1.0"]
    (retry,) = [entry for entry in logs if entry["event"] == "http_retry"]
    assert retry["route"] == VERSIONS
    assert "does not match the wire contract" in retry["reason"]


async def test_malformed_reads_are_bounded(sim: RunningSimulator) -> None:
    """Garbled answers that persist: ATTEMPTS tries, then MalformedResponse."""
    async with VCenterClient(_sim_endpoint(sim)) as vc:
        await vc.login()
        await sim.set_faults(VC, malformed_rate=1.0)
        with pytest.raises(MalformedResponse):
            await vc.list_versions()
        assert vc.counters.retries == ATTEMPTS - 1


async def test_login_at_the_session_cap_is_retried_then_unreachable(sim: RunningSimulator) -> None:
    """Login answered 503 (session cap) is retried, then VCenterUnreachable, never an APIError."""
    await sim.set_faults(VC, max_sessions=1)
    async with VCenterClient(_sim_endpoint(sim)) as first:
        await first.login()
        async with VCenterClient(_sim_endpoint(sim)) as second:
            with pytest.raises(VCenterUnreachable, match="SERVICE_UNAVAILABLE") as info:
                await second.login()
            assert second.counters.requests == ATTEMPTS
    assert not isinstance(info.value, APIError)


async def test_stamina_logs_nothing_of_its_own(fake: FakeVCenter) -> None:
    """stamina's retry hooks are silenced: only our http_retry event is logged."""
    fake.script("GET", VERSIONS, BUSY, OK_VERSIONS)
    async with VCenterClient(endpoint_for(fake.url)) as vc:
        with capture_logs() as logs:
            await vc.list_versions()
    assert stamina.instrumentation.get_on_retry_hooks() == ()
    events = [entry["event"] for entry in logs]
    assert "http_retry" in events
    assert not [event for event in events if "stamina" in event or "retry_scheduled" in event]


# -- pacing ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("rate", "burst", "waits"),
    [(10.0, 1.0, [0.0, 0.1, 0.2, 0.3]), (10.0, 3.0, [0.0, 0.0, 0.0, 0.1]), (0.0, 1.0, [0.0] * 4)],
)
def test_token_bucket_admits_rate_and_burst(rate: float, burst: float, waits: list[float]) -> None:
    """Four requests at once wait per the bucket's rate and burst; rate 0 never waits."""
    bucket = TokenBucket(rate, burst=burst)
    assert [round(bucket.reserve(5.0), 6) for _ in waits] == waits


async def test_pacer_waits_are_counted(fake: FakeVCenter) -> None:
    """Beyond its burst, paced requests wait and are counted (not logged one by one)."""
    fake.script("GET", VERSIONS, OK_VERSIONS)
    # 20/s: a burst of 5 (a quarter second's worth), the login took one of them.
    async with VCenterClient(endpoint_for(fake.url, max_requests_per_second=20.0)) as vc:
        await vc.login()
        with capture_logs() as logs:
            async with anyio.create_task_group() as tg:
                for _ in range(8):
                    tg.start_soon(vc.list_versions)
        assert vc.counters.paced_waits >= 3
    assert not [entry for entry in logs if "pace" in entry["event"]]


def test_endpoint_paces_by_default() -> None:
    """Without a setting, a vCenter is paced at 20 requests per second."""
    endpoint = endpoint_for("https://vc.example")
    assert type(endpoint).__dataclass_fields__["max_requests_per_second"].default == 20.0


# -- circuit breaker -------------------------------------------------------------------


async def test_breaker_opens_waits_then_closes_on_success(fake: FakeVCenter) -> None:
    """Consecutive 503s open it; the next attempt waits the cool-down, probes, and closes it."""
    fake.script("GET", VERSIONS, BUSY, BUSY, OK_VERSIONS)
    endpoint = endpoint_for(fake.url, breaker_threshold=2, breaker_cooldown=0.2)
    async with VCenterClient(endpoint) as vc:
        await vc.login()
        started = anyio.current_time()
        with capture_logs() as logs:
            assert await vc.list_versions() == ["9.1.0"]
        assert anyio.current_time() - started >= 0.18
        assert vc.counters.breaker_opens == 1
    opened = [entry for entry in logs if entry["event"] == "circuit_opened"]
    closed = [entry for entry in logs if entry["event"] == "circuit_closed"]
    assert [(e["vcenter"], bool(e["reason"])) for e in opened + closed] == [("vc-test", True)] * 2


async def test_failed_probe_fails_its_waiters_without_sending() -> None:
    """While a probe runs others wait; when it fails they end CircuitOpen, not sent."""
    breaker = CircuitBreaker("vc", threshold=1, cooldown=0.01)
    breaker.record(Result.TRANSIENT_FAILURE, probe=False, reason="HTTP 503")
    assert breaker.state is BreakerState.OPEN
    outcomes: list[str] = []

    async def waiter() -> None:
        try:
            outcomes.append("probe" if await breaker.wait_turn() else "sent")
        except CircuitOpen:
            outcomes.append("refused")

    async with anyio.create_task_group() as tg:
        for _ in range(3):
            tg.start_soon(waiter)
        with anyio.fail_after(2):
            while "probe" not in outcomes:
                await anyio.sleep(0.01)
        breaker.record(Result.TRANSIENT_FAILURE, probe=True, reason="reset")
    assert sorted(outcomes) == ["probe", "refused", "refused"]
    assert breaker.opens == 1


async def test_breaker_with_a_dead_vcenter_still_ends_unreachable(fake: FakeVCenter) -> None:
    """Open breaker + persistent failures: the read still ends VCenterUnreachable, bounded."""
    fake.script("GET", VERSIONS, BUSY)
    endpoint = endpoint_for(fake.url, breaker_threshold=1, breaker_cooldown=0.01)
    async with VCenterClient(endpoint) as vc:
        await vc.login()
        with anyio.fail_after(5), pytest.raises(VCenterUnreachable):
            await vc.list_versions()
        assert vc.counters.breaker_opens == 1


# -- connections -----------------------------------------------------------------------


async def test_ssl_context_is_shared_per_trust_configuration(sim: RunningSimulator) -> None:
    """Clients with the same CA file and pin share one SSL context; the pool follows limits."""
    assert sim.ca_file is not None
    same = shared_ssl_context(sim.ca_file, None)
    assert shared_ssl_context(sim.ca_file, None) is same
    assert shared_ssl_context(sim.ca_file, bytes(32)) is not same
    async with (
        VCenterClient(_sim_endpoint(sim, max_connections=3)) as one,
        VCenterClient(_sim_endpoint(sim, max_connections=3)) as two,
    ):
        connectors = [client._transport._http.connector for client in (one, two)]  # type: ignore[union-attr]
        assert all(c is not None and c._ssl is same for c in connectors)  # type: ignore[union-attr]
        assert [(c.limit, c.limit_per_host) for c in connectors] == [(3, 3)] * 2  # type: ignore[union-attr]
        assert await one.list_versions() == await two.list_versions()


async def test_logout_after_timeouts_frees_the_session(sim: RunningSimulator) -> None:
    """Requests time out (slow vCenter); closing still deletes the session: count back to 0."""
    async with VCenterClient(_sim_endpoint(sim, request_timeout=0.05)) as vc:
        await vc.login()
        assert sim.stats()["sessions"] == 1
        await sim.set_faults(VC, latency="150ms")
        with pytest.raises(VCenterUnreachable, match="no answer within"):
            await vc.list_versions()
    assert sim.stats()["sessions"] == 0


# -- secrets ---------------------------------------------------------------------------

SECRETS_SCENARIO = (
    SCENARIO
    + """
[[vcenters.supervisors]]
id = "supervisor-2"
name = "sv-lab-02"
"""
)


async def test_secrets_never_leak_through_retries_breaker_or_settling(tmp_path: Path) -> None:
    """Password, session id and Authorization never appear in retry/breaker/create texts."""
    texts: list[str] = []
    async with run_simulator(parse_scenario(SECRETS_SCENARIO), workdir=tmp_path) as sim:
        endpoint = _sim_endpoint(sim, breaker_threshold=2)
        with capture_logs() as logs:
            async with VCenterClient(endpoint) as vc:
                await vc.login()
                token = vc._session._token
                await sim.set_faults(VC, lost_response_rate=1.0)
                await vc.create_upgrade_job("supervisor-1", "9.1.0", ignore_precheck_warnings=True)
                await sim.set_faults(VC, lost_response_rate=0.0, http_503_rate=1.0)
                for call in (
                    vc.list_versions(),
                    vc.create_upgrade_job("supervisor-2", "9.1.0", ignore_precheck_warnings=True),
                ):
                    with pytest.raises(Exception) as info:  # noqa: PT011 - any error, text checked
                        await call
                    texts += [str(info.value), repr(info.value), repr(info.value.__cause__)]
                texts.append(repr(vc))
    texts += [repr(entry) for entry in logs]
    events = {entry["event"] for entry in logs}
    assert {"http_retry", "circuit_opened", "create_outcome_unknown", "create_reconciled"} <= events
    assert token
    for text in texts:
        for secret in (SENTINEL_PASSWORD, token, "Authorization", "Basic "):
            assert secret not in text
