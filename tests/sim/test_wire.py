"""Wire formats (§1, §4–§7): statuses, bodies, schemas, date-times and every filter form."""

from __future__ import annotations

from typing import Any

import pytest

from tests.sim.conftest import Launch
from tests.sim.helpers import DATETIME, NS, SW, one_vcenter, precheck, supervisor

pytestmark = pytest.mark.anyio

SCENARIO = one_vcenter(
    supervisor("supervisor-1", name="sv-one")
    + supervisor("supervisor-2", name="sv-two", unsupported=True)
    + supervisor(
        "supervisor-3",
        name="sv-three",
        available_versions=["9.1.0", "9.2.0"],
        prechecks=[precheck("WARNING", "tkc.compat")],
    )
)
MESSAGE = {"id", "default_message", "args"}
CONDITION_REQUIRED = {"type", "description", "status", "reason", "severity", "messages"}
TASK_REQUIRED = {"description", "service", "operation", "status", "cancelable"}
TASK_OPTIONAL = {
    "parent",
    "target",
    "error",
    "start_time",
    "end_time",
    "user",
    "progress",
    "result",
}


def check_keys(
    obj: dict[str, Any], required: set[str], optional: frozenset[str] | set[str] = frozenset()
) -> None:
    """Every required key present and non-null; nothing outside the contract."""
    assert required <= set(obj), required - set(obj)
    assert set(obj) <= required | optional, set(obj) - required - optional
    assert all(obj[key] is not None for key in obj)


def check_condition(condition: dict[str, Any]) -> None:
    """A Clusters.Condition of §3.2."""
    check_keys(condition, CONDITION_REQUIRED, {"last_transition_time"})
    assert condition["status"] in {"TRUE", "FALSE", "UNKNOWN"}
    assert condition["severity"] in {"INFO", "WARNING", "ERROR"}
    check_keys(condition["description"], MESSAGE)
    for message in condition["messages"]:
        check_keys(message, {"severity"}, {"details", "kb_article_link", "id"})
    if "last_transition_time" in condition:
        assert DATETIME.match(condition["last_transition_time"])


def check_task(info: dict[str, Any]) -> None:
    """A cis Tasks.Info of §7 obeying the union rule."""
    check_keys(info, TASK_REQUIRED, TASK_OPTIONAL)
    present = {k for k in ("progress", "result", "start_time", "end_time", "error") if k in info}
    if info["status"] in ("RUNNING", "BLOCKED"):
        assert {"progress", "start_time"} <= present <= {"progress", "start_time", "result"}
    elif info["status"] == "SUCCEEDED":
        assert {"progress", "start_time", "end_time"} <= present
        assert "error" not in present
    else:
        assert info["status"] == "FAILED"
        assert {"progress", "start_time", "end_time"} <= present
    check_keys(info["progress"], {"total", "completed", "message"})


async def test_session_create_get_delete(launch: Launch) -> None:
    """Login is 201 with a bare JSON string; get shows Session.Info; delete is 204 no body."""
    served = await launch(SCENARIO)
    vc = served.vc()
    answer = await vc.request("GET", "/api/session")
    assert answer.status == 200
    check_keys(answer.json, {"user", "created_time", "last_accessed_time"})
    assert answer.json["user"] == "VSPHERE.LOCAL\\Administrator"
    assert DATETIME.match(answer.json["created_time"])
    assert "Set-Cookie" not in answer.headers
    deleted = await vc.request("DELETE", "/api/session")
    assert (deleted.status, deleted.raw) == (204, b"")
    assert (await vc.request("GET", "/api/session")).status == 401


async def test_upgrades_schema(launch: Launch) -> None:
    """Upgrades.Summary / Info / Status carry exactly the contract's fields."""
    served = await launch(SCENARIO)
    vc = served.vc()
    answer = await vc.request("GET", f"{SW}/upgrades")
    assert answer.headers["Content-Type"].startswith("application/json")
    for item in answer.json["supervisors"]:
        check_keys(
            item,
            {"supervisor", "current_version", "available_versions", "state"},
            {"last_upgraded_date", "desired_version"},
        )
    await vc.create("supervisor-3", ignore_precheck_warnings=True)
    for skip in (0, 40, 600, 2000):
        served.advance(skip)
        info = await vc.info("supervisor-3")
        check_keys(
            info,
            {"current_version", "available_versions", "messages", "state"},
            {"last_upgraded_date", "upgrade_status", "upgrade_prechecks"},
        )
        assert info["state"] in {"READY", "INPROGRESS", "ERROR"}
        for message in info["messages"]:
            check_keys(message, {"severity", "details"})
        for condition in info.get("upgrade_prechecks", []):
            check_condition(condition)
        if "upgrade_status" in info:
            status = info["upgrade_status"]
            check_keys(status, {"desired_version", "messages", "progress"}, {"components"})
            check_keys(status["progress"], {"total", "completed", "message"})
            for condition in status.get("components", []):
                check_condition(condition)


async def test_task_schema_through_phases(launch: Launch) -> None:
    """Tasks.Info obeys the union rule in every phase."""
    served = await launch(SCENARIO)
    vc = served.vc()
    task = (await vc.create("supervisor-1")).json
    for skip in (0, 40, 600, 2000):
        served.advance(skip)
        check_task(await vc.task(task))


@pytest.mark.parametrize(
    ("params", "body", "expected"),
    [
        (None, ..., ["supervisor-1", "supervisor-2", "supervisor-3"]),
        (None, {}, ["supervisor-1", "supervisor-2", "supervisor-3"]),
        (None, None, ["supervisor-1", "supervisor-2", "supervisor-3"]),
        (None, {"filter_spec": None}, ["supervisor-1", "supervisor-2", "supervisor-3"]),
        (None, {"filter_spec": {"supervisors": ["supervisor-2", "nope"]}}, ["supervisor-2"]),
        (
            [("supervisors", "supervisor-1"), ("supervisors", "supervisor-3")],
            ...,
            ["supervisor-1", "supervisor-3"],
        ),
        (
            {"supervisors": "supervisor-1"},
            {"filter_spec": {"supervisors": ["supervisor-2"]}},
            ["supervisor-1"],
        ),
    ],
)
async def test_upgrades_list_filter_forms(
    launch: Launch, params: object, body: object, expected: list[str]
) -> None:
    """Query string, GET body ({filter_spec}, {}, null) — and the query string wins."""
    served = await launch(SCENARIO)
    answer = await served.vc().request("GET", f"{SW}/upgrades", params=params, body=body)
    assert answer.status == 200, answer.raw
    assert [s["supervisor"] for s in answer.json["supervisors"]] == expected


@pytest.mark.parametrize(
    ("params", "body", "count"),
    [
        (None, {}, 3),
        (None, {"filter": {"config_status": "RUNNING"}}, 3),
        ({"kubernetes_status": "ERROR"}, ..., 0),
        ({"config_status": "RUNNING"}, {"filter": {"config_status": "ERROR"}}, 3),
    ],
)
async def test_summaries(launch: Launch, params: object, body: object, count: int) -> None:
    """Summary.list with its filter forms; items carry the Supervisor's name."""
    served = await launch(SCENARIO)
    answer = await served.vc().request(
        "GET", f"{NS}/supervisors/summaries", params=params, body=body
    )
    assert answer.status == 200
    items = answer.json["items"]
    assert len(items) == count
    for item in items:
        check_keys(item, {"supervisor", "info"})
        check_keys(
            item["info"],
            {"name", "stats", "config_status", "kubernetes_status"},
            {"APIEndpoint", "messages"},
        )
        check_keys(
            item["info"]["stats"],
            {
                "cpu_used",
                "cpu_capacity",
                "memory_used",
                "memory_capacity",
                "storage_used",
                "storage_capacity",
            },
        )


async def test_summary_get_and_clusters(launch: Launch) -> None:
    """Summary.get by id, and the deprecated cluster listing as a JSON array."""
    served = await launch(SCENARIO)
    vc = served.vc()
    info = (await vc.request("GET", f"{NS}/supervisors/supervisor-3/summary")).json
    assert info["name"] == "sv-three"
    clusters = (await vc.request("GET", f"{NS}/clusters")).json
    assert [c["cluster_name"] for c in clusters] == ["sv-one", "sv-two", "sv-three"]
    for cluster in clusters:
        assert set(cluster) == {
            "cluster",
            "cluster_name",
            "stats",
            "config_status",
            "kubernetes_status",
        }


async def test_versions(launch: Launch) -> None:
    """Versions.list (body {} or filter), Versions.get and check-compatibility (both forms)."""
    served = await launch(SCENARIO)
    vc = served.vc()
    listed = await vc.request(
        "GET", f"{SW}/versions", body={"filter": {"network_provider": "NSX_VPC"}}
    )
    assert listed.json == {
        "supervisor_versions": [{"version": "9.0.0"}, {"version": "9.1.0"}, {"version": "9.2.0"}]
    }
    info = (await vc.request("GET", f"{SW}/versions/9.1.0", body={})).json
    check_keys(
        info,
        {"version", "name", "description", "release_date", "release_notes", "image_source_specs"},
    )
    assert DATETIME.match(info["release_date"])
    path = f"{SW}/versions/9.1.0"
    fine = await vc.request(
        "POST",
        path,
        params={"action": "check-compatibility"},
        body={"spec": {"supervisor": "supervisor-1"}},
    )
    assert fine.json["compatibility"] == "COMPATIBLE"
    assert "capabilities" in fine.json
    assert "incompatibility_reasons" not in fine.json
    bad = await vc.request(
        "POST", path, params={"action": "check-compatibility", "supervisor": "supervisor-2"}
    )
    assert bad.json["compatibility"] == "INCOMPATIBLE"
    assert "capabilities" not in bad.json
    assert bad.json["incompatibility_reasons"][0]["id"]
    unset = await vc.request("POST", path, params={"action": "check-compatibility"}, body={})
    assert unset.json["compatibility"] == "COMPATIBLE"


@pytest.mark.parametrize("form", ["get-body", "post-action", "query"])
async def test_tasks_list_forms(launch: Launch, form: str) -> None:
    """Tasks.list: GET with the SDK body, POST ?action=list, or the query form → id → Info."""
    served = await launch(SCENARIO)
    vc = served.vc()
    first = (await vc.create("supervisor-1")).json
    second = (await vc.create("supervisor-3")).json
    body = {"filter_spec": {"tasks": [first, second]}, "result_spec": {"return_all": True}}
    if form == "get-body":
        answer = await vc.request("GET", "/api/cis/tasks", body=body)
    elif form == "post-action":
        answer = await vc.request("POST", "/api/cis/tasks", params={"action": "list"}, body=body)
    else:
        answer = await vc.request(
            "GET", "/api/cis/tasks", params=[("tasks", first), ("tasks", second)]
        )
    assert answer.status == 200, answer.raw
    assert set(answer.json) == {first, second}
    for info in answer.json.values():
        check_task(info)


async def test_tasks_list_filters(launch: Launch) -> None:
    """Filter by service, status, user and target."""
    served = await launch(SCENARIO)
    vc = served.vc()
    service = "com.vmware.vcenter.namespace_management.software.supervisors.upgrades.jobs"
    task = (await vc.create("supervisor-1")).json
    base = {"services": [service]}

    async def listed(**extra: Any) -> set[str]:
        answer = await vc.request("GET", "/api/cis/tasks", body={"filter_spec": {**base, **extra}})
        assert answer.status == 200, answer.raw
        return set(answer.json)

    assert await listed() == {task}
    assert await listed(status=["RUNNING"]) == {task}
    assert await listed(status=["SUCCEEDED"]) == set()
    assert await listed(users=["someone-else"]) == set()
    target = {"type": "com.vmware.vcenter.namespace_management.supervisor.Supervisor"}
    assert await listed(targets=[{**target, "id": "supervisor-1"}]) == {task}
    assert await listed(targets=[{**target, "id": "supervisor-3"}]) == set()


@pytest.mark.parametrize("body", [..., {}, {"spec": {"exclude_result": True}}])
async def test_task_get_body_forms(launch: Launch, body: object) -> None:
    """Tasks.get accepts no body, {} and {"spec": {...}}."""
    served = await launch(SCENARIO)
    vc = served.vc()
    task = (await vc.create("supervisor-1")).json
    answer = await vc.request("GET", f"/api/cis/tasks/{task}", body=body)
    assert answer.status == 200


async def test_bodiless_post_with_json_content_type(launch: Launch) -> None:
    """POST/DELETE with Content-Type: application/json and Content-Length 0 are accepted."""
    served = await launch(SCENARIO, login=False)
    vc = served.vc()
    await vc.login()  # the helper sends Content-Type: application/json with no body
    task = (await vc.create("supervisor-1")).json
    answer = await vc.request(
        "POST", f"/api/cis/tasks/{task}", raw=b"", headers={"Content-Length": "0"}
    )
    assert answer.status == 204
    assert (await vc.request("DELETE", "/api/session", raw=b"")).status == 204


async def test_precheck_condition_from_scenario(launch: Launch) -> None:
    """A scenario precheck becomes a Condition with a CamelCase type and its text as details."""
    served = await launch(SCENARIO)
    vc = served.vc()
    await vc.create("supervisor-3")
    served.advance(31)
    conditions = (await vc.info("supervisor-3"))["upgrade_prechecks"]
    warning = next(c for c in conditions if c["type"] == "TkcCompat")
    assert warning["messages"] == [
        {
            "severity": "WARNING",
            "details": {"id": "tkc.compat", "default_message": "something to report", "args": []},
            "id": "tkc.compat",
        }
    ]
