"""The vCenter ``/api`` routes over aiohttp, and the per-request fault middleware.

One application serves every vCenter; the middleware finds the vCenter by the local port,
counts the request under its route template, then applies that vCenter's faults in a
fixed order (down → latency → reset → 503 → handle → lost response → malformed) and turns
:class:`ApiError` into vAPI error answers. Handlers only move bytes; the operations live in
:mod:`fleetupgrade.sim.vcenter`.
"""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable
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


def _check_action(request: web.Request, allowed: set[str | None]) -> None:
    actions = request.query.getall("action", [])
    action = actions[0] if len(actions) == 1 else None
    if len(actions) > 1 or action not in allowed:
        raise _operation_not_found(request)


def _authenticated(request: web.Request) -> tuple[VCenterSim, Any]:
    vc = request[VCENTER]
    return vc, vc.authenticate(request.headers.get(SESSION_HEADER))


# sessions ----------------------------------------------------------------------------


async def session_create(request: web.Request) -> web.Response:
    """POST /api/session → 201 and the token as a bare JSON string."""
    _check_action(request, {None})
    vc = request[VCENTER]
    token = vc.login(request.headers.get("Authorization"), await _raw(request))
    return json_response(token, 201)


async def session_get(request: web.Request) -> web.Response:
    """GET /api/session → Session.Info."""
    _check_action(request, {None})
    vc, session = _authenticated(request)
    return json_response(vc.session_info(session, await _raw(request)))


async def session_delete(request: web.Request) -> web.Response:
    """DELETE /api/session → 204."""
    _check_action(request, {None})
    vc, session = _authenticated(request)
    vc.logout(session, await _raw(request))
    return no_content()


# inventory and upgrades --------------------------------------------------------------


async def summaries(request: web.Request) -> web.Response:
    """Summary.list."""
    _check_action(request, {None})
    vc, _ = _authenticated(request)
    return json_response(vc.summaries(await _raw(request)))


async def summary(request: web.Request) -> web.Response:
    """Summary.get."""
    _check_action(request, {None})
    vc, _ = _authenticated(request)
    return json_response(vc.summary(request.match_info["supervisor"], await _raw(request)))


async def clusters(request: web.Request) -> web.Response:
    """The deprecated cluster listing."""
    _check_action(request, {None})
    vc, _ = _authenticated(request)
    return json_response(vc.clusters(await _raw(request)))


async def upgrades_list(request: web.Request) -> web.Response:
    """Upgrades.list."""
    _check_action(request, {None})
    vc, _ = _authenticated(request)
    return json_response(vc.upgrades_list(await _raw(request)))


async def upgrades_get(request: web.Request) -> web.Response:
    """Upgrades.get."""
    _check_action(request, {None})
    vc, _ = _authenticated(request)
    return json_response(vc.upgrades_get(request.match_info["supervisor"], await _raw(request)))


async def jobs_create(request: web.Request) -> web.Response:
    """Jobs.create → 201 and the cis task id as a bare JSON string."""
    _check_action(request, {None})
    vc, session = _authenticated(request)
    task = vc.create_job(session, request.match_info["supervisor"], await _raw(request))
    return json_response(task, 201)


async def prechecks_run(request: web.Request) -> web.Response:
    """Prechecks.run (``?action=run``) → 204."""
    _check_action(request, {"run"})
    vc, session = _authenticated(request)
    vc.prechecks_run(session, request.match_info["supervisor"], await _raw(request))
    return no_content()


async def prechecks_get(request: web.Request) -> web.Response:
    """Prechecks.get."""
    _check_action(request, {None})
    vc, _ = _authenticated(request)
    return json_response(vc.prechecks_get(request.match_info["supervisor"], await _raw(request)))


async def versions_list(request: web.Request) -> web.Response:
    """Versions.list."""
    _check_action(request, {None})
    vc, _ = _authenticated(request)
    return json_response(vc.versions_list(await _raw(request)))


async def version_get(request: web.Request) -> web.Response:
    """Versions.get."""
    _check_action(request, {None})
    vc, _ = _authenticated(request)
    return json_response(vc.version_get(request.match_info["version"], await _raw(request)))


async def check_compatibility(request: web.Request) -> web.Response:
    """Versions.check_compatibility (``?action=check-compatibility``)."""
    _check_action(request, {"check-compatibility"})
    vc, _ = _authenticated(request)
    version = request.match_info["version"]
    return json_response(vc.check_compatibility(version, await _raw(request)))


# cis tasks ---------------------------------------------------------------------------


async def task_get(request: web.Request) -> web.Response:
    """Tasks.get."""
    _check_action(request, {None})
    vc, _ = _authenticated(request)
    return json_response(vc.task_get(request.match_info["task"], await _raw(request)))


async def tasks_list(request: web.Request) -> web.Response:
    """Tasks.list: ``GET /api/cis/tasks`` (SDK) or ``POST /api/cis/tasks?action=list``."""
    _check_action(request, {None} if request.method == "GET" else {"list"})
    vc, _ = _authenticated(request)
    return json_response(vc.tasks_list(await _raw(request)))


async def task_cancel(request: web.Request) -> web.Response:
    """Tasks.cancel, with or without ``?action=cancel`` (the SDK omits it)."""
    _check_action(request, {None, "cancel"})
    vc, session = _authenticated(request)
    vc.task_cancel(session, request.match_info["task"], await _raw(request))
    return no_content()


def build_app(fleet: Fleet) -> web.Application:
    """The application every vCenter listener serves."""
    app = web.Application(middlewares=[fault_middleware])
    app[FLEET] = fleet
    routes = [
        ("POST", "/api/session", session_create),
        ("GET", "/api/session", session_get),
        ("DELETE", "/api/session", session_delete),
        ("GET", f"{_NS}/supervisors/summaries", summaries),
        ("GET", f"{_NS}/supervisors/{{supervisor}}/summary", summary),
        ("GET", f"{_NS}/clusters", clusters),
        ("GET", f"{_SW}/upgrades", upgrades_list),
        ("GET", f"{_SW}/upgrades/{{supervisor}}", upgrades_get),
        ("POST", JOBS_ROUTE, jobs_create),
        ("GET", f"{_SW}/versions", versions_list),
        ("GET", f"{_SW}/versions/{{version}}", version_get),
        ("POST", f"{_SW}/versions/{{version}}", check_compatibility),
        ("POST", f"{_SW}/{{supervisor}}/prechecks", prechecks_run),
        ("GET", f"{_SW}/{{supervisor}}/prechecks", prechecks_get),
        ("GET", "/api/cis/tasks", tasks_list),
        ("POST", "/api/cis/tasks", tasks_list),
        ("GET", "/api/cis/tasks/{task}", task_get),
        ("POST", "/api/cis/tasks/{task}", task_cancel),
    ]
    for method, path, handler in routes:
        app.router.add_route(method, path, handler)
    return app
