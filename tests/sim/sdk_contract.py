"""Every operation of docs/wire.md we use, and the strict check of one raw answer.

The vendor SDK lets unknown fields, unknown enum strings, wrong JSON primitive types and
null required strings slip (docs/wire.md §8.6), so the conformance tests check each raw
answer with :func:`check_answer` too: the operation it answers (route, ``?action=``), its
success status and body (§4-§7) or, for an error, a §2.1 body whose ``error_type`` has the
§2.2 status and is declared for the operation (§2.3); ``Content-Type: application/json`` on
every body, no body on void answers, no session cookie (§4). Problems are returned as
strings (empty list = conformant).
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qs, urlsplit

from tests.sim.sdk_schema import (
    COMPATIBILITY_INFO,
    ERROR_BODY,
    ERROR_STATUS,
    PRECHECKS_INFO,
    SESSION_INFO,
    SUMMARY_INFO,
    SUMMARY_LIST,
    TASK_INFO,
    TASK_MAP,
    UPGRADES_INFO,
    UPGRADES_LIST,
    VERSIONS_INFO,
    VERSIONS_LIST,
)
from tests.sim.sdk_types import TOKEN, Problems, Spec

_AUTH = "UNAUTHENTICATED UNAUTHORIZED"
#: §2.3: the server runtime may add these to any operation.
RUNTIME_ERRORS = frozenset(
    {"INTERNAL_SERVER_ERROR", "INVALID_ARGUMENT", "UNEXPECTED_INPUT", "OPERATION_NOT_FOUND"}
)
_NS = "/api/vcenter/namespace-management"
_SW = _NS + "/software/supervisors"


@dataclass(frozen=True)
class Operation:
    """One operation of the contract: how it is addressed and what it may answer."""

    name: str
    method: str
    path: re.Pattern[str]
    actions: frozenset[str | None]
    status: int
    result: Spec | None  # None: a void operation, no body
    errors: frozenset[str]


def _op(name: str, route: str, status: int, result: Spec | None, errors: str) -> Operation:
    """``route`` is ``"METHOD /path/{id}[?action=a|b]"``; an empty action means none."""
    method, target = route.split(" ")
    path, _, action = target.partition("?action=")
    actions = frozenset(a or None for a in action.split("|")) if action else frozenset({None})
    pattern = re.compile("^" + re.sub(r"\{[a-z]+\}", "[^/]+", path) + "$")
    return Operation(name, method, pattern, actions, status, result, frozenset(errors.split()))


# fmt: off
OPERATIONS: tuple[Operation, ...] = (
    _op("Session.create", "POST /api/session", 201, TOKEN, "UNAUTHENTICATED SERVICE_UNAVAILABLE"),
    _op("Session.get", "GET /api/session", 200, SESSION_INFO, "UNAUTHENTICATED SERVICE_UNAVAILABLE"),
    _op("Session.delete", "DELETE /api/session", 204, None, "UNAUTHENTICATED SERVICE_UNAVAILABLE"),
    _op("Summary.list", f"GET {_NS}/supervisors/summaries", 200, SUMMARY_LIST, f"ERROR {_AUTH}"),
    _op("Summary.get", f"GET {_NS}/supervisors/{{supervisor}}/summary", 200, SUMMARY_INFO,
        f"ERROR NOT_FOUND {_AUTH}"),
    _op("Upgrades.list", f"GET {_SW}/upgrades", 200, UPGRADES_LIST, f"ERROR {_AUTH}"),
    _op("Upgrades.get", f"GET {_SW}/upgrades/{{supervisor}}", 200, UPGRADES_INFO,
        f"NOT_FOUND UNSUPPORTED ERROR {_AUTH}"),
    _op("Jobs.create", f"POST {_SW}/upgrades/jobs/{{supervisor}}", 201, TOKEN,
        f"INVALID_ARGUMENT UNSUPPORTED NOT_FOUND ERROR {_AUTH}"),
    _op("Versions.list", f"GET {_SW}/versions", 200, VERSIONS_LIST,
        f"ERROR INVALID_ARGUMENT {_AUTH}"),
    _op("Versions.get", f"GET {_SW}/versions/{{version}}", 200, VERSIONS_INFO,
        f"NOT_FOUND ERROR {_AUTH}"),
    _op("Versions.check_compatibility",
        f"POST {_SW}/versions/{{version}}?action=check-compatibility", 200, COMPATIBILITY_INFO,
        f"NOT_FOUND INVALID_ARGUMENT ERROR {_AUTH}"),
    _op("Prechecks.run", f"POST {_SW}/{{supervisor}}/prechecks?action=run", 204, None,
        f"UNSUPPORTED NOT_ALLOWED_IN_CURRENT_STATE NOT_FOUND INVALID_ARGUMENT ERROR {_AUTH}"),
    _op("Prechecks.get", f"GET {_SW}/{{supervisor}}/prechecks", 200, PRECHECKS_INFO,
        f"NOT_FOUND ERROR {_AUTH}"),
    _op("Tasks.get", "GET /api/cis/tasks/{task}", 200, TASK_INFO,
        f"NOT_FOUND RESOURCE_INACCESSIBLE SERVICE_UNAVAILABLE ERROR {_AUTH}"),
    _op("Tasks.list", "GET /api/cis/tasks", 200, TASK_MAP,
        f"INVALID_ARGUMENT RESOURCE_INACCESSIBLE SERVICE_UNAVAILABLE {_AUTH}"),
    _op("Tasks.list", "POST /api/cis/tasks?action=list", 200, TASK_MAP,
        f"INVALID_ARGUMENT RESOURCE_INACCESSIBLE SERVICE_UNAVAILABLE {_AUTH}"),
    # The reference puts ?action=cancel on the URL; the SDK leaves it off (§7, §8.8).
    _op("Tasks.cancel", "POST /api/cis/tasks/{task}?action=cancel|", 204, None,
        "NOT_ALLOWED_IN_CURRENT_STATE UNSUPPORTED NOT_FOUND RESOURCE_INACCESSIBLE "
        f"SERVICE_UNAVAILABLE ERROR {_AUTH}"),
)
# fmt: on


def find_operation(method: str, url: str) -> Operation | None:
    """The contract operation a request addresses, or None."""
    parts = urlsplit(url)
    actions = parse_qs(parts.query).get("action", [])
    action = actions[0] if len(actions) == 1 else None
    for operation in OPERATIONS:
        if (
            operation.method == method.upper()
            and operation.path.match(parts.path)
            and action in operation.actions
        ):
            return operation
    return None


_JSON_CONTENT_TYPE = re.compile(r"^application/json\s*(;.*)?$", re.IGNORECASE)


def check_body(spec: Spec, value: Any, path: str = "$") -> Problems:
    """Problems of one JSON value against a spec (empty when it conforms)."""
    problems: Problems = []
    if value is None:
        problems.append(f"{path}: null where a value is required")
    else:
        spec.check(value, path, problems)
    return problems


def check_answer(
    method: str, url: str, status: int, headers: Mapping[str, str], body: bytes
) -> Problems:
    """Problems of one raw HTTP answer against the contract (empty when it conforms)."""
    operation = find_operation(method, url)
    if operation is None:
        return [f"{method} {url}: no operation of the contract is addressed like this"]
    lowered = {key.lower(): value for key, value in headers.items()}
    problems: Problems = []
    if "set-cookie" in lowered:
        problems.append(
            f"Set-Cookie header sent ({lowered['set-cookie']!r}); the simulator sets no cookie (§4)"
        )
    if 200 <= status < 300:
        if status != operation.status:
            problems.append(f"success status {status}, the contract uses {operation.status}")
        if operation.result is None:
            if body:
                problems.append(f"void operation answered with a body {body[:80]!r}")
            return problems
        expected: Spec = operation.result
    elif status >= 400:
        expected = ERROR_BODY
    else:
        return [*problems, f"status {status} is neither a success nor an error"]
    content_type = lowered.get("content-type")
    if content_type is None or not _JSON_CONTENT_TYPE.match(content_type):
        problems.append(f"Content-Type {content_type!r}, expected application/json")
    try:
        value = json.loads(body)
    except ValueError:
        return [*problems, f"body is not JSON: {body[:80]!r}"]
    problems.extend(check_body(expected, value))
    if status >= 400 and isinstance(value, dict):
        problems.extend(_error_problems(operation, status, value))
    return problems


def _error_problems(operation: Operation, status: int, body: Mapping[str, Any]) -> Problems:
    kind = body.get("error_type")
    if not isinstance(kind, str) or kind not in ERROR_STATUS:
        return []
    problems: Problems = []
    if ERROR_STATUS[kind] != status:
        problems.append(f"error_type {kind} must come with HTTP {ERROR_STATUS[kind]}, got {status}")
    authenticated = operation.name != "Session.create"
    allowed = operation.errors | RUNTIME_ERRORS | ({"UNAUTHENTICATED"} if authenticated else set())
    if kind not in allowed:
        problems.append(f"{operation.name} does not declare error {kind} (§2.3)")
    return problems


__all__ = [
    "OPERATIONS",
    "RUNTIME_ERRORS",
    "Operation",
    "check_answer",
    "check_body",
    "find_operation",
]
