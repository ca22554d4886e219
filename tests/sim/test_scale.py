"""A generated 500 x 20 fleet loads, listens and answers (lazy state, one process)."""

from __future__ import annotations

import time

import pytest

from tests.sim.conftest import Launch
from tests.sim.helpers import SW

pytestmark = pytest.mark.anyio

FLEET = """
[sim]
speed = 10000.0
seed = 11
[generate]
vcenters = 500
supervisors_per_vcenter = 20
precheck_duration = "1m"
upgrade_duration = "20m"
precheck_error_rate = 0.01
precheck_warning_rate = 0.05
failure_rate = 0.01
"""


async def test_generated_fleet_of_10000_supervisors(launch: Launch) -> None:
    """500 vCenters × 20 Supervisors start quickly; a far vCenter upgrades; stats cover all."""
    start = time.monotonic()
    served = await launch(FLEET, login=False)
    assert len(served.sim.vcenter_urls) == 500
    last = served.vc("gen-vc-0500")
    await last.login()
    listed = (await last.request("GET", f"{SW}/upgrades")).json["supervisors"]
    assert [s["supervisor"] for s in listed] == [f"supervisor-{i}" for i in range(1, 21)]
    expected = served.sim.stats()["generated"]["gen-vc-0500"]
    fine = next(s["id"] for s in expected if s["outcome"] == "upgraded")
    task = (await last.create(fine)).json
    assert (await last.wait_task_end(task, limit=5.0))["status"] == "SUCCEEDED"
    stats = served.sim.stats()
    assert len(stats["supervisors"]) == 10_000
    assert stats["creates"] == {f"gen-vc-0500/{fine}": 1}
    assert time.monotonic() - start < 15
