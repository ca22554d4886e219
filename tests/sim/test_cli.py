"""``fleetupgrade sim``: the standalone command, its ready file, signals and bad input."""

from __future__ import annotations

import json
import os
import re
import signal
import socket
import ssl
import subprocess
import sys
import time
import urllib.request
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner, Result

from fleetupgrade.cli.main import cli

ROOT = Path(__file__).resolve().parents[2]
DEMO = ROOT / "plans" / "scenarios" / "demo.toml"


def run_cli(*args: str) -> subprocess.Popen[str]:
    """Start ``python -m fleetupgrade`` with the repository on the path."""
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    return subprocess.Popen(
        [sys.executable, "-m", "fleetupgrade", *args],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def wait_ready(path: Path, proc: subprocess.Popen[str], limit: float = 15.0) -> dict[str, Any]:
    """Poll for the ready file (bounded), failing early if the process died."""
    deadline = time.monotonic() + limit
    while time.monotonic() < deadline:
        if path.exists():
            return dict(json.loads(path.read_text()))
        assert proc.poll() is None, proc.communicate()
        time.sleep(0.05)
    raise AssertionError("no ready file")


def test_sim_command_serves_and_stops(tmp_path: Path) -> None:
    """sim writes the ready file, serves HTTPS with its CA, exits 0 on SIGINT and cleans up."""
    ready = tmp_path / "r.json"
    proc = run_cli("sim", str(DEMO), "--ready-file", str(ready))
    try:
        info = wait_ready(ready, proc)
        assert set(info) == {"ca_file", "admin_url", "vcenters"}
        assert set(info["vcenters"]) == {"vc-east", "vc-west", "vc-north"}
        context = ssl.create_default_context(cafile=str(info["ca_file"]))
        with urllib.request.urlopen(f"{info['admin_url']}/stats", context=context) as answer:
            stats = json.loads(answer.read())
        assert len(stats["supervisors"]) == 8
        proc.send_signal(signal.SIGINT)
        _, err = proc.communicate(timeout=15)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.communicate()
    assert proc.returncode == 0, err
    assert "Traceback" not in err
    assert not ready.exists()


def test_sim_command_bad_scenario(tmp_path: Path) -> None:
    """A bad scenario exits 2 with the located issue and no traceback."""
    bad = tmp_path / "bad.toml"
    bad.write_text(
        '[[vcenters]]\nname = "vc"\n[[vcenters.supervisors]]\nid = "a"\nupgrade_duration = "soon"\n'
    )
    proc = run_cli("sim", str(bad))
    _, err = proc.communicate(timeout=15)
    assert proc.returncode == 2
    assert "vcenters[0].supervisors[0].upgrade_duration: invalid duration 'soon'" in err
    assert "Traceback" not in err


def test_sim_command_refuses_non_loopback_host() -> None:
    """--host must be loopback: exit 2 with a clear message."""
    proc = run_cli("sim", str(DEMO), "--host", "0.0.0.0")
    _, err = proc.communicate(timeout=15)
    assert proc.returncode == 2
    assert "loopback" in err
    assert "Traceback" not in err


@pytest.mark.parametrize("flag", ["--http"])
def test_sim_command_plain_http(tmp_path: Path, flag: str) -> None:
    """--http serves plain HTTP; the ready file's ca_file is null."""
    ready = tmp_path / "r.json"
    proc = run_cli("sim", str(DEMO), "--ready-file", str(ready), flag)
    try:
        info = wait_ready(ready, proc)
        assert info["ca_file"] is None
        with urllib.request.urlopen(f"{info['admin_url']}/stats") as answer:
            assert answer.status == 200
        proc.send_signal(signal.SIGTERM)
        proc.communicate(timeout=15)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.communicate()
    assert proc.returncode == 0


def invoke(*args: str) -> Result:
    """Run the CLI in-process (click's runner): exit code and separate stderr."""
    return CliRunner().invoke(cli, list(args))


def test_sim_command_busy_port_is_one_clear_line() -> None:
    """A port already in use exits 2 with one line naming host:port, no traceback."""
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        result = invoke("sim", str(DEMO), "--port", str(port))
    assert result.exit_code == 2, result.output
    [line] = result.stderr.strip().splitlines()
    # Admin on P, vCenters on P+1…: another process may hold one of those too.
    match = re.fullmatch(
        r"error: cannot listen on 127\.0\.0\.1:(\d+): the port is already in use "
        r"\(choose another --port, or 0 for free ports\)",
        line,
    )
    assert match is not None, line
    assert port <= int(match[1]) <= port + 3
    assert "Traceback" not in result.output


@pytest.mark.parametrize(
    ("text", "marker"),
    [
        ("version = 1\nname = 'x'\n[[waves]]\nname = 'w'\nsupervisors = []\n", "[[waves]]"),
        ("[defaults]\ndesired_version = '9.1.0'\n", "[defaults]"),
        ("desired_version = '9.1.0'\n", "desired_version"),
        ("[[vcenters]]\nname = 'vc'\nurl = 'https://vc.example'\n", "[[vcenters]] have url"),
    ],
)
def test_sim_command_names_a_plan_given_as_scenario(tmp_path: Path, text: str, marker: str) -> None:
    """A plan (or fleet file) passed to sim exits 2: 'PATH looks like a plan, not a scenario'."""
    plan = tmp_path / "plan.toml"
    plan.write_text(text)
    result = invoke("sim", str(plan))
    assert result.exit_code == 2
    assert f"{plan} looks like a plan, not a scenario" in result.stderr
    assert marker in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1
    assert "Traceback" not in result.output


def test_sim_command_shipped_plan_is_named() -> None:
    """The shipped demo plan is recognised as a plan, not reported as scenario key errors."""
    result = invoke("sim", str(ROOT / "plans" / "demo.toml"))
    assert result.exit_code == 2
    assert "looks like a plan, not a scenario (it has [[waves]])" in result.stderr
