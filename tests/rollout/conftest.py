"""End-to-end fixtures: a real simulator in a background thread, plans pointing at it.

The engine's ``run`` owns its own event loop (``anyio.run``), exactly as the CLI does, so
the simulator serves from a thread with a loop of its own, over HTTPS on 127.0.0.1.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
import stamina
from click.testing import CliRunner

from fleetupgrade.cli.main import cli
from tests.simthread import SIM_PASSWORD, SimThread

PASSWORD_ENV = "FLEETUPGRADE_TEST_PASSWORD"
ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def start_sim(tmp_path: Path) -> Iterator[Any]:
    """Factory: start a simulator for a scenario text; stopped at the end of the test."""
    started: list[SimThread] = []

    def start(scenario_text: str) -> SimThread:
        sim = SimThread(scenario_text, tmp_path / f"sim{len(started)}").start()
        started.append(sim)
        return sim

    yield start
    for sim in started:
        sim.close()


def toml_value(value: Any) -> str:
    """Just enough TOML for test plans."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return repr(value)
    if isinstance(value, str):
        return json.dumps(value)
    if isinstance(value, Mapping):
        return "{ " + ", ".join(f"{k} = {toml_value(v)}" for k, v in value.items()) + " }"
    if isinstance(value, Sequence):
        return "[" + ", ".join(toml_value(v) for v in value) + "]"
    raise TypeError(value)


@dataclass
class PlanSpec:
    """A plan for tests, rendered to TOML against a running simulator."""

    waves: list[dict[str, Any]]
    defaults: dict[str, Any] = field(default_factory=dict)
    vcenters: dict[str, dict[str, Any]] = field(default_factory=dict)
    window: dict[str, str] | None = None
    name: str = "test-plan"

    def render(self, sim: SimThread | None) -> str:
        defaults = {
            "desired_version": "9.1.0",
            "poll_interval": "50ms",
            "request_timeout": "5s",
            **self.defaults,
        }
        lines = ["version = 1", f'name = "{self.name}"', "", "[defaults]"]
        lines += [f"{k} = {toml_value(v)}" for k, v in defaults.items()]
        if self.window is not None:
            lines += ["", "[window]"] + [f"{k} = {v}" for k, v in self.window.items()]
        names = sorted({s["vcenter"] for w in self.waves for s in w["supervisors"]})
        for name in names:
            config: dict[str, Any] = {
                "name": name,
                "url": sim.url(name) if sim is not None else f"https://{name}.example",
                "username": "administrator@vsphere.local",
                "password_env": PASSWORD_ENV,
            }
            if sim is not None:
                config["ca_file"] = str(sim.ca_file)
            config.update(self.vcenters.get(name, {}))
            lines += ["", "[[vcenters]]"] + [f"{k} = {toml_value(v)}" for k, v in config.items()]
        for wave in self.waves:
            lines += ["", "[[waves]]"]
            lines += [f"{k} = {toml_value(v)}" for k, v in wave.items()]
        return "\n".join(lines) + "\n"

    def write(self, directory: Path, sim: SimThread | None) -> Path:
        path = directory / f"{self.name}.toml"
        path.write_text(self.render(sim), encoding="utf-8")
        return path


@dataclass
class RunResult:
    """What a CLI invocation left behind."""

    exit_code: int
    output: str
    runs_dir: Path

    @property
    def run_dir(self) -> Path:
        runs = sorted(p for p in self.runs_dir.iterdir() if p.is_dir())
        return runs[-1]

    @property
    def report(self) -> dict[str, Any]:
        return json.loads((self.run_dir / "report.json").read_text(encoding="utf-8"))

    def outcomes(self) -> dict[str, str]:
        return {
            f"{s['vcenter']}/{s['id'] or s['name']}": s["outcome"]
            for w in self.report["waves"]
            for s in w["supervisors"]
        }

    def events(self) -> list[dict[str, Any]]:
        text = (self.run_dir / "events.jsonl").read_text(encoding="utf-8")
        return [json.loads(line) for line in text.splitlines() if line.strip()]


@pytest.fixture(autouse=True)
def _no_backoff() -> Iterator[None]:
    """Retries in the in-process runs happen at once and stop after three attempts."""
    with stamina.set_testing(True, attempts=3):
        yield


@pytest.fixture
def fleet_cli(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Any:
    """Invoke ``fleetupgrade`` in-process with the test password set and a private runs dir."""
    monkeypatch.setenv(PASSWORD_ENV, SIM_PASSWORD)
    runs_dir = tmp_path / "runs"

    def invoke(*args: str) -> RunResult:
        result = CliRunner().invoke(
            cli, [*args, "--runs-dir", str(runs_dir)] if args[0] in ("run",) else list(args)
        )
        if result.exception is not None and not isinstance(result.exception, SystemExit):
            raise result.exception
        return RunResult(result.exit_code, result.output, runs_dir)

    return invoke


def spawn_run(
    plan: Path, runs_dir: Path, *args: str, env: Mapping[str, str] | None = None
) -> subprocess.Popen[bytes]:
    """``fleetupgrade run`` as a separate process (for signals and kill -9).

    Its stderr goes to ``<runs_dir>.stderr`` (read it with :func:`stderr_of`).
    """
    runs_dir.parent.mkdir(parents=True, exist_ok=True)
    with (runs_dir.parent / f"{runs_dir.name}.stderr").open("ab") as stderr:
        return subprocess.Popen(
            [
                sys.executable,
                "-m",
                "fleetupgrade",
                "run",
                str(plan),
                "--runs-dir",
                str(runs_dir),
                "--no-progress",
                *args,
            ],
            env={**os.environ, PASSWORD_ENV: SIM_PASSWORD, **(env or {})},
            stdout=subprocess.DEVNULL,
            stderr=stderr,
            cwd=ROOT,
        )


def stderr_of(runs_dir: Path) -> str:
    """What the spawned runs wrote on stderr."""
    path = runs_dir.parent / f"{runs_dir.name}.stderr"
    return path.read_text(encoding="utf-8", errors="replace") if path.exists() else ""
