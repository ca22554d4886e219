"""Error answers: statuses, vAPI bodies, declared kinds and the order of checks (§2, §6.3)."""

from __future__ import annotations

import pytest

from tests.sim.conftest import Launch
from tests.sim.helpers import ADMIN, NS, PASSWORD, SW, VC, Answer, basic, one_vcenter, supervisor

pytestmark = pytest.mark.anyio

TWO_USERS = """
[[users]]
username = "administrator@vsphere.local"
password = "sim-password"
privileges = ["Namespaces.Upgrade"]

[[users]]
username = "reader@vsphere.local"
password = "reader-password"
"""


def scenario() -> str:
    """One vCenter with a normal and an unsupported Supervisor, and two users."""
    return TWO_USERS + one_vcenter(
        supervisor("supervisor-1") + supervisor("supervisor-2", unsupported=True)
    )


def assert_vapi_error(answer: Answer, status: int, error_type: str) -> None:
    """Status, JSON content type, and a §2.1 body; challenge only on 401."""
    assert answer.status == status, answer.raw
    assert answer.headers["Content-Type"].startswith("application/json")
    body = answer.json
    assert body["error_type"] == error_type
    assert set(body) <= {"error_type", "messages", "challenge"}
    assert ("challenge" in body) == (status == 401)
    for message in body["messages"]:
        assert set(message) == {"id", "default_message", "args"}
        assert all(isinstance(arg, str) for arg in message["args"])


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("GET", "/api/session"),
        ("DELETE", "/api/session"),
        ("GET", f"{SW}/upgrades"),
        ("GET", f"{SW}/upgrades/supervisor-1"),
        ("POST", f"{SW}/upgrades/jobs/supervisor-1"),
        ("GET", f"{NS}/supervisors/summaries"),
        ("GET", f"{SW}/versions"),
        ("GET", "/api/cis/tasks/whatever"),
    ],
)
@pytest.mark.parametrize("token", [None, "not-a-session"])
async def test_401_without_a_valid_session(
    launch: Launch, method: str, path: str, token: str | None
) -> None:
    """Every authenticated operation answers 401 UNAUTHENTICATED without a valid session."""
    served = await launch(scenario(), login=False)
    answer = await served.vc().request(method, path, token=token)
    assert_vapi_error(answer, 401, "UNAUTHENTICATED")
    assert answer.json["messages"][0]["id"] == (
        "com.vmware.vapi.endpoint.method.authentication.required"
    )


@pytest.mark.parametrize(
    "authorization",
    [basic(ADMIN, "wrong"), basic("nobody@vsphere.local", PASSWORD), "Bearer x", "Basic %%%", None],
)
async def test_login_refused(launch: Launch, authorization: str | None) -> None:
    """Bad or missing credentials: 401 with a challenge, no detail of what was wrong."""
    served = await launch(scenario(), login=False)
    headers = {"Authorization": authorization} if authorization else {}
    answer = await served.vc().request("POST", "/api/session", headers=headers, token=None)
    assert_vapi_error(answer, 401, "UNAUTHENTICATED")
    assert answer.headers["WWW-Authenticate"].startswith("Basic")


@pytest.mark.parametrize(
    ("method", "path", "body"),
    [
        ("POST", f"{SW}/upgrades/jobs/supervisor-1", {"desired_version": "9.1.0"}),
        ("POST", f"{SW}/supervisor-1/prechecks?action=run", {"target_version": "9.1.0"}),
    ],
)
async def test_403_without_upgrade_privilege(
    launch: Launch, method: str, path: str, body: dict[str, str]
) -> None:
    """A user without Namespaces.Upgrade gets 403 UNAUTHORIZED and nothing starts."""
    served = await launch(scenario(), login=False)
    vc = served.vc()
    await vc.login("reader@vsphere.local", "reader-password")
    answer = await vc.request(method, path, body=body)
    assert_vapi_error(answer, 403, "UNAUTHORIZED")
    assert served.sim.stats()["creates"] == {}
    assert (await vc.info("supervisor-1"))["state"] == "READY"


async def test_403_on_cancel_without_privilege(launch: Launch) -> None:
    """Cancelling a task needs Namespaces.Upgrade too."""
    served = await launch(scenario())
    task = (await served.vc().create("supervisor-1")).json
    reader = VC(served.http, served.sim.vcenter_urls["vc"])
    await reader.login("reader@vsphere.local", "reader-password")
    answer = await reader.request("POST", f"/api/cis/tasks/{task}", params={"action": "cancel"})
    assert_vapi_error(answer, 403, "UNAUTHORIZED")


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("GET", f"{SW}/upgrades/supervisor-9"),
        ("POST", f"{SW}/upgrades/jobs/supervisor-9"),
        ("GET", f"{NS}/supervisors/supervisor-9/summary"),
        ("GET", f"{SW}/supervisor-9/prechecks"),
        ("GET", f"{SW}/versions/7.0.0"),
        ("GET", "/api/cis/tasks/no-such-task"),
    ],
)
async def test_404_not_found(launch: Launch, method: str, path: str) -> None:
    """Unknown Supervisors, versions and tasks answer 404 NOT_FOUND."""
    served = await launch(scenario())
    body = {"desired_version": "9.1.0"} if method == "POST" else ...
    assert_vapi_error(await served.vc().request(method, path, body=body), 404, "NOT_FOUND")


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("GET", "/api/nowhere"),
        ("PUT", "/api/session"),
        ("POST", f"{SW}/supervisor-1/prechecks?action=fly"),
        ("POST", "/api/cis/tasks"),
    ],
)
async def test_unknown_operation(launch: Launch, method: str, path: str) -> None:
    """Unknown paths, methods and actions answer 404 OPERATION_NOT_FOUND."""
    served = await launch(scenario())
    assert_vapi_error(await served.vc().request(method, path), 404, "OPERATION_NOT_FOUND")


@pytest.mark.parametrize(
    ("body", "error_type", "message_id"),
    [
        ({"desired_version": "9.2.0"}, "INVALID_ARGUMENT", "vcenter.wcp.upgrade.version.invalid"),
        ({"desired_version": 9.1}, "INVALID_ARGUMENT", "vapi.method.input.invalid"),
        ({}, "INVALID_ARGUMENT", "vapi.method.input.invalid"),
        (None, "INVALID_ARGUMENT", "vapi.method.input.invalid"),
        ([1], "INVALID_ARGUMENT", "vapi.method.input.invalid"),
        (
            {"desired_version": "9.1.0", "ignore_precheck_warnings": "yes"},
            "INVALID_ARGUMENT",
            "vapi.method.input.invalid",
        ),
        ({"desired_version": "9.1.0", "force": True}, "UNEXPECTED_INPUT", None),
    ],
)
async def test_create_bad_input(
    launch: Launch, body: object, error_type: str, message_id: str | None
) -> None:
    """Bad create bodies: 400 INVALID_ARGUMENT (ill-typed, unavailable) or UNEXPECTED_INPUT."""
    served = await launch(scenario())
    answer = await served.vc().request("POST", f"{SW}/upgrades/jobs/supervisor-1", body=body)
    assert_vapi_error(answer, 400, error_type)
    if message_id:
        assert answer.json["messages"][0]["id"] == message_id
    assert served.sim.stats()["creates"] == {}


async def test_create_invalid_json(launch: Launch) -> None:
    """A body that is not JSON is 400 INVALID_ARGUMENT."""
    served = await launch(scenario())
    answer = await served.vc().request("POST", f"{SW}/upgrades/jobs/supervisor-1", raw=b"{nope")
    assert_vapi_error(answer, 400, "INVALID_ARGUMENT")


async def test_create_unsupported(launch: Launch) -> None:
    """A Supervisor flagged unsupported answers 400 UNSUPPORTED."""
    served = await launch(scenario())
    answer = await served.vc().create("supervisor-2")
    assert_vapi_error(answer, 400, "UNSUPPORTED")
    assert answer.json["messages"][0]["id"] == "vcenter.wcp.upgrade.unsupported"


@pytest.mark.parametrize(
    ("user", "sup", "body", "expected"),
    [
        ("reader", "supervisor-9", {"bogus": 1}, (404, "NOT_FOUND")),
        ("reader", "supervisor-2", {"bogus": 1}, (403, "UNAUTHORIZED")),
        ("admin", "supervisor-2", {"bogus": 1}, (400, "UNEXPECTED_INPUT")),
        ("admin", "supervisor-2", {"desired_version": "0.0.1"}, (400, "UNSUPPORTED")),
    ],
)
async def test_create_order_of_checks(
    launch: Launch, user: str, sup: str, body: object, expected: tuple[int, str]
) -> None:
    """Session → exists (404) → privilege (403) → body (400) → unsupported → version."""
    served = await launch(scenario(), login=False)
    vc = served.vc()
    if user == "reader":
        await vc.login("reader@vsphere.local", "reader-password")
    else:
        await vc.login()
    answer = await vc.request("POST", f"{SW}/upgrades/jobs/{sup}", body=body)
    assert (answer.status, answer.error_type) == expected


@pytest.mark.parametrize(
    ("method", "path", "params", "body"),
    [
        ("GET", f"{SW}/upgrades", None, {"filter_spec": {"supervisors": ["a"], "x": 1}}),
        ("GET", f"{SW}/upgrades", None, {"filterspec": {}}),
        ("GET", f"{SW}/upgrades", {"supervisor": "a"}, ...),
        ("GET", f"{SW}/upgrades/supervisor-1", None, {"x": 1}),
        ("GET", f"{NS}/supervisors/summaries", None, {"filter": {"state": "READY"}}),
        ("DELETE", "/api/session", None, {"force": True}),
        ("GET", "/api/cis/tasks", None, {"filter_spec": {"tasks": ["t"]}, "extra": {}}),
        ("POST", f"{SW}/upgrades/jobs/supervisor-1", {"desired_version": "9.1.0"}, ...),
    ],
)
async def test_unexpected_input(
    launch: Launch, method: str, path: str, params: object, body: object
) -> None:
    """Unknown keys in a parsed body or unknown query parameters: 400 UNEXPECTED_INPUT."""
    served = await launch(scenario())
    answer = await served.vc().request(method, path, params=params, body=body)
    assert_vapi_error(answer, 400, "UNEXPECTED_INPUT")


@pytest.mark.parametrize(
    ("path", "params", "body"),
    [
        (f"{SW}/upgrades", None, {"filter_spec": {"supervisors": "supervisor-1"}}),
        (f"{NS}/supervisors/summaries", {"config_status": "running"}, ...),
        (f"{SW}/versions", None, {"filter": {"network_provider": "OTHER"}}),
        ("/api/cis/tasks", None, {"filter_spec": {"services": []}}),
        ("/api/cis/tasks", None, {"filter_spec": {"tasks": ["t"], "status": ["DONE"]}}),
    ],
)
async def test_ill_typed_filters(launch: Launch, path: str, params: object, body: object) -> None:
    """Ill-typed filters (wrong JSON type, unknown enum value, empty task filter): 400."""
    served = await launch(scenario())
    answer = await served.vc().request("GET", path, params=params, body=body)
    assert_vapi_error(answer, 400, "INVALID_ARGUMENT")


async def test_check_compatibility_errors(launch: Launch) -> None:
    """check-compatibility: two targets → INVALID_ARGUMENT; unknown Supervisor → NOT_FOUND."""
    served = await launch(scenario())
    vc = served.vc()
    path = f"{SW}/versions/9.1.0"
    both = {"spec": {"supervisor": "supervisor-1", "cluster": "domain-c1"}}
    answer = await vc.request("POST", path, params={"action": "check-compatibility"}, body=both)
    assert_vapi_error(answer, 400, "INVALID_ARGUMENT")
    answer = await vc.request(
        "POST", path, params={"action": "check-compatibility", "supervisor": "supervisor-9"}
    )
    assert_vapi_error(answer, 404, "NOT_FOUND")
