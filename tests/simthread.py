"""The simulator in a background thread, for tests whose code under test owns its own loop.

The engine's ``run`` and the vendor's synchronous SDK both need the simulator to serve from
somewhere else than their own event loop: a thread with a loop of its own, over HTTPS on
127.0.0.1. ``stats()`` and ``set_faults()`` are run inside that loop (they are not
thread-safe).
"""

from __future__ import annotations

import asyncio
import threading
from pathlib import Path
from typing import Any

import anyio

from fleetupgrade.sim import RunningSimulator, parse_scenario, run_simulator
from fleetupgrade.vcenter import VCenterClient, VCenterEndpoint

SIM_USER = "administrator@vsphere.local"
SIM_PASSWORD = "sim-password"  # the simulator's documented default user


class SimThread:
    """The simulator serving from its own thread and event loop."""

    def __init__(self, scenario_text: str, workdir: Path) -> None:
        self._scenario = parse_scenario(scenario_text)
        self._workdir = workdir
        self._ready = threading.Event()
        self._error: BaseException | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._stop: asyncio.Event | None = None
        self.sim: RunningSimulator | None = None
        self._thread = threading.Thread(target=self._serve, daemon=True)

    def _serve(self) -> None:
        async def main() -> None:
            self._loop = asyncio.get_running_loop()
            self._stop = asyncio.Event()
            async with run_simulator(self._scenario, workdir=self._workdir) as sim:
                self.sim = sim
                self._ready.set()
                await self._stop.wait()

        try:
            asyncio.run(main())
        except BaseException as exc:  # surfaced to the test thread
            self._error = exc
            self._ready.set()

    def start(self) -> SimThread:
        self._thread.start()
        assert self._ready.wait(20), "simulator did not start"
        if self._error is not None:
            raise self._error
        return self

    def close(self) -> None:
        if self._loop is not None and self._stop is not None:
            self._loop.call_soon_threadsafe(self._stop.set)
        self._thread.join(10)

    @property
    def running(self) -> RunningSimulator:
        assert self.sim is not None
        return self.sim

    def url(self, vcenter: str) -> str:
        return self.running.vcenter_urls[vcenter]

    @property
    def ca_file(self) -> Path:
        assert self.running.ca_file is not None
        return self.running.ca_file

    def endpoint(self, vcenter: str) -> VCenterEndpoint:
        """The real client's endpoint for one simulated vCenter, as its default user."""
        return VCenterEndpoint(
            name=vcenter,
            url=self.url(vcenter),
            username=SIM_USER,
            password=SIM_PASSWORD,
            ca_file=self.ca_file,
        )

    def start_job(
        self,
        vcenter: str,
        supervisor: str,
        version: str = "9.1.0",
        *,
        ignore_warnings: bool = False,
    ) -> None:
        """Start an upgrade job before the run under test, with the real client."""

        async def create() -> None:
            async with VCenterClient(self.endpoint(vcenter)) as client:
                await client.create_upgrade_job(
                    supervisor, version, ignore_precheck_warnings=ignore_warnings
                )

        anyio.run(create)

    def stats(self) -> dict[str, Any]:
        assert self._loop is not None
        future = asyncio.run_coroutine_threadsafe(_call(self.running.stats), self._loop)
        return future.result(10)

    def set_faults(self, vcenter: str, **changes: Any) -> None:
        assert self._loop is not None
        future = asyncio.run_coroutine_threadsafe(
            self.running.set_faults(vcenter, **changes), self._loop
        )
        future.result(10)


async def _call(function: Any) -> Any:
    return function()
