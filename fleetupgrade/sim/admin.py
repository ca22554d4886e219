"""The admin API (loopback only): ``GET /admin/stats``, ``GET|POST /admin/faults``.

Tests, benchmarks and operators use it to see what the simulator did (stats) and to
change a vCenter's faults while it runs. It is plain JSON without authentication, which is
why the simulator refuses to listen anywhere but loopback.
"""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from aiohttp import web

from fleetupgrade.sim.app import json_response
from fleetupgrade.sim.faults import FaultChanges, FaultRequestError, parse_fault_request

ADMIN_PREFIX = "/admin"


@dataclass(frozen=True, slots=True)
class AdminHooks:
    """What the admin API reads and changes, provided by the running simulator."""

    names: Callable[[], list[str]]
    stats: Callable[[], dict[str, Any]]
    faults: Callable[[], dict[str, Any]]
    apply_faults: Callable[[list[tuple[str, FaultChanges]]], Awaitable[None]]


HOOKS: web.AppKey[AdminHooks] = web.AppKey("admin_hooks", AdminHooks)


def _bad_request(message: str) -> web.Response:
    return json_response({"error": message}, 400)


async def get_stats(request: web.Request) -> web.Response:
    """``GET /admin/stats``: the stats document (see ``stats.py``)."""
    return json_response(request.app[HOOKS].stats())


async def get_faults(request: web.Request) -> web.Response:
    """``GET /admin/faults``: every vCenter's current faults."""
    return json_response(request.app[HOOKS].faults())


async def post_faults(request: web.Request) -> web.Response:
    """``POST /admin/faults``: validate every change, then apply them all; 400 otherwise."""
    hooks = request.app[HOOKS]
    try:
        data = json.loads(await request.read() or b"null")
    except ValueError as exc:
        return _bad_request(f"the body is not valid JSON: {exc}")
    try:
        changes = parse_fault_request(data, hooks.names())
    except FaultRequestError as exc:
        return _bad_request(str(exc))
    await hooks.apply_faults(changes)
    current = hooks.faults()
    return json_response({name: current[name] for name in dict.fromkeys(n for n, _ in changes)})


def build_admin_app(hooks: AdminHooks) -> web.Application:
    """The admin application, served on its own loopback port."""
    app = web.Application()
    app[HOOKS] = hooks
    app.router.add_get(f"{ADMIN_PREFIX}/stats", get_stats)
    app.router.add_get(f"{ADMIN_PREFIX}/faults", get_faults)
    app.router.add_post(f"{ADMIN_PREFIX}/faults", post_faults)
    return app
