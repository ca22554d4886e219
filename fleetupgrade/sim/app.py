"""The vCenter ``/api`` routes over aiohttp, and the per-request fault middleware.

One application serves every vCenter; the middleware finds the vCenter by the local port,
counts the request under its route template, then applies that vCenter's faults in a
fixed order (down → latency → reset → 503 → handle → lost response → malformed) and turns
:class:`ApiError` into vAPI error answers. The routes are one table (:data:`ROUTES`) served by
one handler that only moves bytes; the operations live in :mod:`fleetupgrade.sim.vcenter`.
"""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable, Set
from dataclasses import dataclass
from typing import Any

import anyio
from aiohttp import web

from fleetupgrade.sim.fleet import Fleet
from fleetupgrade.sim.inputs import RawInput
from fleetupgrade.sim.vcenter import VCenterSim
from fleetupgrade.sim.wire import ApiError, Message

SESSION_HEADER = "vmware-api-session-id"
FLEET: web.AppKey[Fleet] = web.AppKey("fleet", Fleet)
VCENTER: web.RequestKey[VCenterSim] = web.RequestKey("vcenter", VCenterSim)

_NS = "/api/vcenter/namespace-management"
_SW = f"{_NS}/software/supervisors"
JOBS_ROUTE = f"{_SW}/upgrades/jobs/{{supervisor}}"
Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


def json_response(data: Any, status: int = 200) -> web.Response:
    """A JSON answer (``application/json``), compact, bare value (no envelope)."""
    body = json.dumps(data, separators=(",", ":"), ensure_ascii=False).encode("utf-8")
    return web.Response(body=body, status=status, content_type="application/json")


def no_content() -> web.Response:
    """204 for void operations: no body."""
    return web.Response(status=204)


def error_response(exc: ApiError) -> web.Response:
    """A vAPI standard error with its status (docs/wire.md, Error responses); 401 challenges."""
    response = json_response(exc.body(), exc.status)
    if exc.status == 401:
        response.headers["WWW-Authenticate"] = exc.body()["challenge"]
    return response


def local_port(request: web.BaseRequest) -> int | None:
    """The local port the request arrived on (routes it to its vCenter)."""
    transport = request.transport
    if transport is None:
        return None
    sockname = transport.get_extra_info("sockname")
    return int(sockname[1]) if sockname else None


def drop_connection(request: web.BaseRequest) -> web.Response:
    """Abort the TCP connection without answering (reset / lost response / down)."""
    if request.transport is not None:
        request.transport.abort()
    return web.Response(status=500)  # never written: the transport is gone


def _route_key(request: web.Request) -> str:
    resource = request.match_info.route.resource
    template = resource.canonical if resource is not None else "<unknown>"
    return f"{request.method} {template}"


def _operation_not_found(request: web.Request) -> ApiError:
    return ApiError(
        "OPERATION_NOT_FOUND",
        Message(
            "vapi.method.not.found",
            f"No operation for {request.method} {request.path_qs}.",
            (request.method, request.path),
        ),
    )


def _malformed(response: web.Response) -> web.Response:
    body = response.body if isinstance(response.body, bytes) else b"{}"
    return web.Response(body=body[: len(body) // 2], status=200, content_type="application/json")


@web.middleware
async def fault_middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
    """Route to the vCenter, count, inject faults, render errors, date the answer."""
    fleet = request.app[FLEET]
    vc = fleet.by_port.get(local_port(request) or -1)
    if vc is None:
        return drop_connection(request)
    request[VCENTER] = vc
    vc.requests[_route_key(request)] += 1
    response = await _faulty(request, handler, fleet, vc)
    # Every answer carries the vCenter's own (possibly skewed) clock; a dropped one is
    # never written, so setting it there is harmless.
    response.headers["Date"] = vc.clock.http_date()
    return response


async def _faulty(
    request: web.Request, handler: Handler, fleet: Fleet, vc: VCenterSim
) -> web.StreamResponse:
    """Apply the faults in their fixed order around the operation."""
    faults = vc.faults
    if faults.down:
        return drop_connection(request)
    delay = fleet.latency(vc)
    if delay > 0:
        await anyio.sleep(delay)
    if vc.dice.hit(faults, "reset_rate"):
        return drop_connection(request)
    if vc.dice.hit(faults, "http_503_rate"):
        return error_response(
            ApiError(
                "SERVICE_UNAVAILABLE",
                Message("vcenter.service.unavailable", "The service is temporarily unavailable."),
            )
        )
    try:
        response = await handler(request)
    except ApiError as exc:
        return error_response(exc)
    except (web.HTTPNotFound, web.HTTPMethodNotAllowed):
        return error_response(_operation_not_found(request))
    if not isinstance(response, web.Response):
        return response
    if (
        response.status == 201
        and _route_key(request) == f"POST {JOBS_ROUTE}"
        and vc.dice.hit(faults, "lost_response_rate")
    ):
        return drop_connection(request)
    if request.method == "GET" and response.status == 200 and vc.dice.hit(faults, "malformed_rate"):
        return _malformed(response)
    return response


async def _raw(request: web.Request) -> RawInput:
    return RawInput(request.query, await request.read())


def _check_action(request: web.Request, allowed: Set[str | None]) -> None:
    actions = request.query.getall("action", [])
    action = actions[0] if len(actions) == 1 else None
    if len(actions) > 1 or action not in allowed:
        raise _operation_not_found(request)


@dataclass(frozen=True, slots=True)
class Route:
    """One authenticated ``/api`` operation: where it listens, how it is called and answered.

    ``operation`` is a :class:`VCenterSim` method; it gets the caller's session first when
    ``as_user`` (it acts for the user, or on their session), then the path's parameters in
    order, then the request's input. ``actions`` are the ``?action=`` values it accepts
    (``None``: none given); ``status`` is that of a success, 204 a void answer without body.
    """

    method: str
    path: str
    operation: Callable[..., object]
    actions: frozenset[str | None] = frozenset({None})
    as_user: bool = False
    status: int = 200


def serve(route: Route) -> Handler:
    """The handler of ``route``: action check, then session, then the operation's answer."""

    async def handle(request: web.Request) -> web.Response:
        _check_action(request, route.actions)
        vc = request[VCENTER]
        session = vc.authenticate(request.headers.get(SESSION_HEADER))
        user = (session,) if route.as_user else ()
        result = route.operation(vc, *user, *request.match_info.values(), await _raw(request))
        return no_content() if route.status == 204 else json_response(result, route.status)

    return handle


async def session_create(request: web.Request) -> web.Response:
    """POST /api/session (Basic credentials, no session yet) → 201 and the bare token."""
    _check_action(request, {None})
    vc = request[VCENTER]
    token = vc.login(request.headers.get("Authorization"), await _raw(request))
    return json_response(token, 201)


#: Every operation but login, in registration order (routes of one path stay together).
ROUTES: tuple[Route, ...] = (
    # sessions
    Route("GET", "/api/session", VCenterSim.session_info, as_user=True),
    Route("DELETE", "/api/session", VCenterSim.logout, as_user=True, status=204),
    # inventory and upgrades
    Route("GET", f"{_NS}/supervisors/summaries", VCenterSim.summaries),
    Route("GET", f"{_NS}/supervisors/{{supervisor}}/summary", VCenterSim.summary),
    Route("GET", f"{_NS}/clusters", VCenterSim.clusters),
    Route("GET", f"{_SW}/upgrades", VCenterSim.upgrades_list),
    Route("GET", f"{_SW}/upgrades/{{supervisor}}", VCenterSim.upgrades_get),
    Route("POST", JOBS_ROUTE, VCenterSim.create_job, as_user=True, status=201),
    Route("GET", f"{_SW}/versions", VCenterSim.versions_list),
    Route("GET", f"{_SW}/versions/{{version}}", VCenterSim.version_get),
    Route(
        "POST",
        f"{_SW}/versions/{{version}}",
        VCenterSim.check_compatibility,
        actions=frozenset({"check-compatibility"}),
    ),
    Route(
        "POST",
        f"{_SW}/{{supervisor}}/prechecks",
        VCenterSim.prechecks_run,
        actions=frozenset({"run"}),
        as_user=True,
        status=204,
    ),
    Route("GET", f"{_SW}/{{supervisor}}/prechecks", VCenterSim.prechecks_get),
    # cis tasks: list as ``GET`` (SDK) or ``POST ?action=list``; cancel with or without
    # ``?action=cancel`` (the SDK omits it)
    Route("GET", "/api/cis/tasks", VCenterSim.tasks_list),
    Route("POST", "/api/cis/tasks", VCenterSim.tasks_list, actions=frozenset({"list"})),
    Route("GET", "/api/cis/tasks/{task}", VCenterSim.task_get),
    Route(
        "POST",
        "/api/cis/tasks/{task}",
        VCenterSim.task_cancel,
        actions=frozenset({None, "cancel"}),
        as_user=True,
        status=204,
    ),
)


def build_app(fleet: Fleet) -> web.Application:
    """The application every vCenter listener serves."""
    app = web.Application(middlewares=[fault_middleware])
    app[FLEET] = fleet
    app.router.add_route("POST", "/api/session", session_create)
    for route in ROUTES:
        app.router.add_route(route.method, route.path, serve(route))
    return app
