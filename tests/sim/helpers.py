"""Test helpers: serve a scenario and talk to it over real HTTPS with plain aiohttp."""

from __future__ import annotations

import base64
import json
import re
import ssl
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Any

import aiohttp
import anyio

from fleetupgrade.sim import RunningSimulator, parse_scenario, run_simulator

ADMIN = "administrator@vsphere.local"
PASSWORD = "sim-password"
SW = "/api/vcenter/namespace-management/software/supervisors"
NS = "/api/vcenter/namespace-management"
DATETIME = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$")


def basic(user: str, password: str) -> str:
    """An Authorization header value for Basic credentials."""
    return "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()


@dataclass
class Answer:
    """One HTTP answer: status, headers, raw body and its JSON (None when empty)."""

    status: int
    headers: dict[str, str]
    raw: bytes

    @property
    def json(self) -> Any:
        return json.loads(self.raw) if self.raw else None

    @property
    def error_type(self) -> str:
        return str(self.json["error_type"])


class VC:
    """A minimal raw client of one simulated vCenter."""

    def __init__(self, http: aiohttp.ClientSession, base: str) -> None:
        self.http = http
        self.base = base
        self.token: str | None = None

    async def request(
        self,
        method: str,
        path: str,
        *,
        body: Any = ...,
        raw: bytes | None = None,
        params: Any = None,
        headers: dict[str, str] | None = None,
        token: Any = ...,
    ) -> Answer:
        """Send one request; ``body`` is JSON-encoded (``None`` sends ``null``)."""
        sent = {"Accept": "application/json"}
        session = self.token if token is ... else token
        if session is not None:
            sent["vmware-api-session-id"] = str(session)
        data: bytes | None = raw
        if body is not ...:
            data = json.dumps(body).encode()
        if data is not None or method in ("POST", "DELETE"):
            sent["Content-Type"] = "application/json"
        sent.update(headers or {})
        async with self.http.request(
            method, self.base + path, data=data, params=params, headers=sent
        ) as response:
            return Answer(response.status, dict(response.headers), await response.read())

    async def login(self, user: str = ADMIN, password: str = PASSWORD) -> str:
        """Create a session and keep its token for later calls."""
        answer = await self.request(
            "POST", "/api/session", headers={"Authorization": basic(user, password)}, token=None
        )
        assert answer.status == 201, answer.raw
        self.token = answer.json
        return str(self.token)

    async def create(self, sup: str, version: str = "9.1.0", **extra: Any) -> Answer:
        """Jobs.create."""
        return await self.request(
            "POST", f"{SW}/upgrades/jobs/{sup}", body={"desired_version": version, **extra}
        )

    async def info(self, sup: str) -> dict[str, Any]:
        """Upgrades.get (must succeed)."""
        answer = await self.request("GET", f"{SW}/upgrades/{sup}")
        assert answer.status == 200, answer.raw
        return dict(answer.json)

    async def task(self, task: str) -> dict[str, Any]:
        """Tasks.get (must succeed)."""
        answer = await self.request("GET", f"/api/cis/tasks/{task}")
        assert answer.status == 200, answer.raw
        return dict(answer.json)

    async def wait_task_end(self, task: str, limit: float = 10.0) -> dict[str, Any]:
        """Poll a task until it ends (bounded)."""
        with anyio.fail_after(limit):
            while True:
                info = await self.task(task)
                if info["status"] in ("SUCCEEDED", "FAILED"):
                    return info
                await anyio.sleep(0.005)


@dataclass
class Served:
    """A running simulator plus an HTTPS client session trusting its CA."""

    sim: RunningSimulator
    http: aiohttp.ClientSession
    clients: dict[str, VC] = field(default_factory=dict)

    def vc(self, name: str = "vc") -> VC:
        """The (cached) client of one vCenter, keeping its session token."""
        if name not in self.clients:
            self.clients[name] = VC(self.http, self.sim.vcenter_urls[name])
        return self.clients[name]

    async def admin(self, method: str, path: str, body: Any = ...) -> Answer:
        data = None if body is ... else json.dumps(body).encode()
        async with self.http.request(method, self.sim.admin_url + path, data=data) as response:
            return Answer(response.status, dict(response.headers), await response.read())

    def advance(self, seconds: float) -> None:
        self.sim.advance_clock(seconds)


def client_ssl(sim: RunningSimulator) -> ssl.SSLContext:
    """A client context trusting only the simulator's CA."""
    assert sim.ca_file is not None
    return ssl.create_default_context(cafile=str(sim.ca_file))


@asynccontextmanager
async def serve(toml: str, **options: Any) -> AsyncIterator[Served]:
    """Serve a scenario given as TOML text; yields the simulator and a client session."""
    async with run_simulator(parse_scenario(toml), **options) as sim:
        ssl_context: ssl.SSLContext | bool = client_ssl(sim) if sim.ca_file else False
        connector = aiohttp.TCPConnector(ssl=ssl_context, force_close=False)
        async with aiohttp.ClientSession(connector=connector) as http:
            yield Served(sim, http)


def one_vcenter(supervisors: str = "", *, sim: str = "speed = 1.0", faults: str = "") -> str:
    """A scenario with one vCenter ``vc`` and the given supervisor tables."""
    fault_line = f"faults = {{ {faults} }}\n" if faults else ""
    return f'[sim]\n{sim}\n[[vcenters]]\nname = "vc"\n{fault_line}{supervisors}'


def supervisor(sid: str = "supervisor-1", **fields: Any) -> str:
    """A ``[[vcenters.supervisors]]`` table."""
    lines = ["[[vcenters.supervisors]]", f'id = "{sid}"']
    lines += [f"{key} = {_toml(value)}" for key, value in fields.items()]
    return "\n".join(lines) + "\n"


def _toml(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        return json.dumps(value)
    if isinstance(value, list):
        return "[" + ", ".join(_toml(v) for v in value) + "]"
    if isinstance(value, dict):
        return "{ " + ", ".join(f"{k} = {_toml(v)}" for k, v in value.items()) + " }"
    return str(value)


def precheck(severity: str, pid: str, text: str = "something to report") -> dict[str, str]:
    """A precheck entry of a Supervisor."""
    return {"severity": severity, "id": pid, "text": text}
