"""The package's shape: no import cycles, the simulator loaded only when asked for."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import fleetupgrade
from tests.import_graph import describe_cycles, import_cycles, import_graph

PACKAGE = Path(fleetupgrade.__file__).parent


def test_no_import_cycle_in_the_package() -> None:
    """No module of fleetupgrade imports itself back through any chain of imports."""
    cycles = import_cycles(import_graph(PACKAGE, through_init=False))
    assert not cycles, describe_cycles(cycles)


def test_a_run_does_not_load_the_simulator() -> None:
    """``fleetupgrade.cli.run`` (a real run) does not import the simulator."""
    code = "import sys, fleetupgrade.cli.main, fleetupgrade.cli.run; print('fleetupgrade.sim' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"
