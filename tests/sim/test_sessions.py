"""Session lifetimes and the per-user cap (§4), in simulated time."""

from __future__ import annotations

import pytest

from tests.sim.conftest import Launch
from tests.sim.helpers import ADMIN, PASSWORD, SW, basic, one_vcenter, supervisor

pytestmark = pytest.mark.anyio


async def test_session_expires_after_ttl(launch: Launch) -> None:
    """A session older than session_ttl answers 401, even while in use."""
    served = await launch(one_vcenter(supervisor(), faults='session_ttl = "30m"'))
    vc = served.vc()
    served.advance(29 * 60)
    assert (await vc.request("GET", f"{SW}/upgrades")).status == 200
    served.advance(61)
    answer = await vc.request("GET", f"{SW}/upgrades")
    assert (answer.status, answer.error_type) == (401, "UNAUTHENTICATED")
    assert served.sim.stats()["sessions"] == 0
    await vc.login()
    assert (await vc.request("GET", f"{SW}/upgrades")).status == 200


async def test_session_expires_when_idle(launch: Launch) -> None:
    """Unused for session_idle_timeout, a session ends; each call refreshes it."""
    served = await launch(one_vcenter(supervisor(), faults='session_idle_timeout = "10m"'))
    vc = served.vc()
    for _ in range(3):
        served.advance(9 * 60)
        assert (await vc.request("GET", "/api/session")).status == 200
    served.advance(11 * 60)
    assert (await vc.request("GET", "/api/session")).status == 401


async def test_max_sessions_per_user(launch: Launch) -> None:
    """Beyond max_sessions live sessions of a user, login answers 503 SERVICE_UNAVAILABLE."""
    served = await launch(one_vcenter(supervisor(), faults="max_sessions = 2"), login=False)
    vc = served.vc()
    first = await vc.login()
    await vc.login()
    refused = await vc.request(
        "POST", "/api/session", headers={"Authorization": basic(ADMIN, PASSWORD)}, token=None
    )
    assert (refused.status, refused.error_type) == (503, "SERVICE_UNAVAILABLE")
    assert "challenge" not in refused.json
    assert served.sim.stats()["sessions"] == 2
    assert (await vc.request("DELETE", "/api/session", token=first)).status == 204
    await vc.login()


async def test_sessions_are_per_vcenter(launch: Launch) -> None:
    """A token of one vCenter is unknown to another."""
    toml = '[[vcenters]]\nname = "vc"\n[[vcenters]]\nname = "vc-2"\n'
    served = await launch(toml)
    token = served.vc().token
    answer = await served.vc("vc-2").request("GET", "/api/session", token=token)
    assert answer.status == 401
