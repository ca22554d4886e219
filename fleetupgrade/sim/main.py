"""``fleetupgrade sim SCENARIO``: serve a scenario standalone until SIGINT/SIGTERM.

Loads the scenario (a bad one raises ScenarioError, which the CLI prints with every
located issue and exit code 2; a plan given by mistake is named as such), refuses a
non-loopback ``--host`` and a busy port with one line naming ``host:port``, writes the
ready file atomically once every listener is up, and removes it again on shutdown so a
stale file never points at a simulator that is gone.
"""

from __future__ import annotations

import json
import os
import signal
import sys
import tempfile
import tomllib
from pathlib import Path
from typing import Any

import anyio

from fleetupgrade.sim.scenario import Scenario, load_scenario
from fleetupgrade.sim.server import ListenError, RunningSimulator, loopback_host, run_simulator

_SHOWN_VCENTERS = 10
#: Exit codes of docs/design.md (Exit codes); the simulator imports nothing of the engine.
EXIT_OK = 0
EXIT_USAGE = 2


#: Top-level tables and keys only a plan has (docs/plan.md); a scenario has none of them.
_PLAN_MARKERS = (
    ("waves", "[[waves]]"),
    ("defaults", "[defaults]"),
    ("window", "[window]"),
    ("notify", "[[notify]]"),
    ("desired_version", "desired_version"),
    ("change_ref", "change_ref"),
)
_PLAN_VCENTER_KEYS = ("url", "username", "username_env", "password_env", "password_file")


def plan_marker(path: Path) -> str | None:
    """What makes ``path`` look like a plan rather than a scenario, or ``None``.

    Unreadable or invalid TOML is left to the scenario loader, which reports it located.
    """
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError):
        return None
    for key, shown in _PLAN_MARKERS:
        if key in data:
            return f"it has {shown}"
    vcenters = data.get("vcenters")
    if isinstance(vcenters, list):
        for entry in vcenters:
            if isinstance(entry, dict):
                found = [key for key in _PLAN_VCENTER_KEYS if key in entry]
                if found:
                    return f"its [[vcenters]] have {found[0]}"
    return None


def write_ready_file(path: Path, info: dict[str, Any]) -> None:
    """Write JSON atomically: a reader never sees a half-written file."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            json.dump(info, handle, indent=2)
            handle.write("\n")
        Path(tmp).replace(path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def _announce(sim: RunningSimulator) -> None:
    lines = [f"fleetupgrade sim: {len(sim.vcenter_urls)} vCenter(s), admin {sim.admin_url}"]
    if sim.ca_file is not None:
        lines.append(f"  CA file: {sim.ca_file}")
    for index, (name, url) in enumerate(sim.vcenter_urls.items()):
        if index == _SHOWN_VCENTERS:
            lines.append(f"  … and {len(sim.vcenter_urls) - index} more (see /stats)")
            break
        lines.append(f"  {name}: {url}")
    lines.append("  Ctrl-C to stop")
    print("\n".join(lines), file=sys.stderr, flush=True)


async def _serve(
    scenario: Scenario, host: str, port: int, ready_file: Path | None, http: bool
) -> int:
    with anyio.open_signal_receiver(signal.SIGINT, signal.SIGTERM) as signals:
        async with run_simulator(scenario, host=host, port=port, tls=not http) as sim:
            if ready_file is not None:
                write_ready_file(ready_file, sim.ready_info())
            _announce(sim)
            try:
                async for _ in signals:
                    break
            finally:
                if ready_file is not None:
                    await anyio.Path(ready_file).unlink(missing_ok=True)
    print("fleetupgrade sim: stopped", file=sys.stderr, flush=True)
    return EXIT_OK


def serve_command(
    scenario: Path, *, host: str, port: int, ready_file: Path | None, http: bool
) -> int:
    """Body of ``fleetupgrade sim``: exit 0 after a signal, 2 on bad input or a busy port."""
    marker = plan_marker(scenario)
    if marker is not None:
        print(
            f"error: {scenario} looks like a plan, not a scenario ({marker}); "
            "`fleetupgrade sim` serves a simulator scenario (docs/simulator.md); "
            "to try a plan against simulated vCenters use `fleetupgrade run --simulate`",
            file=sys.stderr,
        )
        return EXIT_USAGE
    loaded = load_scenario(scenario)
    try:
        host = loopback_host(host)
    except ValueError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_USAGE
    if not 0 <= port <= 65535:
        print(f"error: --port {port} is not a TCP port", file=sys.stderr)
        return EXIT_USAGE
    try:
        code: int = anyio.run(_serve, loaded, host, port, ready_file, http, backend="asyncio")
    except ListenError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_USAGE
    except OSError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_USAGE
    except ValueError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_USAGE
    return code
