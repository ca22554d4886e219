"""How Supervisors start: already current, nothing available, upgrade running, ERROR.

Listed Supervisors say it with ``start_state`` / ``in_progress_to``; a ``[generate]`` fleet
draws it with ``current_rate``, ``not_available_rate``, ``in_progress_rate`` and
``error_state_rate`` (deterministic for a seed, listed by /stats).
"""

from __future__ import annotations

from collections import Counter
from typing import Any

import pytest

from fleetupgrade.errors import ScenarioError
from fleetupgrade.sim import parse_scenario
from fleetupgrade.sim.generate import generate_vcenters
from tests.sim.conftest import Launch
from tests.sim.helpers import NS, SW, one_vcenter, supervisor

pytestmark = pytest.mark.anyio

JOB_SERVICE = "com.vmware.vcenter.namespace_management.software.supervisors.upgrades.jobs"


def generated(rates: str, *, seed: int = 3, count: int = 4) -> str:
    """A scenario with one generated vCenter of ``count`` Supervisors."""
    return (
        f"[sim]\nseed = {seed}\n[generate]\nvcenters = 1\nsupervisors_per_vcenter = {count}\n"
        f'precheck_duration = "10s"\nupgrade_duration = "100s"\n{rates}\n'
    )


async def test_listed_supervisor_with_an_upgrade_already_running(launch: Launch) -> None:
    """in_progress_to: someone else's upgrade runs at start, past its prechecks, to its end."""
    served = await launch(
        one_vcenter(
            supervisor(
                "sv-busy", precheck_duration="10s", upgrade_duration="100s", in_progress_to="9.1.0"
            )
        )
    )
    vc = served.vc()
    info = await vc.info("sv-busy")
    assert (info["state"], info["upgrade_status"]["desired_version"]) == ("INPROGRESS", "9.1.0")
    assert info["upgrade_status"]["components"]  # the upgrade proper has begun
    listed = await vc.request("GET", "/api/cis/tasks", params={"services": JOB_SERVICE})
    [(task, details)] = listed.json.items()
    assert (details["user"], details["status"], details["cancelable"]) == (
        "other-admin@vsphere.local",
        "RUNNING",
        False,
    )
    assert details["target"]["id"] == "sv-busy"
    refused = await vc.create("sv-busy")
    assert (refused.status, refused.error_type) == (400, "UNSUPPORTED")
    stats = served.sim.stats()
    assert stats["creates"] == {}
    assert stats["peak_in_progress"] == {"vc": 0, "*": 0}
    assert stats["jobs"][0]["preexisting"] is True
    served.advance(100)
    assert (await vc.task(task))["status"] == "SUCCEEDED"
    assert (await vc.info("sv-busy"))["current_version"] == "9.1.0"


async def test_listed_supervisor_starting_in_error(launch: Launch) -> None:
    """start_state ERROR: Upgrades state ERROR with the earlier failure; a retry is accepted."""
    served = await launch(one_vcenter(supervisor("sv-failed", start_state="ERROR")))
    vc = served.vc()
    info = await vc.info("sv-failed")
    assert info["state"] == "ERROR"
    assert [(m["severity"], m["details"]["id"]) for m in info["messages"]] == [
        ("ERROR", "vcenter.wcp.upgrade.failed")
    ]
    assert "upgrade_status" not in info
    assert (await vc.create("sv-failed")).status == 201


@pytest.mark.parametrize(
    ("rate", "start", "outcome"),
    [
        ("current_rate", "current", "already_current"),
        ("not_available_rate", "not_available", "rejected"),
        ("in_progress_rate", "in_progress", "in_progress"),
        ("error_state_rate", "error", "rejected"),
    ],
)
async def test_each_generated_start(launch: Launch, rate: str, start: str, outcome: str) -> None:
    """At rate 1 every generated Supervisor starts that way, on the wire and in /stats."""
    served = await launch(generated(f"{rate} = 1.0"), login=False)
    entries = served.sim.stats()["generated"]["gen-vc-0001"]
    assert {(e["start"], e["outcome"]) for e in entries} == {(start, outcome)}
    assert [e["id"] for e in entries] == [f"supervisor-{i}" for i in range(1, 5)]
    vc = served.vc("gen-vc-0001")
    await vc.login()
    listed = (await vc.request("GET", f"{SW}/upgrades")).json["supervisors"]
    views = {(s["current_version"], tuple(s["available_versions"]), s["state"]) for s in listed}
    expected: dict[str, Any] = {
        "current": {("9.1.0", (), "READY")},
        "not_available": {("9.0.0", (), "READY")},
        "in_progress": {("9.0.0", ("9.1.0",), "INPROGRESS")},
        "error": {("9.0.0", ("9.1.0",), "ERROR")},
    }
    assert views == expected[start]
    if start == "in_progress":
        tasks = await vc.request("GET", "/api/cis/tasks", params={"services": JOB_SERVICE})
        assert len(tasks.json) == 4
    if start == "error":
        summaries = await vc.request(
            "GET", f"{NS}/supervisors/summaries", params={"config_status": "ERROR"}
        )
        assert len(summaries.json["items"]) == 4


MIX = "current_rate = 0.1\nnot_available_rate = 0.1\nin_progress_rate = 0.1\nerror_state_rate = 0.1"


def test_generated_mix_is_deterministic_and_mixed() -> None:
    """The same seed gives the same mix; every kind appears in a large enough fleet."""
    spec = parse_scenario(generated(MIX, count=200)).generate
    assert spec is not None
    first = generate_vcenters(spec, seed=5)
    again = generate_vcenters(spec, seed=5)
    other = generate_vcenters(spec, seed=6)
    assert first == again
    assert first != other
    kinds = Counter(
        (s.start_state, s.in_progress_to, s.current_version, tuple(s.available_versions))
        for s in first[0].supervisors
    )
    assert kinds[("READY", None, "9.1.0", ())] > 5  # current
    assert kinds[("READY", None, "9.0.0", ())] > 5  # not available
    assert kinds[("READY", "9.1.0", "9.0.0", ("9.1.0",))] > 5  # in progress
    assert kinds[("ERROR", None, "9.0.0", ("9.1.0",))] > 5  # ERROR
    assert kinds[("READY", None, "9.0.0", ("9.1.0",))] > 100  # plain


def test_generated_mix_never_shifts_fates() -> None:
    """Adding a mix keeps each Supervisor's drawn prechecks and failure point."""
    rates = "precheck_error_rate = 0.2\nprecheck_warning_rate = 0.2\nfailure_rate = 0.3"
    plain = parse_scenario(generated(rates, count=50)).generate
    mixed = parse_scenario(generated(f"{rates}\n{MIX}", count=50)).generate
    assert plain is not None
    assert mixed is not None

    def fates(spec: Any) -> list[tuple[object, int]]:
        return [
            (tuple(p.id for p in s.prechecks), s.fail_at_percent)
            for vc in generate_vcenters(spec, seed=9)
            for s in vc.supervisors
        ]

    assert fates(plain) == fates(mixed)


async def test_stats_lists_the_mix(launch: Launch) -> None:
    """/stats lists each generated Supervisor's id, name, start and expected outcome."""
    served = await launch(generated(MIX, count=30), login=False)
    entries = served.sim.stats()["generated"]["gen-vc-0001"]
    assert {e["start"] for e in entries} == {
        "ready",
        "current",
        "not_available",
        "in_progress",
        "error",
    }
    assert all(set(e) == {"id", "name", "start", "outcome"} for e in entries)


def test_mix_rates_must_fit_one_draw() -> None:
    """The four start rates share one draw: their sum above 1 is a located error."""
    with pytest.raises(ScenarioError) as caught:
        parse_scenario(generated("current_rate = 0.6\nerror_state_rate = 0.6"))
    assert "generate: " in str(caught.value)
    assert "must not exceed 1" in str(caught.value)
