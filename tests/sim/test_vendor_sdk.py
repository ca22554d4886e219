"""The simulator driven by the vendor's own 9.1.1.0 bindings over REST in plain-JSON mode.

Every raw answer is captured by a ``requests`` response hook and checked strictly against
vcenter-api.md (``vendor_sdk_support.check_answer``), because the SDK itself lets unknown
fields, unknown enum values and wrong JSON types slip (§8.6).
"""

from __future__ import annotations

import json
import warnings
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import pytest

from tests.sim.vendor_sdk_support import (
    Answer,
    Jobs,
    Prechecks,
    Session,
    SimThread,
    Summary,
    Tasks,
    Upgrades,
    VapiError,
    VendorClient,
    Versions,
    Wire,
    check_answer,
    error_type_of,
    wait_for,
)

ADMIN, PASSWORD = "administrator@vsphere.local", "sim-password"
VIEWER, VIEWER_PASSWORD = "viewer@vsphere.local", "viewer-password"
TARGET = "9.1.0"
DEPRECATED = ".* is deprecated as of release vSphere API"

SCENARIO = f"""
[sim]
seed = 7
speed = 1000

[[users]]
username = "{ADMIN}"
password = "{PASSWORD}"
privileges = ["Namespaces.Upgrade"]

[[users]]
username = "{VIEWER}"
password = "{VIEWER_PASSWORD}"

[[vcenters]]
name = "vc-east"

[[vcenters.supervisors]]
id = "sv-ok"
name = "east-ok"
precheck_duration = "1m"
upgrade_duration = "20m"

[[vcenters.supervisors]]
id = "sv-block"
precheck_duration = "1m"
prechecks = [{{severity = "ERROR", id = "tkc.compat", text = "TKC 1.2 is not compatible"}}]

[[vcenters.supervisors]]
id = "sv-cancel"
precheck_duration = "10h"

[[vcenters.supervisors]]
id = "sv-pre"
precheck_duration = "1m"
prechecks = [{{severity = "WARNING", id = "tkc.compat", text = "TKC 1.2 is deprecated"}}]

[[vcenters.supervisors]]
id = "sv-idle"

[[vcenters.supervisors]]
id = "sv-unsupported"
unsupported = true

[[vcenters]]
name = "vc-west"

[[vcenters.supervisors]]
id = "sv-west"
"""


@dataclass
class Env:
    """The running simulator, the shared wire log and an admin client on vc-east."""

    sim: SimThread
    wire: Wire
    admin: VendorClient

    def client(self, vcenter: str = "vc-east") -> VendorClient:
        return VendorClient(self.sim.url(vcenter), self.sim.ca_file, self.wire)


@pytest.fixture(scope="module")
def env(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Env]:
    sim = SimThread(SCENARIO, tmp_path_factory.mktemp("vendor-sdk")).start()
    wire = Wire()
    admin = VendorClient(sim.url("vc-east"), sim.ca_file, wire)
    try:
        admin.login(ADMIN, PASSWORD)
        yield Env(sim, wire, admin)
    finally:
        admin.close()
        sim.close()


# --- 1. every operation through an upgrade lifecycle ---------------------------------------


@dataclass
class Outcome:
    """What one SDK call returned or raised, and the raw answers it caused."""

    value: Any = None
    error: BaseException | None = None
    answers: tuple[Answer, ...] = ()


#: operation name -> the type the SDK must return
LIFECYCLE: dict[str, Any] = {
    "Session.create": str,
    "Session.get": Session.Info,
    "Summary.list": Summary.ListResult,
    "Summary.get": Summary.Info,
    "Upgrades.list[idle]": Upgrades.ListResult,
    "Upgrades.get[idle]": Upgrades.Info,
    "Versions.list": Versions.ListResult,
    "Versions.get": Versions.Info,
    "Versions.check_compatibility[compatible]": Versions.CompatibilityInfo,
    "Versions.check_compatibility[incompatible]": Versions.CompatibilityInfo,
    "Prechecks.run": type(None),
    "Prechecks.get[running]": Prechecks.Info,
    "Prechecks.get[done]": Prechecks.Info,
    "Jobs.create": str,
    "Upgrades.get[in progress]": Upgrades.Info,
    "Upgrades.list[in progress]": Upgrades.ListResult,
    "Tasks.get[running]": object,
    "Tasks.list": dict,
    "Tasks.get[succeeded]": object,
    "Upgrades.get[after success]": Upgrades.Info,
    "Upgrades.list[after success]": Upgrades.ListResult,
    "Jobs.create[precheck ERROR]": str,
    "Tasks.get[failed]": object,
    "Upgrades.get[after precheck ERROR block]": Upgrades.Info,
    "Jobs.create[to cancel]": str,
    "Tasks.cancel": type(None),
    "Tasks.get[canceled]": object,
    "Upgrades.get[after cancel]": Upgrades.Info,
    "Session.delete": type(None),
}


@pytest.fixture(scope="module")
def lifecycle(env: Env) -> dict[str, Outcome]:
    """Run every operation once through an upgrade lifecycle, recording each outcome."""
    outcomes: dict[str, Outcome] = {}

    def call(name: str, function: Callable[[], Any]) -> Any:
        assert name in LIFECYCLE, name
        mark = env.wire.mark()
        outcome = Outcome()
        try:
            with warnings.catch_warnings():
                # reading Clusters.Condition touches the deprecated Clusters.ConfigStatus
                warnings.filterwarnings("ignore", DEPRECATED, DeprecationWarning)
                outcome.value = function()
        except Exception as exc:  # reported by the test of this operation
            outcome.error = exc
        outcome.answers = tuple(env.wire.since(mark))
        outcomes[name] = outcome
        return outcome.value

    client = env.client()
    try:
        call("Session.create", lambda: client.login(ADMIN, PASSWORD))
        call("Session.get", client.session.get)
        call("Summary.list", client.summary.list)
        call("Summary.get", lambda: client.summary.get("sv-ok"))
        call("Upgrades.list[idle]", client.upgrades.list)
        call("Upgrades.get[idle]", lambda: client.upgrades.get("sv-ok"))
        call("Versions.list", client.versions.list)
        call("Versions.get", lambda: client.versions.get(TARGET))
        call(
            "Versions.check_compatibility[compatible]",
            lambda: client.versions.check_compatibility(
                TARGET, Versions.CheckCompatibilitySpec(supervisor="sv-ok")
            ),
        )
        call(
            "Versions.check_compatibility[incompatible]",
            lambda: client.versions.check_compatibility(
                TARGET, Versions.CheckCompatibilitySpec(supervisor="sv-unsupported")
            ),
        )
        call(
            "Prechecks.run",
            lambda: client.prechecks.run("sv-pre", Prechecks.PrecheckSpec(target_version=TARGET)),
        )
        call("Prechecks.get[running]", lambda: client.prechecks.get("sv-pre"))
        call(
            "Prechecks.get[done]",
            lambda: wait_for(
                lambda: client.prechecks.get("sv-pre", Prechecks.FilterSpec(target_version=TARGET)),
                lambda info: all(str(r.status) != "RUNNING" for r in info.precheck_results or []),
            ),
        )
        task = call(
            "Jobs.create",
            lambda: client.jobs.create("sv-ok", Jobs.CreateSpec(desired_version=TARGET)),
        )
        call("Upgrades.get[in progress]", lambda: client.upgrades.get("sv-ok"))
        call(
            "Upgrades.list[in progress]",
            lambda: client.upgrades.list(Upgrades.FilterSpec(supervisors={"sv-ok"})),
        )
        call("Tasks.get[running]", lambda: client.tasks.get(task))
        call(
            "Tasks.list",
            lambda: client.tasks.list(Tasks.FilterSpec(tasks={task}), Tasks.GetSpec()),
        )
        call(
            "Tasks.get[succeeded]",
            lambda: wait_for(
                lambda: client.tasks.get(task), lambda info: str(info.status) == "SUCCEEDED"
            ),
        )
        call("Upgrades.get[after success]", lambda: client.upgrades.get("sv-ok"))
        call("Upgrades.list[after success]", client.upgrades.list)
        blocked = call(
            "Jobs.create[precheck ERROR]",
            lambda: client.jobs.create("sv-block", Jobs.CreateSpec(desired_version=TARGET)),
        )
        call(
            "Tasks.get[failed]",
            lambda: wait_for(
                lambda: client.tasks.get(blocked), lambda info: str(info.status) == "FAILED"
            ),
        )
        call("Upgrades.get[after precheck ERROR block]", lambda: client.upgrades.get("sv-block"))
        doomed = call(
            "Jobs.create[to cancel]",
            lambda: client.jobs.create("sv-cancel", Jobs.CreateSpec(desired_version=TARGET)),
        )
        call("Tasks.cancel", lambda: client.tasks.cancel(doomed))
        call(
            "Tasks.get[canceled]",
            lambda: wait_for(
                lambda: client.tasks.get(doomed), lambda info: str(info.status) == "FAILED"
            ),
        )
        call("Upgrades.get[after cancel]", lambda: client.upgrades.get("sv-cancel"))
        call("Session.delete", client.session.delete)
    finally:
        client.close()
    outcomes["_task"] = Outcome(value=task)
    return outcomes


def _clean(answers: tuple[Answer, ...] | list[Answer]) -> None:
    problems = Wire.problems(list(answers))
    assert problems == [], "answers violating vcenter-api.md:\n" + "\n".join(problems)


@pytest.mark.parametrize("operation", list(LIFECYCLE))
def test_operation_deserialises(lifecycle: dict[str, Outcome], operation: str) -> None:
    """The SDK reads the answer of each operation without error, and the raw answer conforms."""
    outcome = lifecycle[operation]
    assert outcome.error is None, f"{operation} raised {outcome.error!r}"
    assert isinstance(outcome.value, LIFECYCLE[operation])
    assert outcome.answers, "no answer captured"
    _clean(outcome.answers)


def test_lifecycle_reads_as_documented(lifecycle: dict[str, Outcome]) -> None:
    """The deserialised values follow the state machine of §9."""
    idle = lifecycle["Upgrades.get[idle]"].value
    assert (str(idle.state), idle.upgrade_status) == ("READY", None)
    running = lifecycle["Upgrades.get[in progress]"].value
    assert str(running.state) == "INPROGRESS"
    assert running.upgrade_status.desired_version == TARGET
    assert running.upgrade_status.progress.total == 3
    done = lifecycle["Upgrades.get[after success]"].value
    assert (str(done.state), done.current_version) == ("READY", TARGET)
    assert done.last_upgraded_date is not None
    blocked = lifecycle["Upgrades.get[after precheck ERROR block]"].value
    assert str(blocked.state) == "READY"
    assert blocked.messages[-1].details.id == "vcenter.wcp.upgrade.precheck.blocked"
    assert any(
        str(c.status) == "FALSE" and str(c.severity) == "ERROR" for c in blocked.upgrade_prechecks
    )
    succeeded = lifecycle["Tasks.get[succeeded]"].value
    assert (succeeded.progress.completed, succeeded.cancelable) == (100, False)
    task = lifecycle["_task"].value
    assert set(lifecycle["Tasks.list"].value) == {task}
    canceled = lifecycle["Tasks.get[canceled]"].value.error.to_dict()
    assert canceled["error_type"] == "CANCELED"
    compat = lifecycle["Versions.check_compatibility[incompatible]"].value
    assert str(compat.compatibility) == "INCOMPATIBLE"


# --- 2. documented errors -----------------------------------------------------------------


def _bad_password(env: Env, lifecycle: dict[str, Outcome]) -> Any:
    client = env.client()
    try:
        return client.create_session(ADMIN, "wrong-password")
    finally:
        client.close()


def _no_privilege(env: Env, lifecycle: dict[str, Outcome]) -> Any:
    client = env.client()
    try:
        client.login(VIEWER, VIEWER_PASSWORD)
        return client.jobs.create("sv-idle", Jobs.CreateSpec(desired_version=TARGET))
    finally:
        client.close()


def _unknown_supervisor(env: Env, lifecycle: dict[str, Outcome]) -> Any:
    return env.admin.upgrades.get("sv-missing")


def _version_not_available(env: Env, lifecycle: dict[str, Outcome]) -> Any:
    return env.admin.jobs.create("sv-idle", Jobs.CreateSpec(desired_version="9.9.9"))


def _unsupported(env: Env, lifecycle: dict[str, Outcome]) -> Any:
    return env.admin.jobs.create("sv-unsupported", Jobs.CreateSpec(desired_version=TARGET))


def _cancel_finished(env: Env, lifecycle: dict[str, Outcome]) -> Any:
    return env.admin.tasks.cancel(lifecycle["_task"].value)


def _too_many_sessions(env: Env, lifecycle: dict[str, Outcome]) -> Any:
    env.sim.set_faults("vc-west", max_sessions=1)
    first, second = env.client("vc-west"), env.client("vc-west")
    try:
        first.login(ADMIN, PASSWORD)
        return second.login(ADMIN, PASSWORD)
    finally:
        second.close()
        first.close()
        env.sim.set_faults("vc-west", max_sessions=None)


ERRORS = [
    pytest.param(_bad_password, "UNAUTHENTICATED", 401, id="401-bad-password"),
    pytest.param(_no_privilege, "UNAUTHORIZED", 403, id="403-job-without-privilege"),
    pytest.param(_unknown_supervisor, "NOT_FOUND", 404, id="404-unknown-supervisor"),
    pytest.param(_version_not_available, "INVALID_ARGUMENT", 400, id="400-version-not-available"),
    pytest.param(_unsupported, "UNSUPPORTED", 400, id="400-unsupported-supervisor"),
    pytest.param(_cancel_finished, "NOT_ALLOWED_IN_CURRENT_STATE", 400, id="400-cancel-finished"),
    pytest.param(_too_many_sessions, "SERVICE_UNAVAILABLE", 503, id="503-beyond-max-sessions"),
]


@pytest.mark.parametrize(("provoke", "error_type", "status"), ERRORS)
def test_documented_error(
    env: Env,
    lifecycle: dict[str, Outcome],
    provoke: Callable[[Env, dict[str, Outcome]], Any],
    error_type: str,
    status: int,
) -> None:
    """A documented error reaches the SDK with its error_type, and the wire with its status."""
    mark = env.wire.mark()
    with pytest.raises(VapiError) as caught:
        provoke(env, lifecycle)
    exc = caught.value
    assert error_type_of(exc) == error_type
    assert exc.get_status_code() == status
    answers = env.wire.since(mark)
    failed = [a for a in answers if a.status >= 400]
    assert [a.status for a in failed] == [status], [str(a) for a in answers]
    body = failed[0].json()
    assert body["error_type"] == error_type
    if provoke is _cancel_finished:  # cis tasks map by status and keep the body in exc.data
        assert exc.data.to_dict()["error_type"] == error_type
        assert exc.data.to_dict()["messages"] == body["messages"]
    else:
        assert [m.id for m in exc.messages] == [m["id"] for m in body["messages"]]
    _clean(answers)


def test_every_captured_answer_conforms(env: Env, lifecycle: dict[str, Outcome]) -> None:
    """Every raw answer captured in this module (tests 1 and 2) passes the strict checker."""
    answers = env.wire.since(0)
    assert len(answers) > len(LIFECYCLE)
    _clean(answers)


# --- 3. the checker rejects what the SDK lets slip ----------------------------------------

UPGRADES_URL = "https://127.0.0.1:1/api/vcenter/namespace-management/software/supervisors/upgrades"
GOOD_SUMMARY = {
    "supervisor": "sv-1",
    "current_version": "9.0.0",
    "available_versions": ["9.1.0"],
    "last_upgraded_date": "2026-11-26T22:00:00.000Z",
    "state": "READY",
}


def _list_body(**changes: Any) -> bytes:
    return json.dumps({"supervisors": [{**GOOD_SUMMARY, **changes}]}).encode()


def test_checker_accepts_a_conforming_answer() -> None:
    """A conforming Upgrades.list answer yields no problem."""
    assert check_answer("GET", UPGRADES_URL, 200, "application/json", _list_body()) == []


@pytest.mark.parametrize(
    ("body", "content_type", "expected"),
    [
        pytest.param(_list_body(colour="blue"), "application/json", "unknown field", id="unknown-field"),
        pytest.param(_list_body(state="PAUSED"), "application/json", "is not one of", id="unknown-enum"),
        pytest.param(
            json.dumps({"current_version": "9.0.0", "available_versions": [], "state": "READY",
                        "messages": [], "upgrade_status": {"desired_version": "9.1.0",
                        "messages": [], "progress": {"total": "3", "completed": 0, "message":
                        {"id": "m", "default_message": "m", "args": []}}}}).encode(),
            "application/json", "expected integer", id="string-for-integer",
        ),
        pytest.param(_list_body(current_version=None), "application/json", "null", id="null-required"),
        pytest.param(
            _list_body(last_upgraded_date="2026-11-26 22:00:00Z"), "application/json",
            "expected date-time", id="bad-date-time",
        ),
        pytest.param(_list_body(), "text/plain", "Content-Type", id="wrong-content-type"),
    ],
)  # fmt: skip
def test_checker_rejects(body: bytes, content_type: str, expected: str) -> None:
    """The checker flags what the SDK itself lets slip (§8.6)."""
    url = UPGRADES_URL if b"supervisors" in body else UPGRADES_URL + "/sv-1"
    problems = check_answer("GET", url, 200, content_type, body)
    assert any(expected in p for p in problems), problems


def test_checker_enforces_task_union_and_error_status() -> None:
    """A SUCCEEDED task without end_time and an error_type with the wrong status are flagged."""
    task = {
        "description": {"id": "d", "default_message": "d", "args": []},
        "service": "s", "operation": "create", "status": "SUCCEEDED", "cancelable": False,
        "start_time": "2026-11-26T22:00:00.000Z",
        "progress": {"total": 100, "completed": 100,
                     "message": {"id": "d", "default_message": "d", "args": []}},
    }  # fmt: skip
    url = "https://127.0.0.1:1/api/cis/tasks/abc:svc"
    problems = check_answer("GET", url, 200, "application/json", json.dumps(task).encode())
    assert any("end_time required" in p for p in problems), problems
    error = {"error_type": "NOT_FOUND", "messages": []}
    problems = check_answer("GET", url, 400, "application/json", json.dumps(error).encode())
    assert any("expected 404" in p for p in problems), problems
