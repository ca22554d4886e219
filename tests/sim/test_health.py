"""Supervisor health in Summary: before, during and after an upgrade, with explanations."""

from __future__ import annotations

from typing import Any

import pytest

from fleetupgrade.errors import ScenarioError
from fleetupgrade.sim import parse_scenario
from tests.sim.conftest import Launch
from tests.sim.helpers import NS, VC, one_vcenter, supervisor

pytestmark = pytest.mark.anyio

HEALTH = one_vcenter(
    supervisor("sv-running")
    + supervisor("sv-configuring", health_before="CONFIGURING")
    + supervisor("sv-error", health_before="ERROR")
    + supervisor(
        "sv-settling",
        precheck_duration="10s",
        upgrade_duration="60s",
        health_settle="5m",
        health_after_upgrade="ERROR",
    )
    + supervisor(
        "sv-stuck",
        precheck_duration="1s",
        upgrade_duration="1m",
        health_after_upgrade="CONFIGURING",
    )
    + supervisor("sv-failing", precheck_duration="1s", upgrade_duration="1m", fail_at_percent=50)
    + supervisor("sv-was-failed", start_state="ERROR")
)


async def summary(vc: VC, sid: str) -> dict[str, Any]:
    """Summary.get (must succeed)."""
    answer = await vc.request("GET", f"{NS}/supervisors/{sid}/summary")
    assert answer.status == 200, answer.raw
    return dict(answer.json)


def health(info: dict[str, Any]) -> tuple[str, str, list[str]]:
    """(config_status, kubernetes_status, message ids) of a Summary.Info."""
    ids = [m["id"] for m in info.get("messages", [])]
    return info["config_status"], info["kubernetes_status"], ids


@pytest.mark.parametrize(
    ("sid", "expected"),
    [
        ("sv-running", ("RUNNING", "READY", [])),
        ("sv-configuring", ("CONFIGURING", "WARNING", ["vcenter.wcp.health.configuring"])),
        ("sv-error", ("ERROR", "ERROR", ["vcenter.wcp.health.error"])),
        ("sv-was-failed", ("ERROR", "ERROR", ["vcenter.wcp.upgrade.failed"])),
    ],
)
async def test_health_before_any_upgrade(
    launch: Launch, sid: str, expected: tuple[str, str, list[str]]
) -> None:
    """health_before (and start_state ERROR) set the Summary statuses and their messages."""
    served = await launch(HEALTH)
    info = await summary(served.vc(), sid)
    assert health(info) == expected
    assert "messages" not in info or info["messages"]  # omitted when healthy, never []


async def test_unhealthy_messages_carry_severity_and_text(launch: Launch) -> None:
    """A health ERROR message is severity ERROR with a text and a KB link; CONFIGURING warns."""
    served = await launch(HEALTH)
    [error] = (await summary(served.vc(), "sv-error"))["messages"]
    assert error["severity"] == "ERROR"
    assert "sv-error" in error["details"]["default_message"]
    assert error["details"]["id"] == "vcenter.wcp.health.error"
    assert error["kb_article_link"].startswith("https://")
    [configuring] = (await summary(served.vc(), "sv-configuring"))["messages"]
    assert configuring["severity"] == "WARNING"
    assert "kb_article_link" not in configuring


async def test_health_through_an_upgrade_and_its_settling(launch: Launch) -> None:
    """RUNNING → CONFIGURING while upgrading and for health_settle → health_after_upgrade."""
    served = await launch(HEALTH)
    vc = served.vc()
    assert (await vc.create("sv-settling")).status == 201
    assert health(await summary(vc, "sv-settling"))[:2] == ("RUNNING", "READY")  # prechecks
    served.advance(10 + 30)
    during = await summary(vc, "sv-settling")
    assert health(during) == ("CONFIGURING", "WARNING", ["vcenter.wcp.health.configuring"])
    assert "upgrade to 9.1.0" in during["messages"][0]["details"]["default_message"]
    served.advance(30 + 60)  # the job has ended; 1 of 5 minutes of settling passed
    assert (await vc.info("sv-settling"))["state"] == "READY"
    assert health(await summary(vc, "sv-settling"))[:2] == ("CONFIGURING", "WARNING")
    served.advance(4 * 60)
    assert health(await summary(vc, "sv-settling")) == (
        "ERROR",
        "ERROR",
        ["vcenter.wcp.health.error"],
    )


async def test_health_after_upgrade_can_stay_configuring(launch: Launch) -> None:
    """health_after_upgrade CONFIGURING never settles: the client must time out on it."""
    served = await launch(HEALTH)
    vc = served.vc()
    await vc.create("sv-stuck")
    served.advance(3600)
    assert (await vc.info("sv-stuck"))["current_version"] == "9.1.0"
    assert health(await summary(vc, "sv-stuck"))[:2] == ("CONFIGURING", "WARNING")


async def test_failed_upgrade_is_error_with_its_cause(launch: Launch) -> None:
    """A failed upgrade leaves config ERROR / kubernetes ERROR and the failure as message."""
    served = await launch(HEALTH)
    vc = served.vc()
    await vc.create("sv-failing")
    served.advance(3600)
    assert health(await summary(vc, "sv-failing")) == (
        "ERROR",
        "ERROR",
        ["vcenter.wcp.upgrade.failed"],
    )


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ({"config_status": "ERROR"}, ["sv-error", "sv-was-failed"]),
        ({"kubernetes_status": "WARNING"}, ["sv-configuring"]),
        (
            {"config_status": "RUNNING", "kubernetes_status": "READY"},
            ["sv-failing", "sv-running", "sv-settling", "sv-stuck"],
        ),
        ({"config_status": "CONFIGURING", "kubernetes_status": "READY"}, []),
    ],
)
async def test_bulk_summaries_filter_by_health(
    launch: Launch, query: dict[str, str], expected: list[str]
) -> None:
    """The bulk Summary.list filters on config_status and kubernetes_status (query form)."""
    served = await launch(HEALTH)
    answer = await served.vc().request("GET", f"{NS}/supervisors/summaries", params=query)
    assert answer.status == 200
    assert sorted(item["supervisor"] for item in answer.json["items"]) == expected


async def test_bulk_summaries_filter_in_the_body(launch: Launch) -> None:
    """The SDK's GET-body filter form selects the same Supervisors, with their messages."""
    served = await launch(HEALTH)
    answer = await served.vc().request(
        "GET", f"{NS}/supervisors/summaries", body={"filter": {"kubernetes_status": "ERROR"}}
    )
    items = {item["supervisor"]: item["info"] for item in answer.json["items"]}
    assert sorted(items) == ["sv-error", "sv-was-failed"]
    assert all(info["messages"] for info in items.values())


async def test_stats_show_health(launch: Launch) -> None:
    """/stats supervisors entries carry config_status and kubernetes_status."""
    served = await launch(HEALTH)
    entries = served.sim.stats()["supervisors"]
    assert entries["vc/sv-configuring"] == {
        "state": "READY",
        "current_version": "9.0.0",
        "config_status": "CONFIGURING",
        "kubernetes_status": "WARNING",
    }
    assert entries["vc/sv-was-failed"]["state"] == "ERROR"
    assert entries["vc/sv-was-failed"]["kubernetes_status"] == "ERROR"


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        (
            {"health_before": "BROKEN"},
            "health_before: Input should be 'RUNNING', 'CONFIGURING' or 'ERROR'",
        ),
        ({"health_settle": "soon"}, "health_settle: invalid duration 'soon'"),
        ({"start_state": "INPROGRESS"}, "start_state: Input should be 'READY' or 'ERROR'"),
        ({"in_progress_to": "9.2.0"}, "in_progress_to '9.2.0' must be one of available_versions"),
    ],
)
def test_bad_health_keys_are_located(fields: dict[str, str], message: str) -> None:
    """Bad health / start keys are reported with their location."""
    with pytest.raises(ScenarioError) as caught:
        parse_scenario(one_vcenter(supervisor("a", **fields)))
    assert message in str(caught.value)
    assert "vcenters[0].supervisors[0]" in str(caught.value)
