"""Helpers for the end-to-end operability and hardening tests: the real CLI, a real simulator.

Runs go through ``python -m fleetupgrade`` (a separate process: its own signals, stdout,
stderr and exit status) or through click in-process where only the files matter. The
simulator serves from a thread over HTTPS on 127.0.0.1 (:class:`tests.simthread.SimThread`).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner, Result

from fleetupgrade.cli.main import cli as fleet
from fleetupgrade.logs import reset_logging
from tests.rollout.conftest import PASSWORD_ENV, ROOT, SIM_PASSWORD, PlanSpec
from tests.simthread import SimThread

__all__ = [
    "PASSWORD_ENV",
    "SIM_PASSWORD",
    "PlanSpec",
    "cli",
    "events_of",
    "fleetupgrade_argv",
    "fresh_logging",
    "invoke",
    "only_run_dir",
    "report_of",
    "running_sim",
    "wait_for",
]


def fleetupgrade_argv(*args: str) -> list[str]:
    """The argv of the real command: ``python -m fleetupgrade ARGS``."""
    return [sys.executable, "-m", "fleetupgrade", *args]


def cli(
    *args: str,
    env: Mapping[str, str] | None = None,
    cwd: Path | None = None,
    timeout: float = 60.0,
) -> subprocess.CompletedProcess[str]:
    """Run ``fleetupgrade ARGS`` to its end; stdout and stderr captured apart."""
    return subprocess.run(
        fleetupgrade_argv(*args),
        env={**os.environ, PASSWORD_ENV: SIM_PASSWORD, **(env or {})},
        cwd=cwd or ROOT,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )


@contextmanager
def running_sim(scenario_text: str, workdir: Path) -> Iterator[SimThread]:
    """A simulator serving ``scenario_text`` for the duration of the block."""
    sim = SimThread(scenario_text, workdir).start()
    try:
        yield sim
    finally:
        sim.close()


def only_run_dir(runs_dir: Path) -> Path:
    """The one run directory under ``runs_dir``."""
    found = [p for p in runs_dir.iterdir() if p.is_dir()]
    assert len(found) == 1, found
    return found[0]


def events_of(run_dir: Path) -> list[dict[str, Any]]:
    """Every event of a run's ``events.jsonl``."""
    text = (run_dir / "events.jsonl").read_text(encoding="utf-8")
    return [json.loads(line) for line in text.splitlines() if line.strip()]


def report_of(run_dir: Path) -> dict[str, Any]:
    """A run's ``report.json``."""
    return json.loads((run_dir / "report.json").read_text(encoding="utf-8"))


def outcomes_of(report: Mapping[str, Any]) -> dict[str, str]:
    """``vcenter/id → outcome`` from a report."""
    return {
        f"{s['vcenter']}/{s['id'] or s['name']}": s["outcome"]
        for w in report["waves"]
        for s in w["supervisors"]
    }


def wait_for(predicate: Callable[[], object], timeout: float = 20.0) -> None:
    """Poll ``predicate`` until it holds (the thing awaited is in another process)."""
    deadline = time.monotonic() + timeout
    while not predicate():
        assert time.monotonic() < deadline, "condition not reached in time"
        time.sleep(0.02)


def scenario_file(directory: Path, text: str) -> Path:
    """Write a scenario for ``--scenario``."""
    path = directory / "scenario.toml"
    path.write_text(text, encoding="utf-8")
    return path


def simulate_plan(directory: Path, supervisors: Sequence[str], name: str = "ops-plan") -> Path:
    """A one-wave plan for ``--simulate``/``--scenario`` runs (its URLs are never contacted)."""
    spec = PlanSpec(
        waves=[
            {"name": "w1", "supervisors": [{"vcenter": "vc-east", "id": s} for s in supervisors]}
        ],
        defaults={"max_concurrent_per_vcenter": len(supervisors), "poll_interval": "20ms"},
        name=name,
    )
    return spec.write(directory, None)


@pytest.fixture(autouse=True)
def fresh_logging() -> Iterator[None]:
    """In-process runs configure logging; leave none of it to the next test."""
    yield
    reset_logging()


def invoke(*args: str, env: dict[str, str] | None = None) -> Result:
    """``fleetupgrade ARGS`` in-process (click), returning click's result."""
    result = CliRunner().invoke(fleet, list(args), env={PASSWORD_ENV: SIM_PASSWORD, **(env or {})})
    if result.exception is not None and not isinstance(result.exception, SystemExit):
        raise result.exception
    return result
