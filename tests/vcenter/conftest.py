"""Fixtures of the vCenter client tests: no backoff sleeps, a scriptable fake vCenter.

The fake vCenter serves only what the simulator cannot (every declared error kind,
bodiless proxy answers, exact fault sequences, hangs); everything else runs against the
real simulator (``test_client_sim.py``).
"""

from __future__ import annotations

import email.utils
import json
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import anyio
import pytest
import stamina
from aiohttp import web

from fleetupgrade.vcenter import VCenterEndpoint

ATTEMPTS = 3
SENTINEL_PASSWORD = "S3ntinel-pa55word-never-shown"


@pytest.fixture(autouse=True)
def _no_backoff() -> Iterator[None]:
    """Retries happen at once and stop after ATTEMPTS attempts."""
    with stamina.set_testing(True, attempts=ATTEMPTS):
        yield


@dataclass
class Answer:
    """One scripted answer."""

    status: int = 200
    body: Any = None  # JSON value, or raw bytes
    content_type: str | None = "application/json"
    delay: float = 0.0

    def render(self) -> web.Response:
        if isinstance(self.body, bytes):
            raw = self.body
        elif self.body is None:
            raw = b""
        else:
            raw = json.dumps(self.body).encode()
        response = web.Response(status=self.status, body=raw)
        if self.content_type is None:
            response.headers.popall("Content-Type", None)
        else:
            response.headers["Content-Type"] = self.content_type
        return response


@dataclass
class FakeVCenter:
    """Answers scripted per ``(METHOD, path)``; lists are consumed one answer per request."""

    url: str = ""
    answers: dict[tuple[str, str], Answer | list[Answer]] = field(default_factory=dict)
    requests: list[tuple[str, str]] = field(default_factory=list)  # (method, raw path+query)
    bodies: list[Any] = field(default_factory=list)
    logins: int = 0
    in_flight: int = 0
    max_in_flight: int = 0
    clock_skew: timedelta = timedelta(0)  # shifts the Date header of every answer
    usable_date: bool = True  # False: the Date header is garbage

    def vcenter_now(self) -> datetime:
        """This fake vCenter's clock (ours shifted by ``clock_skew``)."""
        return datetime.now(UTC) + self.clock_skew

    def _dated(self, response: web.Response) -> web.Response:
        if self.usable_date:
            response.headers["Date"] = email.utils.format_datetime(self.vcenter_now(), usegmt=True)
        else:
            response.headers["Date"] = "sometime"
        return response

    def script(self, method: str, path: str, *answers: Answer) -> None:
        self.answers[(method, path)] = list(answers) if len(answers) > 1 else answers[0]

    def count(self, method: str, path: str) -> int:
        return sum(1 for m, p in self.requests if m == method and p.split("?")[0] == path)

    async def handle(self, request: web.Request) -> web.StreamResponse:
        self.requests.append((request.method, request.raw_path))
        self.bodies.append(await request.json() if request.can_read_body else None)
        key = (request.method, request.path)
        if key == ("POST", "/api/session"):
            self.logins += 1
            if key not in self.answers:
                return self._dated(Answer(201, f"token-{self.logins}").render())
        scripted = self.answers.get(key)
        if scripted is None:
            return self._dated(Answer(404, {"error_type": "NOT_FOUND", "messages": []}).render())
        if isinstance(scripted, list):
            answer = scripted.pop(0) if len(scripted) > 1 else scripted[0]
        else:
            answer = scripted
        self.in_flight += 1
        self.max_in_flight = max(self.max_in_flight, self.in_flight)
        try:
            if answer.delay:
                await anyio.sleep(answer.delay)
        finally:
            self.in_flight -= 1
        return self._dated(answer.render())


@pytest.fixture
async def fake() -> AsyncIterator[FakeVCenter]:
    """A fake vCenter over plain HTTP on 127.0.0.1 (loopback is the only place http is allowed)."""
    vcenter = FakeVCenter()
    app = web.Application()
    app.router.add_route("*", "/{tail:.*}", vcenter.handle)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
    vcenter.url = f"http://127.0.0.1:{port}"
    try:
        yield vcenter
    finally:
        await runner.cleanup()


def endpoint_for(url: str, **changes: Any) -> VCenterEndpoint:
    """An endpoint with the sentinel password."""
    values: dict[str, Any] = {
        "name": "vc-test",
        "url": url,
        "username": "administrator@vsphere.local",
        "password": SENTINEL_PASSWORD,
        "request_timeout": 5.0,
        "settle_delay": 0.0,
        "max_requests_per_second": 0.0,
        "breaker_cooldown": 0.01,
    }
    values.update(changes)
    return VCenterEndpoint(**values)


JOBS_PATH = "/api/vcenter/namespace-management/software/supervisors/upgrades/jobs"
UPGRADES_PATH = "/api/vcenter/namespace-management/software/supervisors/upgrades"
TASKS_PATH = "/api/cis/tasks"
MESSAGE = {"id": "m", "default_message": "text", "args": []}


def upgrade_info(state: str = "READY", desired: str | None = None) -> dict[str, Any]:
    """An Upgrades.Info body; ``desired`` adds the running upgrade's status."""
    info: dict[str, Any] = {
        "current_version": "9.0.0",
        "available_versions": ["9.1.0"],
        "messages": [],
        "state": state,
    }
    if desired is not None:
        progress = {"total": 3, "completed": 0, "message": MESSAGE}
        info["upgrade_status"] = {"desired_version": desired, "messages": [], "progress": progress}
    return info


def job_task(
    start: datetime | None, *, status: str = "RUNNING", supervisor: str = "sv-1"
) -> dict[str, Any]:
    """A cis task Info of an upgrade job; ``start`` None makes it PENDING."""
    task: dict[str, Any] = {
        "description": MESSAGE,
        "service": "com.vmware.vcenter.namespace_management.software.supervisors.upgrades.jobs",
        "operation": "create",
        "target": {
            "type": "com.vmware.vcenter.namespace_management.supervisor.Supervisor",
            "id": supervisor,
        },
        "status": "PENDING" if start is None else status,
        "cancelable": True,
    }
    if start is not None:
        stamp = start.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")
        progress = {"total": 100, "completed": 0, "message": MESSAGE}
        task |= {"start_time": stamp, "progress": progress}
        if status in ("SUCCEEDED", "FAILED"):
            task["end_time"] = stamp
    return task
