"""Fault injection per vCenter (docs/simulator.md) and its determinism for a seed."""

from __future__ import annotations

import json
import time
from typing import Any

import aiohttp
import pytest

from tests.sim.conftest import Launch
from tests.sim.helpers import SW, VC, client_ssl, one_vcenter, precheck, serve, supervisor

pytestmark = pytest.mark.anyio

BASE = one_vcenter(supervisor())


async def test_http_503_rate(launch: Launch) -> None:
    """At rate 1 every request answers 503 SERVICE_UNAVAILABLE with a vAPI body."""
    served = await launch(BASE)
    await served.sim.set_faults("vc", http_503_rate=1.0)
    answer = await served.vc().request("GET", f"{SW}/upgrades")
    assert (answer.status, answer.error_type) == (503, "SERVICE_UNAVAILABLE")
    assert answer.json["messages"]


async def test_reset_rate_drops_the_connection(launch: Launch) -> None:
    """At rate 1 the connection is dropped before the request is handled."""
    served = await launch(BASE)
    await served.sim.set_faults("vc", reset_rate=1.0)
    with pytest.raises(aiohttp.ClientError):
        await served.vc().create("supervisor-1")
    assert served.sim.stats()["creates"] == {}


async def test_lost_response_carries_out_the_create(launch: Launch) -> None:
    """The create happens, then the connection drops: the client sees an error, stats a job."""
    served = await launch(BASE)
    await served.sim.set_faults("vc", lost_response_rate=1.0)
    vc = served.vc()
    with pytest.raises(aiohttp.ClientError):
        await vc.create("supervisor-1")
    stats = served.sim.stats()
    assert stats["creates"] == {"vc/supervisor-1": 1}
    assert stats["supervisors"]["vc/supervisor-1"]["state"] == "INPROGRESS"
    info = await vc.info("supervisor-1")  # reads are unaffected
    assert info["upgrade_status"]["desired_version"] == "9.1.0"


async def test_lost_response_only_hits_successful_creates(launch: Launch) -> None:
    """Error answers of create and every other operation arrive normally."""
    served = await launch(BASE)
    await served.sim.set_faults("vc", lost_response_rate=1.0)
    answer = await served.vc().create("supervisor-1", version="7.0.0")
    assert answer.status == 400


async def test_malformed_rate_truncates_reads(launch: Launch) -> None:
    """At rate 1 a 200 read answers with an invalid JSON body; writes are untouched."""
    served = await launch(BASE)
    await served.sim.set_faults("vc", malformed_rate=1.0)
    vc = served.vc()
    answer = await vc.request("GET", f"{SW}/upgrades")
    assert answer.status == 200
    assert answer.headers["Content-Type"].startswith("application/json")
    with pytest.raises(json.JSONDecodeError):
        json.loads(answer.raw)
    assert (await vc.create("supervisor-1")).status == 201


async def test_down_refuses_connections_and_comes_back(launch: Launch) -> None:
    """down = true closes the listening socket; false re-listens on the same URL."""
    served = await launch(BASE)
    url = served.sim.vcenter_urls["vc"]
    await served.sim.set_faults("vc", down=True)
    with pytest.raises(aiohttp.ClientError):  # a pooled keep-alive connection is dropped too
        await served.vc().request("GET", f"{SW}/upgrades")
    async with aiohttp.ClientSession(
        connector=aiohttp.TCPConnector(ssl=client_ssl(served.sim))
    ) as http:
        with pytest.raises(aiohttp.ClientConnectorError):
            await VC(http, url).request("POST", "/api/session")
    await served.sim.set_faults("vc", down=False)
    assert served.sim.vcenter_urls["vc"] == url
    assert (await served.vc().request("GET", f"{SW}/upgrades")).status == 200


async def test_down_from_the_start(launch: Launch) -> None:
    """A vCenter that starts down has a URL but refuses connections until brought up."""
    served = await launch(one_vcenter(supervisor(), faults="down = true"), login=False)
    with pytest.raises(aiohttp.ClientConnectorError):
        await served.vc().login()
    await served.sim.set_faults("vc", down=False)
    await served.vc().login()


async def test_latency_is_real_time(launch: Launch) -> None:
    """latency delays each answer by real time, whatever the speed."""
    served = await launch(one_vcenter(supervisor(), sim='speed = 1000.0\nlatency = "200ms"'))
    vc = served.vc()
    start = time.monotonic()
    await vc.request("GET", f"{SW}/upgrades")
    assert time.monotonic() - start >= 0.2
    await served.sim.set_faults("vc", latency="0s")
    start = time.monotonic()
    await vc.request("GET", f"{SW}/upgrades")
    assert time.monotonic() - start < 0.2


async def draw_pattern(seed: int) -> list[int]:
    """Statuses of 30 reads at 50 % 503s for a seed."""
    toml = (
        f"[sim]\nseed = {seed}\n"
        + one_vcenter(supervisor(), faults="http_503_rate = 0.5").split("\n", 2)[2]
    )
    async with serve(toml) as served:
        vc = served.vc()
        statuses = []
        for _ in range(30):
            statuses.append((await vc.request("GET", "/api/session", token="x")).status)
        return statuses


async def test_faults_are_deterministic_for_a_seed() -> None:
    """The same seed meets the same faults in the same request sequence; another seed differs."""
    first = await draw_pattern(7)
    assert first == await draw_pattern(7)
    assert set(first) == {401, 503}
    assert first != await draw_pattern(8)


async def test_task_ids_are_deterministic_for_a_seed() -> None:
    """Task ids derive from the seed, so two runs of a scenario name the same tasks."""
    ids = []
    for _ in range(2):
        async with serve(BASE) as served:
            await served.vc().login()
            ids.append((await served.vc().create("supervisor-1")).json)
    assert ids[0] == ids[1]


@pytest.mark.parametrize(
    ("changes", "fragment"),
    [
        ({"vc": {"http_503_rate": 2}}, "vc.http_503_rate"),
        ({"vc": {"bogus": 1}}, "unknown fault"),
        ({"nope": {"down": True}}, "nope: unknown vCenter"),
        ({"vc": {"session_ttl": "soon"}}, "invalid duration"),
        ({"vc": 3}, "expected an object"),
        ([], "non-empty JSON object"),
    ],
)
async def test_admin_faults_validation(launch: Launch, changes: object, fragment: str) -> None:
    """Bad fault changes answer 400 with a message, and nothing is applied."""
    served = await launch(BASE)
    answer = await served.admin("POST", "/faults", changes)
    assert answer.status == 400
    assert fragment in answer.json["error"]
    assert served.sim.faults()["vc"]["http_503_rate"] == 0.0


async def test_admin_faults_star_then_named(launch: Launch) -> None:
    """``*`` changes every vCenter; a named entry overrides it; null clears an optional fault."""
    served = await launch(
        '[[vcenters]]\nname = "vc"\nfaults = { max_sessions = 3 }\n[[vcenters]]\nname = "vc-2"\n'
    )
    body = {"*": {"http_503_rate": 0.25, "max_sessions": None}, "vc-2": {"http_503_rate": 0.5}}
    answer = await served.admin("POST", "/faults", body)
    assert answer.status == 200
    assert answer.json["vc"]["http_503_rate"] == 0.25
    assert answer.json["vc"]["max_sessions"] is None
    assert answer.json["vc-2"]["http_503_rate"] == 0.5
    current = (await served.admin("GET", "/faults")).json
    assert current == served.sim.faults()


async def test_set_faults_rejects_bad_input(launch: Launch) -> None:
    """The Python API validates like the admin API (ValueError)."""
    served = await launch(BASE)
    with pytest.raises(ValueError, match="unknown fault"):
        await served.sim.set_faults("vc", jitter=1)


OMITTING = one_vcenter(
    supervisor(
        "sv-warned",
        precheck_duration="10s",
        upgrade_duration="100s",
        prechecks=[precheck("WARNING", "tkc.compat")],
    )
    + supervisor(
        "sv-blocked", precheck_duration="10s", prechecks=[precheck("ERROR", "disk.space")]
    ),
    faults="omit_upgrade_prechecks = true",
)


def severities(messages: list[dict[str, Any]]) -> list[tuple[str, str]]:
    """(severity, details id) of Upgrades.Message entries."""
    return [(m["severity"], m["details"]["id"]) for m in messages]


async def test_omit_upgrade_prechecks_while_in_progress(launch: Launch) -> None:
    """Without upgrade_prechecks, verdicts show only as status message severities."""
    served = await launch(OMITTING)
    vc = served.vc()
    await vc.create("sv-warned", ignore_precheck_warnings=True)
    assert "upgrade_prechecks" not in await vc.info("sv-warned")
    served.advance(30)
    info = await vc.info("sv-warned")
    assert "upgrade_prechecks" not in info
    assert info["upgrade_status"]["components"]
    assert severities(info["upgrade_status"]["messages"]) == [
        ("WARNING", "tkc.compat"),
        ("INFO", "vcenter.wcp.upgrade.precheck.completed"),
    ]


async def test_omit_upgrade_prechecks_after_a_block(launch: Launch) -> None:
    """After a block, the verdict is in Info messages only; Prechecks.get still answers."""
    served = await launch(OMITTING)
    vc = served.vc()
    task = (await vc.create("sv-blocked")).json
    served.advance(30)
    assert (await vc.task(task))["status"] == "FAILED"
    info = await vc.info("sv-blocked")
    assert "upgrade_prechecks" not in info
    assert severities(info["messages"]) == [
        ("ERROR", "disk.space"),
        ("ERROR", "vcenter.wcp.upgrade.precheck.blocked"),
    ]
    results = await vc.request("GET", f"{SW}/sv-blocked/prechecks")
    assert results.json["precheck_results"][0]["status"] == "ERROR"
    answer = await served.admin("POST", "/faults", {"vc": {"omit_upgrade_prechecks": False}})
    assert answer.json["vc"]["omit_upgrade_prechecks"] is False
    assert [c["severity"] for c in (await vc.info("sv-blocked"))["upgrade_prechecks"]] == [
        "INFO",
        "ERROR",
    ]
