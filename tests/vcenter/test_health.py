"""Supervisor health: typed Summary fields, ``is_healthy`` and ``health_problem``."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from fleetupgrade.sim import parse_scenario, run_simulator
from fleetupgrade.vcenter import (
    ConfigStatus,
    KubernetesStatus,
    Severity,
    SupervisorSummary,
    VCenterClient,
    health_problem,
    is_healthy,
)
from fleetupgrade.vcenter.models import SummaryListResult
from tests.vcenter.conftest import SENTINEL_PASSWORD, endpoint_for

pytestmark = pytest.mark.anyio


def _summary(config: str, kubernetes: str, *messages: tuple[str, str, str]) -> SupervisorSummary:
    info: dict[str, Any] = {
        "name": "sv",
        "stats": {},
        "config_status": config,
        "kubernetes_status": kubernetes,
    }
    if messages:
        info["messages"] = [
            {
                "id": mid,
                "severity": sev,
                "details": {"id": mid, "default_message": text, "args": []},
            }
            for mid, sev, text in messages
        ]
    body = json.dumps({"items": [{"supervisor": "s-1", "info": info}]})
    result = SummaryListResult.model_validate_json(body)
    (summary,) = result.supervisors()
    return summary


@pytest.mark.parametrize(
    ("config", "kubernetes", "healthy"),
    [
        ("RUNNING", "READY", True),
        ("RUNNING", "WARNING", False),
        ("CONFIGURING", "READY", False),
        ("ERROR", "ERROR", False),
        ("RUNNING", "SOMETHING_NEW", False),
        ("BRAND_NEW", "READY", False),
    ],
)
def test_healthy_means_running_and_ready(config: str, kubernetes: str, healthy: bool) -> None:
    """Only RUNNING + READY is healthy; unknown values are never taken for healthy."""
    summary = _summary(config, kubernetes)
    assert is_healthy(summary) is healthy
    assert (health_problem(summary) == "") is healthy


def test_unknown_statuses_are_unrecognized() -> None:
    """Values this version does not know read as UNRECOGNIZED and the problem shows them."""
    summary = _summary("BRAND_NEW", "ODD")
    assert summary.config_status is ConfigStatus.UNRECOGNIZED
    assert summary.kubernetes_status is KubernetesStatus.UNRECOGNIZED
    assert "config <unrecognized>" in health_problem(summary)


def test_problem_prefers_the_worst_message() -> None:
    """The one-line reason names the first ERROR message (then WARNING) and counts the rest."""
    summary = _summary(
        "ERROR",
        "WARNING",
        ("w.1", "WARNING", "disk almost full"),
        ("e.1", "ERROR", "etcd quorum lost"),
        ("e.2", "ERROR", "api server down"),
    )
    assert summary.messages[0].severity is Severity.WARNING
    assert health_problem(summary) == (
        "config ERROR, kubernetes WARNING: ERROR e.1: etcd quorum lost (+1 more)"
    )


def test_problem_without_messages_names_the_statuses() -> None:
    """Without messages the statuses themselves are the reason."""
    assert health_problem(_summary("CONFIGURING", "WARNING")) == (
        "config CONFIGURING, kubernetes WARNING"
    )


async def test_simulator_health_is_read_typed(tmp_path: Path) -> None:
    """list_supervisors carries statuses and messages; an unhealthy one is explained."""
    scenario = f"""
[sim]
speed = 600.0

[[users]]
username = "administrator@vsphere.local"
password = "{SENTINEL_PASSWORD}"

[[vcenters]]
name = "vc-east"

[[vcenters.supervisors]]
id = "supervisor-1"
name = "sv-ok"

[[vcenters.supervisors]]
id = "supervisor-2"
name = "sv-broken"
health_before = "ERROR"
"""
    async with run_simulator(parse_scenario(scenario), workdir=tmp_path) as sim:
        endpoint = endpoint_for(sim.vcenter_urls["vc-east"], ca_file=sim.ca_file)
        async with VCenterClient(endpoint) as vc:
            rows = {row.id: row for row in await vc.list_supervisors()}
    assert is_healthy(rows["supervisor-1"])
    assert rows["supervisor-1"].messages == ()
    broken = rows["supervisor-2"]
    assert not is_healthy(broken)
    assert broken.config_status is ConfigStatus.ERROR
    assert broken.messages
    assert broken.messages[0].severity is Severity.ERROR
    assert health_problem(broken).startswith("config ERROR, kubernetes ")
    assert "sv-broken is not healthy" in health_problem(broken)
