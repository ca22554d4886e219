"""The whole simulated fleet: one clock, every vCenter, and the map from port to vCenter.

All vCenters share one aiohttp application; a request is routed to its vCenter by the
local port it arrived on, so each vCenter has its own listening socket (``down`` really
refuses connections) without one web server per vCenter.
"""

from __future__ import annotations

from fleetupgrade.sim.clock import SimClock
from fleetupgrade.sim.generate import all_vcenters
from fleetupgrade.sim.scenario import Scenario
from fleetupgrade.sim.vcenter import VCenterSim


class Fleet:
    """Every vCenter of a scenario (listed first, then generated), in serving order."""

    def __init__(self, scenario: Scenario, *, clock: SimClock | None = None) -> None:
        self.scenario = scenario
        self.clock = clock or SimClock(scenario.sim.speed)
        specs = all_vcenters(scenario)
        self.vcenters: dict[str, VCenterSim] = {
            spec.name: VCenterSim(spec, index=i, scenario=scenario, clock=self.clock)
            for i, spec in enumerate(specs)
        }
        self.generated: list[str] = [s.name for s in specs[len(scenario.vcenters) :]]
        self.by_port: dict[int, VCenterSim] = {}
        self.default_latency = scenario.sim.latency.total_seconds()

    def latency(self, vcenter: VCenterSim) -> float:
        """Real seconds to wait before answering a request of ``vcenter``."""
        own = vcenter.faults.latency
        return own.total_seconds() if own is not None else self.default_latency

    def get(self, name: str) -> VCenterSim:
        """The vCenter called ``name`` (KeyError with the known names otherwise)."""
        try:
            return self.vcenters[name]
        except KeyError:
            raise KeyError(f"unknown vCenter {name!r}") from None
