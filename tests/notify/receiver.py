"""A local HTTPS webhook receiver for notification tests (reusable by any test package).

It listens on 127.0.0.1 (port 0) with a certificate from its own trustme CA (``ca_file``
is what a notifier must trust), records every request (path, headers, exact body bytes)
and answers as scripted: a queue of statuses (e.g. 500, 500, then the default 200),
``hang`` (never answer until the receiver stops) or down (:meth:`Receiver.go_down`, the
port refuses connections). Tests await :meth:`Receiver.wait_for` instead of sleeping.
"""

from __future__ import annotations

import json
import ssl
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import anyio
import trustme
from aiohttp import web

SENTINEL = "T0KEN-S3NTINEL-never-logged-7f3a9c"
HOOK_PATH = f"/hooks/{SENTINEL}"


@dataclass(frozen=True)
class Received:
    """One request as the receiver saw it."""

    path: str
    headers: dict[str, str]
    body: bytes

    def json(self) -> Any:
        return json.loads(self.body)


@dataclass
class Receiver:
    """The receiver's script and record; see the module docstring."""

    url: str = ""
    ca_file: Path = Path()
    requests: list[Received] = field(default_factory=list)
    statuses: list[int] = field(default_factory=list)  # consumed one per request
    default_status: int = 200
    extra_headers: dict[str, str] = field(default_factory=dict)
    hang: bool = False
    _changed: anyio.Event = field(default_factory=anyio.Event)
    _release: anyio.Event = field(default_factory=anyio.Event)
    _site: web.TCPSite | None = None

    def answer(self, *statuses: int) -> None:
        """Answer the next requests with ``statuses``, then with ``default_status``."""
        self.statuses.extend(statuses)

    def fail_times(self, times: int, status: int = 500) -> None:
        """Answer the next ``times`` requests with ``status``, then normally."""
        self.answer(*[status] * times)

    async def wait_for(self, count: int) -> list[Received]:
        """Wait until ``count`` requests arrived (the caller bounds the wait)."""
        while len(self.requests) < count:
            await self._changed.wait()
        return self.requests[:count]

    async def go_down(self) -> None:
        """Stop listening: from now on connections are refused."""
        self._release.set()
        if self._site is not None:
            await self._site.stop()

    async def handle(self, request: web.Request) -> web.Response:
        body = await request.read()
        self.requests.append(Received(request.path, dict(request.headers), body))
        self._changed.set()
        self._changed = anyio.Event()
        if self.hang:
            await self._release.wait()
        status = self.statuses.pop(0) if self.statuses else self.default_status
        return web.Response(
            status=status, text="ok" if status < 300 else "nope", headers=self.extra_headers
        )


@asynccontextmanager
async def running_receiver(workdir: Path) -> AsyncIterator[Receiver]:
    """Run a receiver on ``https://127.0.0.1:<port>/hooks/<SENTINEL>`` until the block ends."""
    ca = trustme.CA(organization_name="notify test receiver")
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ca.issue_cert("127.0.0.1", "localhost").configure_cert(context)
    ca_file = workdir / "receiver-ca.pem"
    ca.cert_pem.write_to_path(str(ca_file))
    receiver = Receiver(ca_file=ca_file)
    app = web.Application()
    app.router.add_route("*", "/{tail:.*}", receiver.handle)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0, ssl_context=context)
    await site.start()
    port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
    receiver.url = f"https://127.0.0.1:{port}{HOOK_PATH}"
    receiver._site = site
    try:
        yield receiver
    finally:
        receiver._release.set()
        await runner.cleanup()
