"""A simulated fleet with one Supervisor of every kind, and helpers to drive the CLI at it.

The fleet (4 vCenters) is started once per module over HTTPS on 127.0.0.1, and put in
shape before the tests read it: one Supervisor upgrading (a job started with the real
client, far from done) and one in ERROR (a job that failed). Tests only read it, except
the one that takes a vCenter down and brings it back.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import stamina
from click.testing import CliRunner

from fleetupgrade.cli.main import cli
from tests.simthread import SIM_PASSWORD, SIM_USER, SimThread

PASSWORD_ENV = "FLEETUPGRADE_INVENTORY_TEST_PASSWORD"
USERNAME, PASSWORD = SIM_USER, SIM_PASSWORD

UPGRADEABLE = [
    "vc-a/a1",
    "vc-a/a2",
    "vc-a/a3",
    "vc-b/b1",
    "vc-b/b2",
    "vc-c/c1",
    "vc-c/c2",
    "vc-d/d1",
]
ACTIONS = {
    **dict.fromkeys(UPGRADEABLE, "would_upgrade"),
    "vc-a/a-cur": "already_current",
    "vc-a/a-new": "already_current",
    "vc-b/b-old": "not_available",
    "vc-b/b-busy": "in_progress",
    "vc-c/c-err": "error_state",
}

SCENARIO = """
[sim]
seed = 3
speed = 5000.0

[[vcenters]]
name = "vc-a"
supervisors = [
  { id = "a1", name = "lab-a1", upgrade_duration = "2m" },
  { id = "a2", name = "lab-a2", upgrade_duration = "2m" },
  { id = "a3", name = "lab-a3", upgrade_duration = "2m" },
  { id = "a-cur", name = "lab-a-cur", current_version = "9.1.0", available_versions = [] },
  { id = "a-new", name = "lab-a-new", current_version = "9.10.0", available_versions = [] },
]

[[vcenters]]
name = "vc-b"
supervisors = [
  { id = "b1", name = "lab-b1", upgrade_duration = "2m" },
  { id = "b2", name = "lab-b2", upgrade_duration = "2m" },
  { id = "b-old", name = "lab-b-old", available_versions = ["9.0.5"] },
  { id = "b-busy", name = "lab-b-busy", precheck_duration = "0s", upgrade_duration = "1000h" },
]

[[vcenters]]
name = "vc-c"
supervisors = [
  { id = "c1", name = "lab-c1", upgrade_duration = "2m" },
  { id = "c2", name = "lab-c2", upgrade_duration = "2m" },
  { id = "c-err", name = "lab-c-err", precheck_duration = "0s", upgrade_duration = "1ms", fail_at_percent = 10 },
]

[[vcenters]]
name = "vc-d"
supervisors = [{ id = "d1", name = "lab-d1", upgrade_duration = "2m" }]
"""


def fleet_text(sim: SimThread, *, desired: str | None = None, name: str = "lab") -> str:
    """A fleet file (no waves) for the simulator."""
    lines = ["version = 1", f'name = "{name}"', "", "[defaults]", 'request_timeout = "5s"']
    if desired is not None:
        lines.append(f'desired_version = "{desired}"')
    for vcenter in ("vc-a", "vc-b", "vc-c", "vc-d"):
        lines += [
            "",
            "[[vcenters]]",
            f'name = "{vcenter}"',
            f'url = "{sim.url(vcenter)}"',
            f'username = "{USERNAME}"',
            f'password_env = "{PASSWORD_ENV}"',
            f"ca_file = {json.dumps(str(sim.ca_file))}",
        ]
    return "\n".join(lines) + "\n"


@dataclass
class Fleet:
    """The running simulator, its scenario file and a fleet file pointing at it."""

    sim: SimThread
    scenario: Path
    fleet_file: Path
    directory: Path


@pytest.fixture(scope="module")
def fleet(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Fleet]:
    """The mixed fleet, with b-busy upgrading and c-err failed."""
    directory = tmp_path_factory.mktemp("fleet")
    scenario = directory / "scenario.toml"
    scenario.write_text(SCENARIO, encoding="utf-8")
    sim = SimThread(SCENARIO, directory / "sim").start()
    try:
        with stamina.set_testing(True, attempts=2):
            sim.start_job("vc-b", "b-busy")
            sim.start_job("vc-c", "c-err")
        states = sim.stats()["supervisors"]
        assert states["vc-b/b-busy"]["state"] == "INPROGRESS"
        assert states["vc-c/c-err"]["state"] == "ERROR"
        fleet_file = directory / "fleet.toml"
        fleet_file.write_text(fleet_text(sim), encoding="utf-8")
        yield Fleet(sim, scenario, fleet_file, directory)
    finally:
        sim.close()


@dataclass
class Invocation:
    """What one CLI invocation printed and returned."""

    exit_code: int
    stdout: str
    stderr: str

    def json(self) -> Any:
        return json.loads(self.stdout)


@pytest.fixture
def fleetupgrade(monkeypatch: pytest.MonkeyPatch) -> Any:
    """Run the CLI in-process with the simulator's password in the environment, no backoff."""
    monkeypatch.setenv(PASSWORD_ENV, PASSWORD)

    def invoke(*args: str | os.PathLike[str]) -> Invocation:
        with stamina.set_testing(True, attempts=2):
            result = CliRunner().invoke(cli, [str(a) for a in args])
        if result.exception is not None and not isinstance(result.exception, SystemExit):
            raise result.exception
        return Invocation(result.exit_code, result.stdout, result.stderr)

    return invoke
