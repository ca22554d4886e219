"""The admin API: /stats keys, jobs, peak concurrency and the generated listing."""

from __future__ import annotations

import socket

import anyio
import pytest

from fleetupgrade.sim import parse_scenario, run_simulator
from fleetupgrade.sim.stats import peak_concurrency
from tests.sim.conftest import Launch
from tests.sim.helpers import DATETIME, SW, one_vcenter, supervisor

pytestmark = pytest.mark.anyio

THREE = one_vcenter(
    supervisor("supervisor-1") + supervisor("supervisor-2") + supervisor("supervisor-3")
)


async def test_stats_document(launch: Launch) -> None:
    """GET /stats has the documented keys, counts requests by route template."""
    served = await launch(THREE)
    vc = served.vc()
    await vc.request("GET", f"{SW}/upgrades/supervisor-1")
    await vc.request("GET", f"{SW}/upgrades/supervisor-2")
    task = (await vc.create("supervisor-1")).json
    answer = await served.admin("GET", "/stats")
    assert answer.status == 200
    stats = answer.json
    assert set(stats) == {
        "requests",
        "creates",
        "sessions",
        "supervisors",
        "vcenter_requests",
        "jobs",
        "peak_in_progress",
        "generated",
        "now",
    }
    route = "GET /api/vcenter/namespace-management/software/supervisors/upgrades/{supervisor}"
    assert stats["requests"][route] == 2
    assert stats["requests"]["POST /api/session"] == 1
    assert stats["vcenter_requests"]["vc"][route] == 2
    assert stats["creates"] == {"vc/supervisor-1": 1}
    assert stats["sessions"] == 1
    assert stats["supervisors"]["vc/supervisor-1"] == {
        "state": "INPROGRESS",
        "current_version": "9.0.0",
        "config_status": "RUNNING",
        "kubernetes_status": "READY",
    }
    [job] = stats["jobs"]
    assert job["task"] == task
    assert (job["vcenter"], job["supervisor"], job["desired_version"]) == (
        "vc",
        "supervisor-1",
        "9.1.0",
    )
    assert DATETIME.match(job["created_at"])
    assert (job["ended_at"], job["result"]) == (None, None)
    assert stats == {**served.sim.stats(), "now": stats["now"]}


async def test_jobs_and_peak_in_progress(launch: Launch) -> None:
    """Jobs get end times and results; peak_in_progress sweeps their intervals."""
    served = await launch(THREE)
    vc = served.vc()
    await vc.create("supervisor-1")
    await vc.create("supervisor-2")
    served.advance(2000)
    await vc.create("supervisor-3")
    served.advance(2000)
    stats = served.sim.stats()
    assert [j["result"] for j in stats["jobs"]] == ["succeeded"] * 3
    assert all(DATETIME.match(j["ended_at"]) for j in stats["jobs"])
    assert stats["peak_in_progress"] == {"vc": 2, "*": 2}


@pytest.mark.parametrize(
    ("intervals", "peak"),
    [
        ([], 0),
        ([(0.0, 1.0), (1.0, 2.0)], 1),
        ([(0.0, 2.0), (1.0, 3.0), (2.5, None)], 2),
        ([(0.0, None), (1.0, None), (2.0, 3.0)], 3),
    ],
)
def test_peak_concurrency(intervals: list[tuple[float, float | None]], peak: int) -> None:
    """Half-open intervals: a job ending at t frees its slot for one starting at t."""
    assert peak_concurrency(intervals) == peak


async def test_generated_listing(launch: Launch) -> None:
    """Generated vCenters' Supervisors are listed with ids, names and expected outcomes."""
    served = await launch(
        "[generate]\nvcenters = 2\nsupervisors_per_vcenter = 3\nprecheck_error_rate = 1.0\n",
        login=False,
    )
    generated = served.sim.stats()["generated"]
    assert list(generated) == ["gen-vc-0001", "gen-vc-0002"]
    assert generated["gen-vc-0002"][2] == {
        "id": "supervisor-3",
        "name": "sv-0002-03",
        "start": "ready",
        "outcome": "precheck_error",
    }
    assert list(served.sim.vcenter_urls) == ["gen-vc-0001", "gen-vc-0002"]


async def test_ready_info(launch: Launch) -> None:
    """ready_info has exactly the --ready-file keys, with loopback URLs."""
    served = await launch(THREE)
    info = served.sim.ready_info()
    assert set(info) == {"ca_file", "admin_url", "vcenters"}
    assert info["admin_url"].startswith("https://127.0.0.1:")
    assert info["admin_url"].endswith("/admin")
    assert info["vcenters"]["vc"].startswith("https://127.0.0.1:")
    assert info["ca_file"].endswith("ca.pem")
    assert (served.sim.cert_thumbprint or "").startswith("sha256:")


async def test_plain_http(launch: Launch) -> None:
    """tls=False serves plain HTTP on loopback, without a CA."""
    served = await launch(THREE, tls=False)
    assert served.sim.ca_file is None
    assert served.sim.vcenter_urls["vc"].startswith("http://127.0.0.1:")
    assert (await served.vc().request("GET", f"{SW}/upgrades")).status == 200


def _three_free_ports() -> int:
    """A port P such that P, P+1 and P+2 are free right now (the layout needs a run)."""
    for _ in range(50):
        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            port = probe.getsockname()[1]
        if port + 2 > 65535:
            continue
        try:
            with socket.socket() as one, socket.socket() as two, socket.socket() as three:
                for sock, offset in ((one, 0), (two, 1), (three, 2)):
                    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
                    sock.bind(("127.0.0.1", port + offset))
        except OSError:
            continue
        return port
    raise AssertionError("no run of three free ports found")


async def test_fixed_port_layout(launch: Launch) -> None:
    """With port P the admin API is on P and the vCenters on P+1, P+2, …."""
    port = _three_free_ports()
    toml = '[[vcenters]]\nname = "a"\n[[vcenters]]\nname = "b"\n'
    served = await launch(toml, port=port, login=False)
    assert served.sim.admin_url == f"https://127.0.0.1:{port}/admin"
    assert served.sim.vcenter_urls == {
        "a": f"https://127.0.0.1:{port + 1}",
        "b": f"https://127.0.0.1:{port + 2}",
    }


@pytest.mark.parametrize("host", ["0.0.0.0", "10.1.2.3", "example.com"])
async def test_refuses_non_loopback(launch: Launch, host: str) -> None:
    """The simulator only listens on loopback."""
    with pytest.raises(ValueError, match=r"loopback|not an IP"):
        await launch(THREE, host=host)


def refuses(url: str) -> bool:
    """Whether nothing listens at a simulator URL any more."""
    host, port = url.split("//")[1].split("/", maxsplit=1)[0].rsplit(":", 1)
    with socket.socket() as probe:
        return probe.connect_ex((host, int(port))) != 0


async def test_cancelled_scope_closes_every_listener() -> None:
    """Cancelling the caller's scope shuts the simulator down and frees every port."""
    scenario = parse_scenario('[[vcenters]]\nname = "a"\n[[vcenters]]\nname = "b"\n')
    urls: list[str] = []
    with anyio.move_on_after(0.2) as scope:
        async with run_simulator(scenario) as sim:
            urls = [sim.admin_url, *sim.vcenter_urls.values()]
            assert not any(refuses(url) for url in urls)
            await anyio.sleep_forever()
    assert scope.cancelled_caught
    assert all(refuses(url) for url in urls)
