"""Serving a scenario: the listeners, TLS, the admin API and the Python entry point.

``run_simulator`` is the async context manager tests, the engine's ``--simulate`` and the
``sim`` command use. Each vCenter gets its own loopback listening socket, so ``down``
really closes it (connections are refused) and bringing it back re-listens on the same
port; one aiohttp application behind all of them finds the vCenter by local port.
"""

from __future__ import annotations

import errno
import ipaddress
import shutil
import socket
import tempfile
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import timedelta
from pathlib import Path
from typing import Any

import anyio
from aiohttp import web

from fleetupgrade.sim.admin import ADMIN_PREFIX, AdminHooks, build_admin_app
from fleetupgrade.sim.app import build_app
from fleetupgrade.sim.faults import FaultChanges, FaultRequestError, parse_fault_request
from fleetupgrade.sim.fleet import Fleet
from fleetupgrade.sim.scenario import Scenario
from fleetupgrade.sim.stats import collect_stats
from fleetupgrade.sim.tls import ServerTLS, make_server_tls

_SHUTDOWN_TIMEOUT = 1.0
_BACKLOG = 512


def loopback_host(host: str) -> str:
    """Normalise ``host``; ValueError unless it is a loopback address (or ``localhost``)."""
    if host == "localhost":
        return "127.0.0.1"
    try:
        address = ipaddress.ip_address(host)
    except ValueError:
        raise ValueError(f"--host {host!r} is not an IP address; use 127.0.0.1 or ::1") from None
    if not address.is_loopback:
        raise ValueError(
            f"--host {host} is not a loopback address: the simulator and its admin API "
            "have no real authentication and only listen on loopback (127.0.0.1 or ::1)"
        )
    return str(address)


class ListenError(OSError):
    """A listener could not bind its address; the message names ``host:port``."""

    def __init__(self, host: str, port: int, reason: str) -> None:
        shown = f"[{host}]" if ":" in host else host
        super().__init__(f"cannot listen on {shown}:{port}: {reason}")
        self.host = host
        self.port = port


def _bind(host: str, port: int) -> socket.socket:
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind((host, port))
    except OSError as exc:
        sock.close()
        reason = exc.strerror or str(exc)
        if exc.errno == errno.EADDRINUSE:
            reason = "the port is already in use (choose another --port, or 0 for free ports)"
        raise ListenError(host, port, reason) from None
    return sock


class _Listener:
    """One listening socket (a vCenter's or the admin's) that can close and re-open."""

    def __init__(self, runner: web.AppRunner, host: str, port: int, tls: ServerTLS | None):
        self._runner = runner
        self._host = host
        self._tls = tls
        self.port = port
        self._site: web.SockSite | None = None

    def url(self, path: str = "") -> str:
        """The base URL of this listener."""
        scheme = "https" if self._tls is not None else "http"
        host = f"[{self._host}]" if ":" in self._host else self._host
        return f"{scheme}://{host}:{self.port}{path}"

    def reserve(self) -> None:
        """Pick the port (when 0) without listening: a vCenter that starts ``down``."""
        sock = _bind(self._host, self.port)
        self.port = sock.getsockname()[1]
        sock.close()

    async def open(self) -> None:
        """Listen (again) on the port."""
        if self._site is not None:
            return
        sock = _bind(self._host, self.port)
        self.port = sock.getsockname()[1]
        site = web.SockSite(
            self._runner,
            sock,
            ssl_context=self._tls.context if self._tls else None,
            backlog=_BACKLOG,
        )
        try:
            await site.start()
        except BaseException:
            sock.close()
            raise
        self._site = site

    async def close(self) -> None:
        """Stop listening and drop the connections that arrived on this port."""
        if self._site is not None:
            await self._site.stop()
            self._site = None
        server = self._runner.server
        for handler in server.connections if server is not None else []:
            transport = handler.transport
            if transport is not None:
                sockname = transport.get_extra_info("sockname")
                if sockname and sockname[1] == self.port:
                    transport.abort()


class RunningSimulator:
    """A simulator that is serving: its URLs, CA, stats and run-time fault control."""

    def __init__(
        self,
        fleet: Fleet,
        listeners: dict[str, _Listener],
        tls: ServerTLS | None,
    ) -> None:
        self.fleet = fleet
        self._listeners = listeners
        self.vcenter_urls: dict[str, str] = {name: ln.url() for name, ln in listeners.items()}
        self.admin_url: str = ""  # set once the admin listener is up
        self.ca_file: Path | None = tls.ca_file if tls is not None else None
        self.cert_thumbprint: str | None = tls.thumbprint if tls is not None else None

    def stats(self) -> dict[str, Any]:
        """The same JSON as ``GET {admin_url}/stats``."""
        return collect_stats(self.fleet)

    def faults(self) -> dict[str, Any]:
        """Every vCenter's current faults (``GET {admin_url}/faults``)."""
        return {name: vc.faults.to_json() for name, vc in self.fleet.vcenters.items()}

    async def set_faults(self, vcenter: str, **changes: Any) -> None:
        """Change faults of one vCenter (or ``"*"``); ValueError on bad input."""
        try:
            parsed = parse_fault_request({vcenter: changes}, list(self.fleet.vcenters))
        except FaultRequestError as exc:
            raise ValueError(str(exc)) from None
        await self.apply_faults(parsed)

    async def apply_faults(self, changes: list[tuple[str, FaultChanges]]) -> None:
        """Apply validated changes; toggling ``down`` closes or re-opens the listener."""
        for name, change in changes:
            vc = self.fleet.vcenters[name]
            if change.apply(vc.faults):
                listener = self._listeners[name]
                await (listener.close() if vc.faults.down else listener.open())

    def advance_clock(self, delta: timedelta | float) -> None:
        """Skip simulated time (seconds or a timedelta) without waiting."""
        seconds = delta.total_seconds() if isinstance(delta, timedelta) else float(delta)
        self.fleet.clock.advance(seconds)

    def ready_info(self) -> dict[str, Any]:
        """The ``--ready-file`` JSON (docs/simulator.md)."""
        return {
            "ca_file": str(self.ca_file) if self.ca_file is not None else None,
            "admin_url": self.admin_url,
            "vcenters": dict(self.vcenter_urls),
        }


@asynccontextmanager
async def run_simulator(
    scenario: Scenario,
    *,
    host: str = "127.0.0.1",
    port: int = 0,
    tls: bool = True,
    workdir: Path | None = None,
) -> AsyncIterator[RunningSimulator]:
    """Serve ``scenario`` until the block exits; ``port`` P puts admin on P, vCenters on P+1…."""
    host = loopback_host(host)
    fleet = Fleet(scenario)
    if port and port + len(fleet.vcenters) > 65535:
        raise ValueError(f"--port {port} leaves no room for {len(fleet.vcenters)} vCenters")
    own_dir = workdir is None
    directory = Path(tempfile.mkdtemp(prefix="fleetupgrade-sim-")) if workdir is None else workdir
    runner = web.AppRunner(
        build_app(fleet), access_log=None, handle_signals=False, shutdown_timeout=_SHUTDOWN_TIMEOUT
    )
    admin_runner: web.AppRunner | None = None
    try:
        directory.mkdir(parents=True, exist_ok=True)
        server_tls = make_server_tls(directory) if tls else None
        await runner.setup()
        listeners: dict[str, _Listener] = {}
        for offset, (name, vc) in enumerate(fleet.vcenters.items(), start=1):
            listener = _Listener(runner, host, port + offset if port else 0, server_tls)
            if vc.faults.down:
                listener.reserve()
            else:
                await listener.open()
            listeners[name] = listener
            fleet.by_port[listener.port] = vc
        simulator = RunningSimulator(fleet, listeners, server_tls)
        hooks = AdminHooks(
            names=lambda: list(fleet.vcenters),
            stats=simulator.stats,
            faults=simulator.faults,
            apply_faults=simulator.apply_faults,
        )
        admin_runner = web.AppRunner(
            build_admin_app(hooks),
            access_log=None,
            handle_signals=False,
            shutdown_timeout=_SHUTDOWN_TIMEOUT,
        )
        await admin_runner.setup()
        admin = _Listener(admin_runner, host, port, server_tls)
        await admin.open()
        simulator.admin_url = admin.url(ADMIN_PREFIX)
        yield simulator
    finally:
        with anyio.CancelScope(shield=True):
            if admin_runner is not None:
                await admin_runner.cleanup()
            await runner.cleanup()
        if own_dir:
            shutil.rmtree(directory, ignore_errors=True)


__all__ = ["ListenError", "RunningSimulator", "loopback_host", "run_simulator"]
