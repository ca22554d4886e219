"""Wire fidelity of the simulator, proven with the vendor's own Python SDK (docs/wire.md §8).

The simulator runs in a background thread (its own event loop) for the whole module and is
driven over HTTPS on 127.0.0.1 by the vendor's 9.1.1.0 bindings switched to plain-JSON
REST (``tests/sim/sdk_harness.py``). Every operation must deserialise without error through
a whole upgrade lifecycle, every documented error must arrive with its ``error_type`` and
HTTP status, and every raw answer is also checked strictly against docs/wire.md
(``tests/sim/sdk_contract.py``, ``sdk_schema.py``, ``sdk_types.py``; the checker's own tests
come first), since the SDK lets unknown fields, unknown enum values and wrong JSON types slip
(§8.6). Each test uses its own Supervisor, so the order of the tests does not matter.
"""

from __future__ import annotations

import copy
import json
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import pytest

from tests.sim.sdk_contract import check_answer, check_body
from tests.sim.sdk_harness import (
    Jobs,
    Prechecks,
    SdkClient,
    Summary,
    Tasks,
    Upgrades,
    VapiError,
    Versions,
    WireLog,
    error_of,
    serve_in_thread,
    wait_until,
)
from tests.sim.sdk_schema import COMPATIBILITY_INFO, ERROR_BODY, TASK_INFO, UPGRADES_INFO
from tests.simthread import SimThread

pytestmark = [
    pytest.mark.timeout(30),
    # The 9.1 bindings warn when they touch types deprecated in 9.1 (Clusters.*), which the
    # contract's Clusters.Condition lives next to; that is the vendor's business, not ours.
    pytest.mark.filterwarnings(
        "ignore:.* is deprecated as of release vSphere API:DeprecationWarning"
    ),
]

ADMIN = ("administrator@vsphere.local", "sim-password")
VIEWER = ("viewer@vsphere.local", "viewer-password")
SW = "/api/vcenter/namespace-management/software/supervisors"
JOB_SERVICE = "com.vmware.vcenter.namespace_management.software.supervisors.upgrades.jobs"
SUPERVISOR_TYPE = "com.vmware.vcenter.namespace_management.supervisor.Supervisor"

# 100 simulated seconds per real second: "60s" of prechecks take 0.6 s, "2m" of upgrade 1.2 s.
SCENARIO = """
[sim]
seed = 11
speed = 100.0

[[users]]
username = "administrator@vsphere.local"
password = "sim-password"
privileges = ["Namespaces.Upgrade"]

[[users]]
username = "viewer@vsphere.local"
password = "viewer-password"
privileges = []

[[vcenters]]
name = "vc"

[[vcenters.supervisors]]
id = "sv-idle"
name = "sv-idle-01"

[[vcenters.supervisors]]
id = "sv-happy"
control_plane_nodes = 3
precheck_duration = "60s"
upgrade_duration = "2m"
prechecks = [{ severity = "INFO", id = "net.ok", text = "The network is fine" }]

[[vcenters.supervisors]]
id = "sv-blocked"
precheck_duration = "20s"
prechecks = [{ severity = "ERROR", id = "tkc.compat", text = "TKC blue is not compatible" }]

[[vcenters.supervisors]]
id = "sv-ended"
precheck_duration = "1s"
prechecks = [{ severity = "ERROR", id = "disk.space", text = "Not enough disk space" }]

[[vcenters.supervisors]]
id = "sv-failing"
precheck_duration = "10s"
upgrade_duration = "1m"
fail_at_percent = 50

[[vcenters.supervisors]]
id = "sv-cancel"
precheck_duration = "1h"

[[vcenters.supervisors]]
id = "sv-busy"
precheck_duration = "1s"
upgrade_duration = "10h"

[[vcenters.supervisors]]
id = "sv-prechecks"
available_versions = ["9.1.0", "9.2.0"]
precheck_duration = "30s"
prechecks = [{ severity = "WARNING", id = "tkc.compat", text = "TKC blue may not be compatible" }]

[[vcenters.supervisors]]
id = "sv-prechecked"
available_versions = ["9.1.0", "9.2.0"]
precheck_duration = "1s"

[[vcenters.supervisors]]
id = "sv-warned"
precheck_duration = "10s"
upgrade_duration = "30s"
prechecks = [{ severity = "WARNING", id = "tkc.compat", text = "TKC blue may not be compatible" }]

[[vcenters.supervisors]]
id = "sv-warned-ignored"
precheck_duration = "10s"
upgrade_duration = "30s"
prechecks = [{ severity = "WARNING", id = "tkc.compat", text = "TKC blue may not be compatible" }]

[[vcenters.supervisors]]
id = "sv-unsupported"
unsupported = true

[[vcenters.supervisors]]
id = "sv-latest"
current_version = "9.1.0"
available_versions = []

[[vcenters.supervisors]]
id = "sv-configuring"
health_before = "CONFIGURING"

[[vcenters.supervisors]]
id = "sv-unhealthy"
health_before = "ERROR"

[[vcenters.supervisors]]
id = "sv-was-failed"
start_state = "ERROR"

[[vcenters]]
name = "vc-limited"
faults = { max_sessions = 1 }

[[vcenters.supervisors]]
id = "supervisor-1"

[[vcenters]]
name = "vc-odd"
faults = { clock_skew = "-2m", omit_upgrade_prechecks = true }

[[vcenters.supervisors]]
id = "sv-elsewhere"
precheck_duration = "1s"
upgrade_duration = "10h"
in_progress_to = "9.1.0"

[[vcenters.supervisors]]
id = "sv-omitted"
precheck_duration = "1s"
prechecks = [{ severity = "WARNING", id = "tkc.compat", text = "TKC blue may not be compatible" }]
"""


# --- fixtures -------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SimThread]:
    """The scenario served for the whole module from a background thread."""
    with serve_in_thread(SCENARIO, tmp_path_factory.mktemp("sdk-sim")) as running:
        yield running


Connect = Callable[..., SdkClient]


@pytest.fixture
def wire() -> Iterator[WireLog]:
    """The raw answers of one test; those after its last check are checked at teardown."""
    log = WireLog()
    yield log
    log.assert_clean()


@contextmanager
def open_clients(served: SimThread, wire: WireLog) -> Iterator[Connect]:
    """A factory of SDK clients recording into ``wire``; every client is closed on exit."""
    clients: list[SdkClient] = []

    def connect(vcenter: str = "vc", user: tuple[str, str] | None = ADMIN) -> SdkClient:
        ca_file = served.sim.ca_file
        assert ca_file is not None
        client = SdkClient(served.sim.vcenter_urls[vcenter], ca_file, wire)
        clients.append(client)
        if user is not None:
            client.login(*user)
        return client

    try:
        yield connect
    finally:
        for client in clients:
            client.close()


@pytest.fixture
def connect(served: SimThread, wire: WireLog) -> Iterator[Connect]:
    """SDK clients of the served vCenters, logged in (user=None: no session); closed after."""
    with open_clients(served, wire) as factory:
        yield factory


@pytest.fixture
def admin(connect: Connect) -> SdkClient:
    """An SDK client of ``vc`` logged in as the administrator."""
    return connect()


@pytest.fixture(scope="module")
def module_wire() -> Iterator[WireLog]:
    """The raw answers of module-scoped set-ups, checked when the module ends."""
    log = WireLog()
    yield log
    log.assert_clean()


@pytest.fixture(scope="module")
def busy_task(served: SimThread, module_wire: WireLog) -> str:
    """The task of ``sv-busy``'s upgrade, past its prechecks (no longer cancelable)."""
    with open_clients(served, module_wire) as connect:
        client = connect()
        task = client.jobs.create("sv-busy", Jobs.CreateSpec(desired_version="9.1.0"))
        wait_until(lambda: client.tasks.get(task), lambda info: not info.cancelable)
    module_wire.assert_clean()
    return str(task)


@pytest.fixture(scope="module")
def ended_task(served: SimThread, module_wire: WireLog) -> str:
    """The task of ``sv-ended``'s upgrade, FAILED by a precheck error."""
    with open_clients(served, module_wire) as connect:
        client = connect()
        task = client.jobs.create("sv-ended", Jobs.CreateSpec(desired_version="9.1.0"))
        wait_until(lambda: client.tasks.get(task), lambda info: task_status(info) == "FAILED")
    module_wire.assert_clean()
    return str(task)


@pytest.fixture(scope="module")
def prechecked(served: SimThread, module_wire: WireLog) -> str:
    """``sv-prechecked`` after its prechecks for 9.1.0 (only) have finished."""
    with open_clients(served, module_wire) as connect:
        client = connect()
        spec = Prechecks.PrecheckSpec(target_version="9.1.0")
        client.prechecks.run("sv-prechecked", spec)
        only = Prechecks.FilterSpec(target_version="9.1.0")
        wait_until(
            lambda: client.prechecks.get("sv-prechecked", only),
            lambda info: str(info.precheck_results[0].status) != "RUNNING",
        )
    module_wire.assert_clean()
    return "sv-prechecked"


def raw_json(wire: WireLog) -> Any:
    """The JSON body of the latest answer."""
    return json.loads(wire.last().body)


def task_status(info: Any) -> str:
    """A task Info's status as a string."""
    return str(info.status)


# --- the checker itself ---------------------------------------------------------------------

MESSAGE = {"id": "m.id", "default_message": "Text.", "args": []}
GOOD_INFO: dict[str, Any] = {
    "current_version": "9.0.0",
    "available_versions": ["9.1.0"],
    "messages": [],
    "state": "INPROGRESS",
    "upgrade_status": {
        "desired_version": "9.1.0",
        "messages": [{"severity": "INFO", "details": MESSAGE}],
        "progress": {"total": 3, "completed": 40, "message": MESSAGE},
        "components": [
            {
                "type": "ControlPlaneNodeUpgraded",
                "description": MESSAGE,
                "status": "TRUE",
                "reason": "",
                "severity": "INFO",
                "messages": [],
                "last_transition_time": "2026-11-26T22:00:00.000Z",
            }
        ],
    },
}
GOOD_TASK: dict[str, Any] = {
    "description": MESSAGE,
    "service": JOB_SERVICE,
    "operation": "create",
    "status": "FAILED",
    "cancelable": False,
    "start_time": "2026-11-26T22:00:00.000Z",
    "end_time": "2026-11-26T22:20:00.123Z",
    "progress": {"total": 100, "completed": 60, "message": MESSAGE},
    "error": {"error_type": "ERROR", "messages": [MESSAGE]},
}


def _with(base: dict[str, Any], path: str, value: Any) -> dict[str, Any]:
    """A deep copy of ``base`` with the dotted ``path`` set (``...`` deletes the key)."""
    result = copy.deepcopy(base)
    *parents, last = path.split(".")
    node: Any = result
    for part in parents:
        node = node[int(part)] if part.isdigit() else node[part]
    if value is ...:
        del node[last]
    else:
        node[last] = value
    return result


@pytest.mark.parametrize(
    ("spec", "body"),
    [
        pytest.param(UPGRADES_INFO, GOOD_INFO, id="upgrades-info"),
        pytest.param(TASK_INFO, GOOD_TASK, id="failed-task"),
        pytest.param(
            COMPATIBILITY_INFO,
            {
                "version": "9.1.0",
                "name": "n",
                "description": "d",
                "release_date": "2026-02-14T00:00:00.000Z",
                "release_notes": "r",
                "image_source_specs": [{"source_type": "CONTENT_LIBRARY", "library": "lib-1"}],
                "compatibility": "INCOMPATIBLE",
                "incompatibility_reasons": [MESSAGE],
            },
            id="incompatible",
        ),
    ],
)
def test_checker_accepts_conformant_bodies(spec: Any, body: Any) -> None:
    """The checker finds nothing wrong in bodies that follow the contract."""
    assert check_body(spec, body) == []


@pytest.mark.parametrize(
    ("spec", "base", "path", "value", "expected"),
    [
        (UPGRADES_INFO, GOOD_INFO, "surprise", 1, "unknown field 'surprise'"),
        (UPGRADES_INFO, GOOD_INFO, "upgrade_status.progress.extra", "x", "unknown field 'extra'"),
        (UPGRADES_INFO, GOOD_INFO, "state", "RUNNING", "'RUNNING' is not a Upgrades.State"),
        (UPGRADES_INFO, GOOD_INFO, "state", "ready", "'ready' is not a Upgrades.State"),
        (UPGRADES_INFO, GOOD_INFO, "upgrade_status.progress.total", "3", "expected a JSON integer"),
        (UPGRADES_INFO, GOOD_INFO, "upgrade_status.progress.total", 3.0, "expected a JSON integer"),
        (
            UPGRADES_INFO,
            GOOD_INFO,
            "upgrade_status.progress.total",
            True,
            "expected a JSON integer",
        ),
        (TASK_INFO, GOOD_TASK, "cancelable", "false", "expected a JSON boolean"),
        (TASK_INFO, GOOD_TASK, "cancelable", 0, "expected a JSON boolean"),
        (
            UPGRADES_INFO,
            GOOD_INFO,
            "current_version",
            None,
            "required field of Upgrades.Info is null",
        ),
        (UPGRADES_INFO, GOOD_INFO, "messages", ..., "required field of Upgrades.Info is missing"),
        (
            UPGRADES_INFO,
            GOOD_INFO,
            "upgrade_status.messages.0.details.args",
            ...,
            "details.args: required field of LocalizableMessage is missing",
        ),
        (UPGRADES_INFO, GOOD_INFO, "last_upgraded_date", None, "sent as null"),
        (TASK_INFO, GOOD_TASK, "end_time", "2026-11-26T22:20:00Z", "not YYYY-MM-DDTHH:MM:SS.mmmZ"),
        (TASK_INFO, GOOD_TASK, "end_time", "2026-11-26T22:20:00.000+00:00", "not YYYY-MM-DD"),
        (TASK_INFO, GOOD_TASK, "end_time", "2026-11-26 22:20:00.000Z", "not YYYY-MM-DD"),
        (TASK_INFO, GOOD_TASK, "end_time", "2026-11-26t22:20:00.000z", "not YYYY-MM-DD"),
        (TASK_INFO, GOOD_TASK, "end_time", "2026-11-26T22:20:00.000000Z", "not YYYY-MM-DD"),
        (TASK_INFO, GOOD_TASK, "end_time", "2026-13-40T22:20:00.000Z", "not a valid calendar"),
        (TASK_INFO, GOOD_TASK, "end_time", 1764194400, "expected a date-time string"),
        (
            TASK_INFO,
            GOOD_TASK,
            "status",
            "RUNNING",
            "'end_time' is not allowed when status is RUNNING",
        ),
        (
            TASK_INFO,
            GOOD_TASK,
            "status",
            "PENDING",
            "'progress' is not allowed when status is PENDING",
        ),
        (TASK_INFO, GOOD_TASK, "start_time", ..., "'start_time' is required when status is FAILED"),
        (TASK_INFO, GOOD_TASK, "error.error_type", "OOPS", "'OOPS' is not a Error.Type"),
        (UPGRADES_INFO, GOOD_INFO, "state", "READY", "'upgrade_status' is set only while"),
    ],
    ids=lambda value: value if isinstance(value, str) and " " not in value else None,
)
def test_checker_rejects_body(
    spec: Any, base: dict[str, Any], path: str, value: Any, expected: str
) -> None:
    """The checker flags unknown fields and enums, wrong JSON types, nulls, bad date-times, unions."""
    problems = check_body(spec, _with(base, path, value))
    assert any(expected in problem for problem in problems), problems


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (
            {"compatibility": "INCOMPATIBLE", "capabilities": []},
            "'incompatibility_reasons' is required",
        ),
        (
            {"compatibility": "COMPATIBLE", "incompatibility_reasons": [MESSAGE]},
            "'capabilities' is required",
        ),
        (
            {
                "compatibility": "COMPATIBLE",
                "capabilities": [{"name": "x", "status": "SUPPORTED"}],
                "image_source_specs": [{"source_type": "EMBEDDED", "library": "lib-1"}],
            },
            "'library' is allowed only with source_type CONTENT_LIBRARY",
        ),
    ],
)
def test_checker_rejects_compatibility_union(value: dict[str, Any], expected: str) -> None:
    """CompatibilityInfo and ImageSourceSpec union rules are enforced."""
    body = {
        "version": "9.1.0",
        "name": "n",
        "description": "d",
        "release_date": "2026-02-14T00:00:00.000Z",
        "release_notes": "r",
        "image_source_specs": [],
        **value,
    }
    problems = check_body(COMPATIBILITY_INFO, body)
    assert any(expected in problem for problem in problems), problems


JSON = {"Content-Type": "application/json"}
NOT_FOUND = b'{"error_type":"NOT_FOUND","messages":[]}'


@pytest.mark.parametrize(
    ("method", "path", "status", "headers", "body", "expected"),
    [
        ("GET", f"{SW}/upgrades/x", 404, {"Content-Type": "text/plain"}, NOT_FOUND, "Content-Type"),
        ("GET", f"{SW}/upgrades/x", 400, JSON, NOT_FOUND, "must come with HTTP 404"),
        (
            "GET",
            f"{SW}/upgrades/x",
            404,
            JSON,
            b'{"error_type":"NOT_FOUND","messages":[],"challenge":"Basic"}',
            "'challenge' is only sent",
        ),
        (
            "GET",
            f"{SW}/upgrades/x",
            400,
            JSON,
            b'{"error_type":"NOT_ALLOWED_IN_CURRENT_STATE","messages":[]}',
            "does not declare error NOT_ALLOWED_IN_CURRENT_STATE",
        ),
        ("GET", f"{SW}/upgrades/x", 404, JSON, b'{"messages":[]}', "$.error_type: required"),
        (
            "GET",
            f"{SW}/upgrades/x",
            404,
            JSON,
            b'{"error_type":"NOT_FOUND"}',
            "$.messages: required",
        ),
        ("GET", f"{SW}/upgrades/x", 200, JSON, b'{"value":{}}', "unknown field 'value'"),
        ("POST", f"{SW}/x/prechecks?action=run", 204, {}, b"null", "void operation answered"),
        ("POST", f"{SW}/upgrades/jobs/x", 200, JSON, b'"task-1"', "success status 200"),
        ("POST", "/api/session", 201, JSON, b'"a b"', "outside [A-Za-z0-9._:-]"),
        ("POST", "/api/session", 201, {**JSON, "Set-Cookie": "x=1"}, b'"t"', "Set-Cookie"),
        ("GET", f"{SW}/upgrades/x", 200, JSON, b"{", "body is not JSON"),
        ("GET", "/api/vcenter/elsewhere", 200, JSON, b"{}", "no operation of the contract"),
    ],
)
def test_checker_rejects_answer(
    method: str, path: str, status: int, headers: dict[str, str], body: bytes, expected: str
) -> None:
    """Transport and error rules: Content-Type, error status map, challenge, declared kinds."""
    problems = check_answer(method, "https://127.0.0.1:1" + path, status, headers, body)
    assert any(expected in problem for problem in problems), problems


def test_checker_accepts_error_answer() -> None:
    """A §2.1 error with its §2.2 status and a challenge on 401 passes."""
    body = (
        b'{"error_type":"UNAUTHENTICATED","challenge":"Basic realm=\\"vCenter\\"",'
        b'"messages":[{"id":"com.vmware.vapi.endpoint.method.authentication.required",'
        b'"default_message":"Authentication required.","args":[]}]}'
    )
    headers = {"Content-Type": "application/json; charset=utf-8"}
    assert check_answer("GET", "https://h/api/session", 401, headers, body) == []
    assert check_body(ERROR_BODY, {"error_type": "ERROR", "messages": [MESSAGE]}) == []


def test_wire_log_checks_every_answer(admin: SdkClient, wire: WireLog) -> None:
    """The response hook records each answer and flags one outside the contract."""
    admin.upgrades.get("sv-idle")
    assert wire.take_problems() == []
    outside = admin.http.get(admin.api_url + "/vcenter/namespace-management/no-such-thing")
    assert wire.last().status == outside.status_code
    problems = wire.take_problems()
    assert len(problems) == 1
    assert "no operation of the contract is addressed like this" in problems[0]
    wire.assert_clean()


# --- every operation deserialises -----------------------------------------------------------


def test_session_create_get_delete(connect: Connect, wire: WireLog) -> None:
    """Session create/get/delete deserialise, and a deleted session is refused with 401."""
    client = connect(user=None)
    token = client.login(*ADMIN)
    info = client.session.get()
    assert isinstance(info.created_time, datetime)
    assert isinstance(info.last_accessed_time, datetime)
    assert info.user
    assert client.session.delete() is None
    assert wire.last().status == 204
    with pytest.raises(VapiError) as caught:
        client.session.get()
    assert error_of(caught.value) == ("UNAUTHENTICATED", 401)
    assert token
    wire.assert_clean()


def test_summary_list_and_get(admin: SdkClient, wire: WireLog) -> None:
    """Summary list and get deserialise for every Supervisor, with the APIEndpoint key."""
    listed = admin.summary.list()
    by_id = {item.supervisor: item.info for item in listed.items}
    assert {"sv-idle", "sv-happy", "sv-busy"} <= set(by_id)
    assert by_id["sv-idle"].name == "sv-idle-01"
    info = admin.summary.get("sv-idle")
    assert info.name == "sv-idle-01"
    assert str(info.config_status) in {"CONFIGURING", "REMOVING", "RUNNING", "ERROR"}
    assert isinstance(info.stats.cpu_capacity, int)
    wire.assert_clean()


@pytest.mark.parametrize(
    ("supervisor", "config", "kubernetes", "messages"),
    [
        ("sv-idle", "RUNNING", "READY", None),
        (
            "sv-configuring",
            "CONFIGURING",
            "WARNING",
            [("vcenter.wcp.health.configuring", "WARNING")],
        ),
        ("sv-unhealthy", "ERROR", "ERROR", [("vcenter.wcp.health.error", "ERROR")]),
        ("sv-was-failed", "ERROR", "ERROR", [("vcenter.wcp.upgrade.failed", "ERROR")]),
    ],
)
def test_summary_in_each_health_state(
    admin: SdkClient,
    wire: WireLog,
    supervisor: str,
    config: str,
    kubernetes: str,
    messages: list[tuple[str, str]] | None,
) -> None:
    """Summary.get deserialises in every health state, with its Summary.Message list."""
    info = admin.summary.get(supervisor)
    assert (str(info.config_status), str(info.kubernetes_status)) == (config, kubernetes)
    if messages is None:
        assert info.messages is None
    else:
        assert [(m.id, str(m.severity)) for m in info.messages] == messages
        assert all(m.details.default_message for m in info.messages)
    if supervisor == "sv-unhealthy":
        assert info.messages[0].kb_article_link.startswith("https://")
    wire.assert_clean()


def test_summary_list_filtered_by_health(admin: SdkClient, wire: WireLog) -> None:
    """Summary.list with a FilterSpec (GET body) selects by config and Kubernetes status."""
    errors = admin.summary.list(Summary.FilterSpec(config_status=Summary.ConfigStatus.ERROR))
    assert {"sv-unhealthy", "sv-was-failed"} <= {item.supervisor for item in errors.items}
    assert all(str(item.info.kubernetes_status) == "ERROR" for item in errors.items)
    warning = Summary.FilterSpec(kubernetes_status=Summary.KubernetesStatus.WARNING)
    configuring = admin.summary.list(warning)
    assert "sv-configuring" in {item.supervisor for item in configuring.items}
    assert all(str(item.info.config_status) == "CONFIGURING" for item in configuring.items)
    wire.assert_clean()


def test_upgrade_started_elsewhere_and_skewed_clock(connect: Connect, wire: WireLog) -> None:
    """Someone else's running upgrade and a vCenter 2 minutes behind deserialise."""
    odd = connect("vc-odd")
    info = odd.upgrades.get("sv-elsewhere")
    assert str(info.state) == "INPROGRESS"
    assert info.upgrade_status is not None
    assert info.upgrade_status.components is not None
    listed = odd.tasks.list(Tasks.FilterSpec(services={JOB_SERVICE}))
    [(task, running)] = [(t, i) for t, i in listed.items() if i.target.id == "sv-elsewhere"]
    assert (running.user, running.cancelable) == ("other-admin@vsphere.local", False)
    header = wire.last().headers["Date"]
    assert header.endswith(" GMT")
    assert running.start_time < datetime.strptime(header, "%a, %d %b %Y %H:%M:%S GMT")
    assert task
    wire.assert_clean()


def test_upgrade_info_without_upgrade_prechecks(connect: Connect, wire: WireLog) -> None:
    """omit_upgrade_prechecks: the verdict arrives only as Upgrades.Message severities."""
    odd = connect("vc-odd")
    task = odd.jobs.create("sv-omitted", Jobs.CreateSpec(desired_version="9.1.0"))
    wait_until(lambda: odd.tasks.get(task), lambda t: task_status(t) == "FAILED")
    info = odd.upgrades.get("sv-omitted")
    assert info.upgrade_prechecks is None
    assert [(str(m.severity), m.details.id) for m in info.messages] == [
        ("WARNING", "tkc.compat"),
        ("ERROR", "vcenter.wcp.upgrade.precheck.blocked"),
    ]
    wire.assert_clean()


def test_upgrades_list_with_and_without_filter(admin: SdkClient, wire: WireLog) -> None:
    """Upgrades.list deserialises unfiltered and filtered (unknown ids are simply absent)."""
    every = admin.upgrades.list()
    assert {"sv-idle", "sv-latest"} <= {s.supervisor for s in every.supervisors}
    spec = Upgrades.FilterSpec(supervisors={"sv-idle", "sv-latest", "sv-nowhere"})
    some = admin.upgrades.list(spec)
    assert sorted(s.supervisor for s in some.supervisors) == ["sv-idle", "sv-latest"]
    latest = next(s for s in some.supervisors if s.supervisor == "sv-latest")
    assert latest.available_versions == []
    wire.assert_clean()


def test_upgrades_get_idle(admin: SdkClient, wire: WireLog) -> None:
    """An idle Supervisor: READY, no upgrade_status, no desired version, messages []."""
    info = admin.upgrades.get("sv-idle")
    assert str(info.state) == "READY"
    assert info.upgrade_status is None
    assert info.messages == []
    assert info.current_version == "9.0.0"
    assert info.available_versions == ["9.1.0"]
    wire.assert_clean()


def test_versions_list_get_check_compatibility(admin: SdkClient, wire: WireLog) -> None:
    """Versions list (with and without filter), get and check_compatibility deserialise."""
    listed = {v.version for v in admin.versions.list().supervisor_versions}
    assert "9.1.0" in listed
    filtered = admin.versions.list(
        Versions.FilterSpec(network_provider=Versions.NetworkProvider.VSPHERE_NETWORK)
    )
    assert all(v.version for v in filtered.supervisor_versions)
    info = admin.versions.get("9.1.0")
    assert info.version == "9.1.0"
    assert isinstance(info.release_date, datetime)
    checked = admin.versions.check_compatibility(
        "9.1.0", Versions.CheckCompatibilitySpec(supervisor="sv-idle")
    )
    assert str(checked.compatibility) in {"COMPATIBLE", "COMPATIBLE_AND_DEGRADED", "INCOMPATIBLE"}
    unchecked = admin.versions.check_compatibility("9.1.0")
    assert unchecked.version == "9.1.0"
    wire.assert_clean()


# --- whole lifecycles -----------------------------------------------------------------------


def test_upgrade_lifecycle_succeeds(admin: SdkClient, wire: WireLog) -> None:
    """Create → prechecks → components → SUCCEEDED, read through every operation on the way."""
    task = admin.jobs.create("sv-happy", Jobs.CreateSpec(desired_version="9.1.0"))
    assert wire.last().status == 201
    assert task.endswith(":" + JOB_SERVICE)

    # Right after create: INPROGRESS, prechecks running, no components yet.
    info = admin.upgrades.get("sv-happy")
    assert str(info.state) == "INPROGRESS"
    assert info.upgrade_status is not None
    assert info.upgrade_status.desired_version == "9.1.0"
    assert info.upgrade_status.progress.total == 3
    assert info.upgrade_status.components is None
    assert info.upgrade_prechecks
    assert {str(c.status) for c in info.upgrade_prechecks} == {"UNKNOWN"}
    running = admin.tasks.get(task)
    assert task_status(running) == "RUNNING"
    assert running.cancelable is True
    assert running.target.type == SUPERVISOR_TYPE
    assert running.target.id == "sv-happy"
    summary = admin.upgrades.list(Upgrades.FilterSpec(supervisors={"sv-happy"})).supervisors
    assert [(s.supervisor, s.desired_version, str(s.state)) for s in summary] == [
        ("sv-happy", "9.1.0", "INPROGRESS")
    ]

    # Prechecks passed: the control-plane components appear and progress rises.
    upgrading = wait_until(
        lambda: admin.upgrades.get("sv-happy"),
        lambda i: i.upgrade_status is not None and i.upgrade_status.components is not None,
    )
    assert upgrading.upgrade_status is not None
    assert len(upgrading.upgrade_status.components) == 3
    assert {str(c.type) for c in upgrading.upgrade_status.components} == {
        "ControlPlaneNodeUpgraded"
    }
    listed = admin.tasks.list(Tasks.FilterSpec(tasks={task}))
    assert set(listed) == {task}
    assert task_status(listed[task]) in {"RUNNING", "SUCCEEDED"}
    by_service = admin.tasks.list(Tasks.FilterSpec(services={JOB_SERVICE}))
    assert task in by_service

    done = wait_until(lambda: admin.tasks.get(task), lambda t: task_status(t) == "SUCCEEDED")
    assert done.progress.completed == 100
    assert done.cancelable is False
    assert done.end_time >= done.start_time
    final = admin.upgrades.get("sv-happy")
    assert str(final.state) == "READY"
    assert final.current_version == "9.1.0"
    assert final.upgrade_status is None
    assert final.last_upgraded_date is not None
    assert "9.1.0" not in final.available_versions
    wire.assert_clean()


def test_upgrade_blocked_by_precheck_error(admin: SdkClient, wire: WireLog) -> None:
    """A precheck ERROR fails the task; Upgrades.get keeps the conditions and the verdict."""
    task = admin.jobs.create("sv-blocked", Jobs.CreateSpec(desired_version="9.1.0"))
    wait_until(lambda: admin.tasks.get(task), lambda t: task_status(t) == "FAILED")
    failed = admin.tasks.get(task, Tasks.GetSpec(return_all=True, exclude_result=False))
    assert failed.cancelable is False
    assert failed.end_time is not None
    error = raw_json(wire)["error"]
    assert error["error_type"] == "ERROR"
    assert [m["id"] for m in error["messages"]] == ["vcenter.wcp.upgrade.precheck.blocked"]

    info = admin.upgrades.get("sv-blocked")
    assert str(info.state) == "READY"
    assert info.current_version == "9.0.0"
    assert info.upgrade_status is None
    assert info.upgrade_prechecks
    blocking = [c for c in info.upgrade_prechecks if str(c.status) == "FALSE"]
    assert [(str(c.severity), c.last_transition_time is not None) for c in blocking] == [
        ("ERROR", True)
    ]
    ids = [m.details.id for m in info.messages]
    assert "vcenter.wcp.upgrade.precheck.blocked" in ids
    assert "ERROR" in {str(m.severity) for m in info.messages}
    wire.assert_clean()


@pytest.mark.parametrize(
    ("supervisor", "ignore", "outcome"),
    [
        ("sv-warned", False, "FAILED"),
        ("sv-warned-ignored", True, "SUCCEEDED"),
    ],
)
def test_precheck_warnings_block_unless_ignored(
    admin: SdkClient, wire: WireLog, supervisor: str, ignore: bool, outcome: str
) -> None:
    """A WARNING precheck blocks the job unless ignore_precheck_warnings is true."""
    spec = Jobs.CreateSpec(desired_version="9.1.0", ignore_precheck_warnings=ignore)
    task = admin.jobs.create(supervisor, spec)
    assert wire.last().request_body == (
        f'{{"desired_version":"9.1.0","ignore_precheck_warnings":{str(ignore).lower()}}}'
    )
    ended = wait_until(
        lambda: admin.tasks.get(task), lambda t: task_status(t) in {"SUCCEEDED", "FAILED"}
    )
    assert task_status(ended) == outcome
    info = admin.upgrades.get(supervisor)
    assert str(info.state) == "READY"
    assert info.current_version == ("9.1.0" if ignore else "9.0.0")
    warned = [c for c in info.upgrade_prechecks if str(c.severity) == "WARNING"]
    assert [str(c.status) for c in warned] == ["FALSE"]
    wire.assert_clean()


def test_upgrade_fails_midway(admin: SdkClient, wire: WireLog) -> None:
    """fail_at_percent: the task FAILS with an ERROR and the Supervisor is left in ERROR."""
    task = admin.jobs.create("sv-failing", Jobs.CreateSpec(desired_version="9.1.0"))
    failed = wait_until(lambda: admin.tasks.get(task), lambda t: task_status(t) == "FAILED")
    assert raw_json(wire)["error"]["error_type"] == "ERROR"
    assert failed.progress.completed < 100
    info = admin.upgrades.get("sv-failing")
    assert str(info.state) == "ERROR"
    assert info.current_version == "9.0.0"
    assert info.upgrade_status is None
    assert "ERROR" in {str(m.severity) for m in info.messages}
    wire.assert_clean()


def test_cancel_during_prechecks(admin: SdkClient, wire: WireLog) -> None:
    """Tasks.cancel while prechecks run: 204, task FAILED with CANCELED, Supervisor READY."""
    task = admin.jobs.create("sv-cancel", Jobs.CreateSpec(desired_version="9.1.0"))
    assert admin.tasks.get(task).cancelable is True
    assert admin.tasks.cancel(task) is None
    assert wire.last().status == 204
    canceled = wait_until(lambda: admin.tasks.get(task), lambda t: task_status(t) == "FAILED")
    assert canceled.end_time is not None
    assert raw_json(wire)["error"]["error_type"] == "CANCELED"
    info = admin.upgrades.get("sv-cancel")
    assert str(info.state) == "READY"
    assert info.upgrade_status is None
    assert "vcenter.wcp.upgrade.canceled" in [m.details.id for m in info.messages]
    wire.assert_clean()


def test_prechecks_run_and_get(admin: SdkClient, wire: WireLog) -> None:
    """Prechecks.run answers 204; get shows RUNNING, then the final WARNING verdict."""
    spec = Prechecks.PrecheckSpec(target_version="9.1.0")
    assert admin.prechecks.run("sv-prechecks", spec) is None
    assert wire.last().status == 204
    only = Prechecks.FilterSpec(target_version="9.1.0")
    first = admin.prechecks.get("sv-prechecks", only)
    assert [(r.target_version, str(r.status)) for r in first.precheck_results] == [
        ("9.1.0", "RUNNING")
    ]
    final = wait_until(
        lambda: admin.prechecks.get("sv-prechecks", only),
        lambda i: str(i.precheck_results[0].status) != "RUNNING",
    )
    result = final.precheck_results[0]
    assert str(result.status) == "WARNING"
    assert "WARNING" in {str(c.severity) for c in result.conditions if str(c.status) == "FALSE"}
    unfiltered = admin.prechecks.get("sv-prechecks")
    assert "9.1.0" in {r.target_version for r in unfiltered.precheck_results}
    info = admin.upgrades.get("sv-prechecks")
    assert str(info.state) == "READY"
    assert info.upgrade_prechecks
    wire.assert_clean()


# --- every documented error -----------------------------------------------------------------


@dataclass(frozen=True)
class Context:
    """What an error case may use: clients and module-scoped jobs (fetched lazily)."""

    connect: Connect
    request: pytest.FixtureRequest

    def fixture(self, name: str) -> Any:
        """A module-scoped fixture, set up on first use."""
        return self.request.getfixturevalue(name)


def _bad_password(ctx: Context) -> object:
    return ctx.connect(user=None).create_session(ADMIN[0], "wrong-password")


def _unknown_user(ctx: Context) -> object:
    return ctx.connect(user=None).create_session("nobody@vsphere.local", "sim-password")


def _deleted_session(ctx: Context) -> object:
    client = ctx.connect()
    client.session.delete()
    return client.upgrades.list()


def _over_session_limit(ctx: Context) -> object:
    ctx.connect("vc-limited")
    return ctx.connect("vc-limited", user=None).create_session(*ADMIN)


def _prechecks_for_other_version(ctx: Context) -> object:
    only = Prechecks.FilterSpec(target_version="9.2.0")
    return ctx.connect().prechecks.get(ctx.fixture("prechecked"), only)


def _create(
    supervisor: str, version: str = "9.1.0", user: tuple[str, str] = ADMIN
) -> Callable[[Context], object]:
    def call(ctx: Context) -> object:
        spec = Jobs.CreateSpec(desired_version=version)
        return ctx.connect(user=user).jobs.create(supervisor, spec)

    return call


def _run_prechecks(supervisor: str, version: str = "9.1.0") -> Callable[[Context], object]:
    def call(ctx: Context) -> object:
        spec = Prechecks.PrecheckSpec(target_version=version)
        return ctx.connect().prechecks.run(supervisor, spec)

    return call


def _on_busy(call: Callable[[Context], object]) -> Callable[[Context], object]:
    def wrapped(ctx: Context) -> object:
        ctx.fixture("busy_task")
        return call(ctx)

    return wrapped


def _cancel_fixture_task(name: str) -> Callable[[Context], object]:
    def call(ctx: Context) -> object:
        return ctx.connect().tasks.cancel(ctx.fixture(name))

    return call


def _no_session(call: Callable[[SdkClient], object]) -> Callable[[Context], object]:
    return lambda ctx: call(ctx.connect(user=None))


def _admin(call: Callable[[SdkClient], object]) -> Callable[[Context], object]:
    return lambda ctx: call(ctx.connect())


ERROR_CASES = [
    # 401 UNAUTHENTICATED
    pytest.param(_bad_password, "UNAUTHENTICATED", 401, id="login-bad-password"),
    pytest.param(_unknown_user, "UNAUTHENTICATED", 401, id="login-unknown-user"),
    pytest.param(
        _no_session(lambda c: c.session.get()), "UNAUTHENTICATED", 401, id="session-get-no-session"
    ),
    pytest.param(
        _no_session(lambda c: c.session.delete()),
        "UNAUTHENTICATED",
        401,
        id="session-delete-no-session",
    ),
    pytest.param(
        _no_session(lambda c: c.upgrades.list()),
        "UNAUTHENTICATED",
        401,
        id="upgrades-list-no-session",
    ),
    pytest.param(
        _no_session(lambda c: c.summary.list()),
        "UNAUTHENTICATED",
        401,
        id="summary-list-no-session",
    ),
    pytest.param(
        _no_session(lambda c: c.tasks.get("t-1")), "UNAUTHENTICATED", 401, id="tasks-get-no-session"
    ),
    pytest.param(
        _no_session(lambda c: c.jobs.create("sv-idle", Jobs.CreateSpec(desired_version="9.1.0"))),
        "UNAUTHENTICATED",
        401,
        id="jobs-create-no-session",
    ),
    pytest.param(_deleted_session, "UNAUTHENTICATED", 401, id="deleted-session"),
    # 403 UNAUTHORIZED
    pytest.param(
        _create("sv-idle", user=VIEWER), "UNAUTHORIZED", 403, id="create-without-privilege"
    ),
    # 404 NOT_FOUND
    pytest.param(_create("sv-nowhere"), "NOT_FOUND", 404, id="create-unknown-supervisor"),
    pytest.param(
        _admin(lambda c: c.upgrades.get("sv-nowhere")), "NOT_FOUND", 404, id="upgrades-get-unknown"
    ),
    pytest.param(
        _admin(lambda c: c.summary.get("sv-nowhere")), "NOT_FOUND", 404, id="summary-get-unknown"
    ),
    pytest.param(
        _admin(lambda c: c.versions.get("0.0.1")), "NOT_FOUND", 404, id="versions-get-unknown"
    ),
    pytest.param(
        _admin(lambda c: c.versions.check_compatibility("0.0.1")),
        "NOT_FOUND",
        404,
        id="check-compatibility-unknown-version",
    ),
    pytest.param(
        _admin(lambda c: c.prechecks.get("sv-nowhere")),
        "NOT_FOUND",
        404,
        id="prechecks-get-unknown",
    ),
    pytest.param(
        _admin(lambda c: c.prechecks.get("sv-idle")), "NOT_FOUND", 404, id="prechecks-get-never-ran"
    ),
    pytest.param(
        _prechecks_for_other_version, "NOT_FOUND", 404, id="prechecks-get-no-results-for-version"
    ),
    pytest.param(
        _admin(lambda c: c.tasks.get("no-such-task")), "NOT_FOUND", 404, id="tasks-get-unknown"
    ),
    pytest.param(
        _admin(lambda c: c.tasks.cancel("no-such-task")),
        "NOT_FOUND",
        404,
        id="tasks-cancel-unknown",
    ),
    # 400 INVALID_ARGUMENT
    pytest.param(
        _create("sv-idle", version="9.9.9"),
        "INVALID_ARGUMENT",
        400,
        id="create-version-not-available",
    ),
    pytest.param(
        _run_prechecks("sv-idle", version="9.9.9"),
        "INVALID_ARGUMENT",
        400,
        id="prechecks-version-not-available",
    ),
    pytest.param(
        _admin(
            lambda c: c.versions.check_compatibility(
                "9.1.0", Versions.CheckCompatibilitySpec(supervisor="sv-idle", cluster="domain-c8")
            )
        ),
        "INVALID_ARGUMENT",
        400,
        id="check-compatibility-two-targets",
    ),
    # 400 UNSUPPORTED
    pytest.param(_create("sv-unsupported"), "UNSUPPORTED", 400, id="create-unsupported-supervisor"),
    pytest.param(_on_busy(_create("sv-busy")), "UNSUPPORTED", 400, id="create-while-in-progress"),
    pytest.param(
        _run_prechecks("sv-latest"), "UNSUPPORTED", 400, id="prechecks-no-upgrade-available"
    ),
    pytest.param(
        _cancel_fixture_task("busy_task"), "UNSUPPORTED", 400, id="cancel-after-prechecks"
    ),
    # 400 NOT_ALLOWED_IN_CURRENT_STATE
    pytest.param(
        _on_busy(_run_prechecks("sv-busy")),
        "NOT_ALLOWED_IN_CURRENT_STATE",
        400,
        id="prechecks-during-upgrade",
    ),
    pytest.param(
        _cancel_fixture_task("ended_task"),
        "NOT_ALLOWED_IN_CURRENT_STATE",
        400,
        id="cancel-finished-task",
    ),
    # 503 SERVICE_UNAVAILABLE
    pytest.param(_over_session_limit, "SERVICE_UNAVAILABLE", 503, id="login-over-max-sessions"),
]


@pytest.mark.parametrize(("call", "error_type", "status"), ERROR_CASES)
def test_documented_error(
    call: Callable[[Context], object],
    error_type: str,
    status: int,
    connect: Connect,
    wire: WireLog,
    request: pytest.FixtureRequest,
) -> None:
    """The SDK raises the documented error_type with its HTTP status; the raw body conforms."""
    with pytest.raises(VapiError) as caught:
        call(Context(connect, request))
    assert error_of(caught.value) == (error_type, status)
    answer = wire.last()
    assert answer.status == status
    assert raw_json(wire)["error_type"] == error_type
    wire.assert_clean()


def test_challenge_only_with_unauthenticated(connect: Connect, wire: WireLog) -> None:
    """The 401 of a call without session carries the §2.1 body with a Basic challenge."""
    client = connect(user=None)
    with pytest.raises(VapiError):
        client.session.get()
    body = raw_json(wire)
    assert body["error_type"] == "UNAUTHENTICATED"
    assert str(body.get("challenge", "")).startswith("Basic")
    wire.assert_clean()
