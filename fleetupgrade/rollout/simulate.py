"""``--simulate``: the same run, with every vCenter of the plan served by an in-process simulator.

The scenario comes from a file, or is derived from the plan (every Supervisor one version
behind its desired version, upgrades that succeed). Plan durations are compressed by the
scenario's ``speed`` so a rehearsal of a four-hour window takes seconds, and the window
itself is not waited for: a rehearsal runs now.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Mapping
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from fleetupgrade.errors import Issue, ScenarioError
from fleetupgrade.plan import Plan
from fleetupgrade.sim import Scenario, load_scenario, run_simulator
from fleetupgrade.vcenter import VCenterEndpoint
from fleetupgrade.vcenter.endpoint import (
    DEFAULT_BREAKER_COOLDOWN,
    DEFAULT_SETTLE_DELAY,
    ENGINE_CONNECTIONS,
)

DERIVED_SPEED = 600.0
UPGRADE_PRIVILEGE = "Namespaces.Upgrade"


def derive_scenario(plan: Plan) -> Scenario:
    """A scenario serving exactly the plan's fleet, where every upgrade would succeed."""
    supervisors: dict[str, list[dict[str, Any]]] = {v.name: [] for v in plan.vcenters}
    for wave in plan.waves:
        for ref in wave.supervisors:
            index = len(supervisors[ref.vcenter]) + 1
            desired = plan.desired_version_for(ref)
            supervisors[ref.vcenter].append(
                {
                    "id": ref.id or f"supervisor-{index}",
                    "name": ref.name or ref.id or f"sv-{index}",
                    "current_version": "9.0.0" if desired != "9.0.0" else "8.0.3",
                    "available_versions": [desired],
                }
            )
    try:
        return _validated(supervisors)
    except ValidationError as exc:  # a plan value the simulator cannot serve (exit 2)
        raise ScenarioError(
            "the scenario derived from the plan",
            [
                Issue(
                    ".".join(str(part) for part in error["loc"]),
                    f"{error['msg']} (the plan's value {error.get('input')!r} cannot be simulated)",
                )
                for error in exc.errors()
            ],
        ) from None


def _validated(supervisors: dict[str, list[dict[str, Any]]]) -> Scenario:
    return Scenario.model_validate(
        {
            "sim": {"seed": 0, "speed": DERIVED_SPEED},
            "users": [
                {
                    "username": "administrator@vsphere.local",
                    "password": "sim-password",
                    "privileges": [UPGRADE_PRIVILEGE],
                }
            ],
            "vcenters": [{"name": name, "supervisors": sups} for name, sups in supervisors.items()],
        }
    )


@dataclass(frozen=True, slots=True)
class SimulatedFleet:
    """Endpoints of the in-process simulator, and the time scale of the rehearsal."""

    endpoints: Mapping[str, VCenterEndpoint]
    time_scale: float
    scenario_source: str


@asynccontextmanager
async def simulated_fleet(
    plan: Plan, scenario_path: Path | None, workdir: Path
) -> AsyncIterator[SimulatedFleet]:
    """Serve the plan's vCenters from a simulator for the length of the block."""
    scenario = derive_scenario(plan) if scenario_path is None else load_scenario(scenario_path)
    source = "derived from the plan" if scenario_path is None else str(scenario_path)
    user = next((u for u in scenario.users if UPGRADE_PRIVILEGE in u.privileges), scenario.users[0])
    async with run_simulator(scenario, workdir=workdir) as sim:
        missing = [v.name for v in plan.vcenters if v.name not in sim.vcenter_urls]
        if missing:
            raise ScenarioError(
                source,
                [
                    Issue("vcenters", f"the plan's vCenter {name!r} is not served")
                    for name in missing
                ],
            )
        endpoints = {
            v.name: VCenterEndpoint(
                name=v.name,
                url=sim.vcenter_urls[v.name],
                username=user.username,
                password=user.password,
                ca_file=sim.ca_file,
                tls_thumbprint=None,
                request_timeout=plan.defaults.request_timeout.total_seconds(),
                max_connections=ENGINE_CONNECTIONS,
                max_requests_per_second=plan.requests_per_second_for(v.name),
                # vCenter-side waits are simulated time: compress them like the plan's.
                settle_delay=DEFAULT_SETTLE_DELAY / scenario.sim.speed,
                breaker_cooldown=DEFAULT_BREAKER_COOLDOWN / scenario.sim.speed,
            )
            for v in plan.vcenters
        }
        yield SimulatedFleet(endpoints, 1.0 / scenario.sim.speed, source)
