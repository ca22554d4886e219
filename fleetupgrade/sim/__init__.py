"""The vCenter simulator: serves scenarios over HTTPS, wire-compatible with docs/wire.md.

Used by the tests, by ``fleetupgrade run --simulate`` and by ``fleetupgrade sim``. It
imports nothing from the client, the engine or the plan: it builds its JSON from the
wire contract by itself, so a schema mistake cannot hide by being mirrored on both sides.
"""

from __future__ import annotations

from fleetupgrade.sim.scenario import Scenario, load_scenario, parse_scenario
from fleetupgrade.sim.server import RunningSimulator, run_simulator

__all__ = ["RunningSimulator", "Scenario", "load_scenario", "parse_scenario", "run_simulator"]
