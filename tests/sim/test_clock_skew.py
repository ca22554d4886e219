"""The ``clock_skew`` fault: a vCenter whose clock is off reports every time shifted."""

from __future__ import annotations

from datetime import datetime, timedelta
from email.utils import parsedate_to_datetime

import pytest

from tests.sim.conftest import Launch
from tests.sim.helpers import NS, SW, Answer, supervisor

pytestmark = pytest.mark.anyio

TWO = (
    "[sim]\nspeed = 1.0\n"
    '[[vcenters]]\nname = "vc"\nfaults = { clock_skew = "-2m" }\n'
    + supervisor("sv", precheck_duration="10s", upgrade_duration="20s")
    + '[[vcenters]]\nname = "vc-true"\n'
    + supervisor("sv", precheck_duration="10s", upgrade_duration="20s")
)


def date_of(answer: Answer) -> datetime:
    """The HTTP Date header of an answer."""
    return parsedate_to_datetime(answer.headers["Date"])


def instant(text: str) -> datetime:
    """A wire date-time."""
    return datetime.fromisoformat(text.replace("Z", "+00:00"))


async def test_date_header_follows_the_skewed_clock(launch: Launch) -> None:
    """Every answer, errors included, has a Date from its vCenter's clock (2 minutes behind)."""
    served = await launch(TWO)
    await served.vc("vc-true").login()
    skewed = await served.vc("vc").request("GET", f"{SW}/upgrades")
    true = await served.vc("vc-true").request("GET", f"{SW}/upgrades")
    offset = (date_of(skewed) - date_of(true)).total_seconds()
    assert -122 <= offset <= -118
    for answer in (
        await served.vc("vc").request("GET", f"{SW}/upgrades", token=None),  # 401
        await served.vc("vc").request("GET", f"{SW}/upgrades/nowhere"),  # 404
        await served.vc("vc").request("GET", f"{NS}/supervisors/summaries"),
    ):
        assert abs((date_of(answer) - date_of(skewed)).total_seconds()) <= 2


async def test_date_header_is_simulated_time(launch: Launch) -> None:
    """The Date header moves with the simulated clock, not with the wall clock."""
    served = await launch(TWO)
    before = date_of(await served.vc().request("GET", "/api/session"))
    served.advance(3600)
    after = date_of(await served.vc().request("GET", "/api/session"))
    assert 3599 <= (after - before).total_seconds() <= 3602


async def test_reported_times_are_shifted(launch: Launch) -> None:
    """Task times, transition times and last_upgraded_date are the skewed clock's."""
    served = await launch(TWO)
    vc = served.vc()
    task = (await vc.create("sv")).json
    [job] = served.sim.stats()["jobs"]  # the admin API reports true simulated time
    skew = timedelta(minutes=-2)
    running = await vc.task(task)
    assert instant(running["start_time"]) == instant(job["created_at"]) + skew
    conditions = (await vc.info("sv"))["upgrade_prechecks"]
    assert {instant(c["last_transition_time"]) for c in conditions} == {
        instant(job["created_at"]) + skew
    }
    served.advance(60)
    [job] = served.sim.stats()["jobs"]
    done = await vc.task(task)
    assert instant(done["end_time"]) == instant(job["ended_at"]) + skew
    assert instant((await vc.info("sv"))["last_upgraded_date"]) == instant(job["ended_at"]) + skew
    session = (await vc.request("GET", "/api/session")).json
    assert instant(session["created_time"]) < instant(served.sim.stats()["now"]) + skew


async def test_clock_skew_changes_at_run_time(launch: Launch) -> None:
    """POST /faults sets a signed clock_skew; GET /faults shows it; Date follows at once."""
    served = await launch(TWO)
    vc = served.vc()
    before = date_of(await vc.request("GET", "/api/session"))
    answer = await served.admin("POST", "/faults", {"vc": {"clock_skew": "+90s"}})
    assert answer.status == 200
    assert answer.json["vc"]["clock_skew"] == "1m30s"
    after = date_of(await vc.request("GET", "/api/session"))
    assert 208 <= (after - before).total_seconds() <= 212
    assert (await served.admin("GET", "/faults")).json["vc-true"]["clock_skew"] == "0s"
    await served.sim.set_faults("vc", clock_skew="-2m")
    assert served.sim.faults()["vc"]["clock_skew"] == "-2m"


@pytest.mark.parametrize("value", ["-2 minutes", "--2m", 120, None])
async def test_bad_clock_skew_is_refused(launch: Launch, value: object) -> None:
    """A clock_skew that is not a signed duration string answers 400, located."""
    served = await launch(TWO, login=False)
    answer = await served.admin("POST", "/faults", {"vc": {"clock_skew": value}})
    assert answer.status == 400
    assert answer.json["error"].startswith("vc.clock_skew: ")
