"""Support for driving the simulator with the vendor SDK in plain-JSON mode, plus a strict checker.

* :class:`SimThread` (from ``tests.simthread``) serves a scenario from a background thread
  (the SDK is synchronous, built on ``requests``).
* :class:`VendorClient` builds the 9.1.1.0 stubs over REST and switches each one to the
  plain-JSON ("swagger") mode that real ``/api`` needs (vcenter-api.md §8.1).
* :class:`Wire` records every raw answer through a ``requests`` response hook, and
  :func:`check_answer` validates it against a schema table transcribed from vcenter-api.md.
"""

from __future__ import annotations

import json
import re
import threading
import time
import warnings
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar
from urllib.parse import parse_qs, urlsplit

import requests

from tests.simthread import SimThread

with warnings.catch_warnings():
    # the runtime uses the deprecated importlib.resources.read_binary on first import
    warnings.simplefilter("ignore", DeprecationWarning)
    from com.vmware.cis_client import Session, Tasks
    from com.vmware.vcenter.namespace_management.software.supervisors.upgrades_client import Jobs
    from com.vmware.vcenter.namespace_management.software.supervisors_client import (
        Prechecks,
        Upgrades,
        Versions,
    )
    from com.vmware.vcenter.namespace_management.supervisors_client import Summary
    from vmware.vapi.bindings.converter import RestConverter
    from vmware.vapi.bindings.error import VapiError
    from vmware.vapi.lib.connect import get_requests_connector
    from vmware.vapi.provider.filter import ApiProviderFilter
    from vmware.vapi.security.client.security_context_filter import LegacySecurityContextFilter
    from vmware.vapi.security.user_password import create_user_password_security_context
    from vmware.vapi.stdlib.client.factories import StubConfigurationFactory

SESSION_HEADER = "vmware-api-session-id"
T = TypeVar("T")


# --- the wire log ---------------------------------------------------------------------------


@dataclass(frozen=True)
class Answer:
    """One raw answer off the wire, with the contract problems found in it."""

    method: str
    url: str
    status: int
    content_type: str | None
    body: bytes
    problems: tuple[str, ...]

    def json(self) -> Any:
        return json.loads(self.body)

    def __str__(self) -> str:
        return f"{self.method} {self.url} -> {self.status}"


@dataclass
class Wire:
    """Every answer the SDK received, checked as it arrives."""

    answers: list[Answer] = field(default_factory=list)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def hook(self, response: requests.Response, *args: Any, **kwargs: Any) -> None:
        method = response.request.method or "?"
        content_type = response.headers.get("Content-Type")
        problems = check_answer(
            method, response.url, response.status_code, content_type, response.content
        )
        answer = Answer(
            method,
            response.url,
            response.status_code,
            content_type,
            response.content,
            tuple(problems),
        )
        with self._lock:
            self.answers.append(answer)

    def mark(self) -> int:
        with self._lock:
            return len(self.answers)

    def since(self, mark: int) -> list[Answer]:
        with self._lock:
            return list(self.answers[mark:])

    @staticmethod
    def problems(answers: list[Answer]) -> list[str]:
        return [f"{a}: {p}" for a in answers for p in a.problems]


# --- the SDK in plain-JSON mode -------------------------------------------------------------

S = TypeVar("S")


def plain_json(stub: S) -> S:
    """Switch a freshly built stub and its REST provider to plain-JSON (swagger) mode (§8.1)."""
    interface = stub._api_interface  # type: ignore[attr-defined]
    interface._is_vapi_rest = False
    interface._rest_converter_mode = RestConverter.SWAGGER_REST
    provider = interface._api_provider
    if isinstance(provider, ApiProviderFilter):
        provider = provider.get_api_provider()
    provider.set_rest_format(False)
    return stub


class VendorClient:
    """Every vendor stub we use, on one ``requests.Session`` that trusts the simulator's CA."""

    def __init__(self, base_url: str, ca_file: Path, wire: Wire) -> None:
        self.api_url = base_url + "/api"
        self.http = requests.Session()
        self.http.verify = str(ca_file)
        self.http.trust_env = False  # REQUESTS_CA_BUNDLE would override verify (§8.7)
        self.http.hooks["response"].append(wire.hook)
        config = StubConfigurationFactory.new_std_configuration(self._connector())
        self.session = plain_json(Session(config))
        self.summary = plain_json(Summary(config))
        self.upgrades = plain_json(Upgrades(config))
        self.jobs = plain_json(Jobs(config))
        self.versions = plain_json(Versions(config))
        self.prechecks = plain_json(Prechecks(config))
        self.tasks = plain_json(Tasks(config))

    def _connector(self, chain: list[Any] | None = None) -> Any:
        return get_requests_connector(
            session=self.http,
            msg_protocol="rest",
            url=self.api_url,
            timeout=10,
            pool_size=0,
            provider_filter_chain=chain,
        )

    def create_session(self, user: str, password: str) -> str:
        """``Session.create`` under a user/password security context (header left unchanged)."""
        context = create_user_password_security_context(user, password)
        config = StubConfigurationFactory.new_std_configuration(
            self._connector([LegacySecurityContextFilter(security_context=context)])
        )
        saved = self.http.headers.pop(SESSION_HEADER, None)
        try:
            token = plain_json(Session(config)).create()
        finally:
            if saved is not None:
                self.http.headers[SESSION_HEADER] = saved
        return token  # type: ignore[no-any-return]

    def login(self, user: str, password: str) -> str:
        token = self.create_session(user, password)
        self.http.headers[SESSION_HEADER] = token
        return token

    def close(self) -> None:
        try:
            if SESSION_HEADER in self.http.headers:
                self.session.delete()
        except VapiError:
            pass
        finally:
            self.http.headers.pop(SESSION_HEADER, None)
            self.http.close()


def error_type_of(exc: VapiError) -> str | None:
    """``error_type`` of a stub error: parsed into the exception, or in ``exc.data`` (cis tasks)."""
    kind = getattr(exc, "error_type", None)
    if kind is None and getattr(exc, "data", None) is not None:
        kind = exc.data.to_dict().get("error_type")
    return None if kind is None else str(kind)


def wait_for(fetch: Callable[[], T], done: Callable[[T], bool], limit: float = 10.0) -> T:
    """Poll ``fetch`` until ``done`` holds; AssertionError after ``limit`` seconds."""
    deadline = time.monotonic() + limit
    while True:
        value = fetch()
        if done(value):
            return value
        assert time.monotonic() < deadline, f"not reached within {limit} s; last: {value}"
        time.sleep(0.02)


# --- the schema table (transcribed from vcenter-api.md) -------------------------------------

DATE_TIME = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$")


@dataclass(frozen=True)
class Opt:
    """An optional field: may be omitted (the simulator omits unset fields, §1)."""

    type: Any


@dataclass(frozen=True)
class Enum:
    values: frozenset[str]

    def __init__(self, *values: str) -> None:
        object.__setattr__(self, "values", frozenset(values))


@dataclass(frozen=True)
class ListOf:
    item: Any


@dataclass(frozen=True)
class MapOf:
    item: Any


@dataclass(frozen=True)
class Struct:
    name: str
    fields: dict[str, Any]
    rule: Callable[[dict[str, Any]], list[str]] | None = None


STR, INT, BOOL, DT, ANY = "string", "integer", "boolean", "date-time", "any"
SEVERITY = Enum("INFO", "WARNING", "ERROR")
UPGRADE_STATE = Enum("INPROGRESS", "READY", "ERROR")

ERROR_STATUS = {
    "ALREADY_EXISTS": 400, "ALREADY_IN_DESIRED_STATE": 400, "CANCELED": 500,
    "CONCURRENT_CHANGE": 409, "ERROR": 500, "FEATURE_IN_USE": 400,
    "INTERNAL_SERVER_ERROR": 500, "INVALID_ARGUMENT": 400,
    "INVALID_ELEMENT_CONFIGURATION": 400, "INVALID_ELEMENT_TYPE": 400,
    "INVALID_REQUEST": 400, "NOT_ALLOWED_IN_CURRENT_STATE": 400, "NOT_FOUND": 404,
    "OPERATION_NOT_FOUND": 404, "RESOURCE_BUSY": 400, "RESOURCE_IN_USE": 400,
    "RESOURCE_INACCESSIBLE": 400, "SERVICE_UNAVAILABLE": 503, "TIMED_OUT": 504,
    "UNABLE_TO_ALLOCATE_RESOURCE": 400, "UNAUTHENTICATED": 401, "UNAUTHORIZED": 403,
    "UNEXPECTED_INPUT": 400, "UNSUPPORTED": 400, "UNVERIFIED_PEER": 500,
}  # fmt: skip

LOCALIZABLE_MESSAGE = Struct(
    "LocalizableMessage",
    {"id": STR, "default_message": STR, "args": ListOf(STR), "params": Opt(MapOf(ANY)),
     "localized": Opt(STR)},
)  # fmt: skip
CLUSTERS_MESSAGE = Struct(
    "Clusters.Message",
    {"severity": SEVERITY, "details": Opt(LOCALIZABLE_MESSAGE), "kb_article_link": Opt(STR),
     "id": Opt(STR)},
)  # fmt: skip
CONDITION = Struct(
    "Clusters.Condition",
    {"type": STR, "description": LOCALIZABLE_MESSAGE, "status": Enum("TRUE", "FALSE", "UNKNOWN"),
     "last_transition_time": Opt(DT), "reason": STR, "severity": SEVERITY,
     "messages": ListOf(CLUSTERS_MESSAGE)},
)  # fmt: skip
UPGRADES_MESSAGE = Struct(
    "Upgrades.Message", {"severity": SEVERITY, "details": LOCALIZABLE_MESSAGE}
)
PROGRESS = Struct("Progress", {"total": INT, "completed": INT, "message": LOCALIZABLE_MESSAGE})
UPGRADES_SUMMARY = Struct(
    "Upgrades.Summary",
    {"supervisor": STR, "current_version": STR, "available_versions": ListOf(STR),
     "last_upgraded_date": Opt(DT), "desired_version": Opt(STR), "state": UPGRADE_STATE},
)  # fmt: skip
UPGRADES_LIST = Struct("Upgrades.ListResult", {"supervisors": ListOf(UPGRADES_SUMMARY)})
UPGRADES_STATUS = Struct(
    "Upgrades.Status",
    {"desired_version": STR, "messages": ListOf(UPGRADES_MESSAGE), "progress": PROGRESS,
     "components": Opt(ListOf(CONDITION))},
)  # fmt: skip


def _upgrades_info_rule(value: dict[str, Any]) -> list[str]:
    in_progress = value.get("state") == "INPROGRESS"
    if in_progress != ("upgrade_status" in value):
        return ["upgrade_status must be set exactly while state is INPROGRESS (§6.2)"]
    return []


UPGRADES_INFO = Struct(
    "Upgrades.Info",
    {"current_version": STR, "available_versions": ListOf(STR), "last_upgraded_date": Opt(DT),
     "messages": ListOf(UPGRADES_MESSAGE), "state": UPGRADE_STATE,
     "upgrade_status": Opt(UPGRADES_STATUS), "upgrade_prechecks": Opt(ListOf(CONDITION))},
    _upgrades_info_rule,
)  # fmt: skip
STATS = Struct(
    "Stats",
    dict.fromkeys(("cpu_used", "cpu_capacity", "memory_used", "memory_capacity",
                   "storage_used", "storage_capacity"), INT),
)  # fmt: skip
SUMMARY_MESSAGE = Struct(
    "Summary.Message",
    {"id": STR, "severity": SEVERITY, "details": LOCALIZABLE_MESSAGE, "kb_article_link": Opt(STR)},
)
SUMMARY_INFO = Struct(
    "Summary.Info",
    {"name": STR, "APIEndpoint": Opt(STR), "stats": STATS,
     "config_status": Enum("CONFIGURING", "REMOVING", "RUNNING", "ERROR"),
     "kubernetes_status": Enum("READY", "WARNING", "ERROR"),
     "messages": Opt(ListOf(SUMMARY_MESSAGE))},
)  # fmt: skip
SUMMARY_LIST = Struct(
    "Summary.ListResult",
    {"items": ListOf(Struct("Summary.ListItem", {"supervisor": STR, "info": SUMMARY_INFO}))},
)
SESSION_INFO = Struct("Session.Info", {"user": STR, "created_time": DT, "last_accessed_time": DT})
VERSIONS_LIST = Struct(
    "Versions.ListResult",
    {"supervisor_versions": ListOf(Struct("Versions.Summary", {"version": STR}))},
)


def _image_source_rule(value: dict[str, Any]) -> list[str]:
    if "library" in value and value.get("source_type") != "CONTENT_LIBRARY":
        return ["library is allowed only with source_type CONTENT_LIBRARY"]
    return []


IMAGE_SOURCE = Struct(
    "ImageSourceSpec",
    {"source_type": Enum("EMBEDDED", "CONTENT_LIBRARY"), "library": Opt(STR)},
    _image_source_rule,
)
VERSION_FIELDS = {
    "version": STR, "name": STR, "description": STR, "release_date": DT,
    "release_notes": STR, "image_source_specs": ListOf(IMAGE_SOURCE),
}  # fmt: skip
VERSIONS_INFO = Struct("Versions.Info", VERSION_FIELDS)


def _compatibility_rule(value: dict[str, Any]) -> list[str]:
    kind = value.get("compatibility")
    if kind == "INCOMPATIBLE":
        ok = "incompatibility_reasons" in value and "capabilities" not in value
    elif kind in ("COMPATIBLE", "COMPATIBLE_AND_DEGRADED"):
        ok = "capabilities" in value and "incompatibility_reasons" not in value
    else:
        return []
    return [] if ok else [f"union rule broken for compatibility {kind} (§6.4)"]


COMPATIBILITY_INFO = Struct(
    "Versions.CompatibilityInfo",
    {**VERSION_FIELDS,
     "compatibility": Enum("COMPATIBLE", "COMPATIBLE_AND_DEGRADED", "INCOMPATIBLE"),
     "incompatibility_reasons": Opt(ListOf(LOCALIZABLE_MESSAGE)),
     "capabilities": Opt(ListOf(Struct(
         "Versions.Capability",
         {"name": STR, "status": Enum("SUPPORTED", "SUPPORTED_AND_DEGRADED", "UNSUPPORTED")},
     )))},
    _compatibility_rule,
)  # fmt: skip
PRECHECKS_INFO = Struct(
    "Prechecks.Info",
    {"precheck_results": Opt(ListOf(Struct(
        "Prechecks.PrecheckResult",
        {"target_version": STR,
         "status": Opt(Enum("SUCCEEDED", "RUNNING", "WARNING", "ERROR", "UNKNOWN")),
         "conditions": ListOf(CONDITION)},
    )))},
)  # fmt: skip


def _error_rule(value: dict[str, Any]) -> list[str]:
    problems = []
    if "error_type" not in value:
        problems.append("error_type missing (we always send it, §2.1)")
    if "challenge" in value and value.get("error_type") not in ("UNAUTHENTICATED", "UNAUTHORIZED"):
        problems.append("challenge only on UNAUTHENTICATED/UNAUTHORIZED (§2.1)")
    return problems


ERROR_BODY = Struct(
    "Error",
    {"error_type": Opt(Enum(*ERROR_STATUS)), "messages": ListOf(LOCALIZABLE_MESSAGE),
     "data": Opt(MapOf(ANY)), "challenge": Opt(STR)},
    _error_rule,
)  # fmt: skip
TASK_UNION = {  # status -> (required, allowed) among progress/result/start_time/end_time/error
    "PENDING": (set(), set()),
    "RUNNING": ({"progress", "start_time"}, {"result"}),
    "BLOCKED": ({"progress", "start_time"}, {"result"}),
    "SUCCEEDED": ({"progress", "start_time", "end_time"}, {"result"}),
    "FAILED": ({"progress", "start_time", "end_time"}, {"result", "error"}),
}


def _task_rule(value: dict[str, Any]) -> list[str]:
    status = value.get("status")
    if status not in TASK_UNION:
        return []
    required, allowed = TASK_UNION[status]
    present = {k for k in ("progress", "result", "start_time", "end_time", "error") if k in value}
    problems = [f"task {status}: {k} required (union rule)" for k in sorted(required - present)]
    problems += [
        f"task {status}: {k} not allowed (union rule)" for k in sorted(present - required - allowed)
    ]
    return problems


TASK_INFO = Struct(
    "Task.Info",
    {"description": LOCALIZABLE_MESSAGE, "service": STR, "operation": STR, "parent": Opt(STR),
     "target": Opt(Struct("DynamicID", {"type": STR, "id": STR})),
     "status": Enum(*TASK_UNION), "cancelable": BOOL, "error": Opt(ERROR_BODY),
     "start_time": Opt(DT), "end_time": Opt(DT), "user": Opt(STR), "progress": Opt(PROGRESS),
     "result": Opt(ANY)},
    _task_rule,
)  # fmt: skip


def validate(value: Any, schema: Any, path: str = "$") -> list[str]:
    """Every way ``value`` breaks ``schema``, one line each (empty when it conforms)."""
    if value is None:
        return [f"{path}: null where a value is required"]
    if schema == ANY:
        return []
    if schema == STR:
        return [] if isinstance(value, str) else [f"{path}: expected string, got {value!r}"]
    if schema == INT:
        ok = isinstance(value, int) and not isinstance(value, bool)
        return [] if ok else [f"{path}: expected integer, got {value!r}"]
    if schema == BOOL:
        return [] if isinstance(value, bool) else [f"{path}: expected boolean, got {value!r}"]
    if schema == DT:
        ok = isinstance(value, str) and DATE_TIME.match(value) is not None
        return (
            []
            if ok
            else [f"{path}: expected date-time like 2026-11-26T22:00:00.000Z, got {value!r}"]
        )
    if isinstance(schema, Enum):
        ok = isinstance(value, str) and value in schema.values
        return [] if ok else [f"{path}: {value!r} is not one of {sorted(schema.values)}"]
    if isinstance(schema, ListOf):
        if not isinstance(value, list):
            return [f"{path}: expected list, got {value!r}"]
        return [
            p for i, item in enumerate(value) for p in validate(item, schema.item, f"{path}[{i}]")
        ]
    if isinstance(schema, MapOf):
        if not isinstance(value, dict):
            return [f"{path}: expected object, got {value!r}"]
        return [p for k, item in value.items() for p in validate(item, schema.item, f"{path}.{k}")]
    assert isinstance(schema, Struct), schema
    if not isinstance(value, dict):
        return [f"{path}: expected {schema.name} object, got {value!r}"]
    problems = [
        f"{path}.{k}: unknown field of {schema.name}" for k in value if k not in schema.fields
    ]
    for name, ftype in schema.fields.items():
        where = f"{path}.{name}"
        if isinstance(ftype, Opt):
            if name not in value:
                continue
            if value[name] is None:
                problems.append(
                    f"{where}: optional field sent as null (unset fields are omitted, §1)"
                )
                continue
            problems += validate(value[name], ftype.type, where)
        elif name not in value:
            problems.append(f"{where}: required field of {schema.name} missing")
        else:
            problems += validate(value[name], ftype, where)
    if schema.rule is not None and not problems:
        problems += [f"{path}: {p}" for p in schema.rule(value)]
    return problems


# --- routing raw answers to the table -------------------------------------------------------

SW = "/api/vcenter/namespace-management/software/supervisors"
ID = r"[^/?]+"
#: (method, path regex, action, success status, schema) — schema None: no body; STR: a JSON string
ROUTES: list[tuple[str, str, str | None, int, Any]] = [
    ("POST", r"/api/session", None, 201, STR),
    ("GET", r"/api/session", None, 200, SESSION_INFO),
    ("DELETE", r"/api/session", None, 204, None),
    ("GET", r"/api/vcenter/namespace-management/supervisors/summaries", None, 200, SUMMARY_LIST),
    (
        "GET",
        rf"/api/vcenter/namespace-management/supervisors/{ID}/summary",
        None,
        200,
        SUMMARY_INFO,
    ),
    ("GET", rf"{SW}/upgrades", None, 200, UPGRADES_LIST),
    ("POST", rf"{SW}/upgrades/jobs/{ID}", None, 201, STR),
    ("GET", rf"{SW}/upgrades/{ID}", None, 200, UPGRADES_INFO),
    ("GET", rf"{SW}/versions", None, 200, VERSIONS_LIST),
    ("GET", rf"{SW}/versions/{ID}", None, 200, VERSIONS_INFO),
    ("POST", rf"{SW}/versions/{ID}", "check-compatibility", 200, COMPATIBILITY_INFO),
    ("POST", rf"{SW}/{ID}/prechecks", "run", 204, None),
    ("GET", rf"{SW}/{ID}/prechecks", None, 200, PRECHECKS_INFO),
    ("GET", r"/api/cis/tasks", None, 200, MapOf(TASK_INFO)),
    ("POST", r"/api/cis/tasks", "list", 200, MapOf(TASK_INFO)),
    ("GET", rf"/api/cis/tasks/{ID}", None, 200, TASK_INFO),
    ("POST", rf"/api/cis/tasks/{ID}", "cancel", 204, None),
]


def _route(method: str, url: str) -> tuple[int, Any] | None:
    parts = urlsplit(url)
    action = parse_qs(parts.query).get("action", [None])[0]
    for route_method, pattern, route_action, status, schema in ROUTES:
        if method != route_method or re.fullmatch(pattern, parts.path) is None:
            continue
        # Tasks.cancel: the SDK omits ?action=cancel (§8.8)
        if route_action == action or (route_action == "cancel" and action is None):
            return status, schema
    return None


def _is_json(content_type: str | None) -> bool:
    if content_type is None:
        return False
    media = content_type.split(";")[0].strip().lower()
    return media == "application/json"


def check_answer(
    method: str, url: str, status: int, content_type: str | None, body: bytes
) -> list[str]:
    """Every contract problem of one raw answer (vcenter-api.md §1, §2 and the schema table)."""
    route = _route(method, url)
    if route is None:
        return [f"no operation of the contract matches {method} {urlsplit(url).path}"]
    expected_status, schema = route
    problems: list[str] = []
    if body and not _is_json(content_type):
        problems.append(f"Content-Type {content_type!r} on a body, expected application/json")
    if 200 <= status < 300:
        if status != expected_status:
            problems.append(f"success status {status}, expected {expected_status} (§1)")
        if schema is None:
            if body:
                problems.append(f"void operation answered with a body {body[:80]!r}")
            return problems
        schema_to_use = schema
    else:
        schema_to_use = ERROR_BODY
    try:
        value = json.loads(body)
    except ValueError:
        return [*problems, f"body is not JSON: {body[:80]!r}"]
    problems += validate(value, schema_to_use)
    if schema_to_use is ERROR_BODY and isinstance(value, dict):
        kind = value.get("error_type")
        if kind in ERROR_STATUS and ERROR_STATUS[kind] != status:
            problems.append(f"error_type {kind} with HTTP {status}, expected {ERROR_STATUS[kind]}")
    return problems


__all__ = [
    "SESSION_HEADER",
    "Answer",
    "Jobs",
    "Prechecks",
    "SimThread",
    "Summary",
    "Tasks",
    "Upgrades",
    "VapiError",
    "VendorClient",
    "Versions",
    "Wire",
    "check_answer",
    "error_type_of",
    "validate",
    "wait_for",
]
