"""The upgrade state machine of docs/wire.md §9, driven over HTTPS with a skipped clock."""

from __future__ import annotations

import pytest

from tests.sim.conftest import Launch
from tests.sim.helpers import DATETIME, SW, one_vcenter, precheck, supervisor

pytestmark = pytest.mark.anyio

PRECHECKS = 30.0  # default precheck_duration, simulated seconds
UPGRADE = 1200.0  # default upgrade_duration
SERVICE = "com.vmware.vcenter.namespace_management.software.supervisors.upgrades.jobs"


async def test_success_path_phases(launch: Launch) -> None:
    """Create → prechecks (UNKNOWN/INFO) → upgrading (nodes, %) → READY at the new version."""
    served = await launch(one_vcenter(supervisor()))
    vc = served.vc()
    answer = await vc.create("supervisor-1")
    assert answer.status == 201
    task = answer.json
    assert task.endswith(f":{SERVICE}")

    info = await vc.info("supervisor-1")
    assert info["state"] == "INPROGRESS"
    assert info["messages"] == []
    status = info["upgrade_status"]
    assert status["desired_version"] == "9.1.0"
    assert status["messages"] == []
    assert (status["progress"]["total"], status["progress"]["completed"]) == (3, 0)
    assert "components" not in status
    assert {(c["status"], c["severity"]) for c in info["upgrade_prechecks"]} == {
        ("UNKNOWN", "INFO")
    }
    summary = (await vc.request("GET", f"{SW}/upgrades")).json["supervisors"][0]
    assert (summary["state"], summary["desired_version"]) == ("INPROGRESS", "9.1.0")
    running = await vc.task(task)
    assert (running["status"], running["cancelable"]) == ("RUNNING", True)
    assert (running["progress"]["total"], running["progress"]["completed"]) == (100, 0)
    assert "end_time" not in running
    assert running["target"] == {
        "type": "com.vmware.vcenter.namespace_management.supervisor.Supervisor",
        "id": "supervisor-1",
    }

    served.advance(PRECHECKS + UPGRADE / 2)
    info = await vc.info("supervisor-1")
    status = info["upgrade_status"]
    assert status["progress"]["completed"] == 50
    assert [c["status"] for c in status["components"]] == ["TRUE", "FALSE", "FALSE"]
    assert {c["type"] for c in status["components"]} == {"ControlPlaneNodeUpgraded"}
    assert status["messages"][-1]["details"]["id"] == "vcenter.wcp.upgrade.precheck.completed"
    assert {c["status"] for c in info["upgrade_prechecks"]} == {"TRUE"}
    upgrading = await vc.task(task)
    assert (upgrading["progress"]["completed"], upgrading["cancelable"]) == (50, False)

    served.advance(UPGRADE)
    info = await vc.info("supervisor-1")
    assert (info["state"], info["current_version"], info["available_versions"]) == (
        "READY",
        "9.1.0",
        [],
    )
    assert DATETIME.match(info["last_upgraded_date"])
    assert "upgrade_status" not in info
    assert [m["details"]["id"] for m in info["messages"]] == ["vcenter.wcp.upgrade.completed"]
    done = await vc.task(task)
    assert (done["status"], done["progress"]["completed"]) == ("SUCCEEDED", 100)
    assert DATETIME.match(done["end_time"])
    assert "error" not in done
    assert served.sim.stats()["supervisors"]["vc/supervisor-1"] == {
        "state": "READY",
        "current_version": "9.1.0",
        "config_status": "RUNNING",
        "kubernetes_status": "READY",
    }


async def test_success_removes_target_and_older_versions(launch: Launch) -> None:
    """After upgrading to 9.1.0, only newer versions stay available."""
    served = await launch(one_vcenter(supervisor(available_versions=["9.0.1", "9.1.0", "9.10.0"])))
    vc = served.vc()
    assert (await vc.create("supervisor-1")).status == 201
    served.advance(PRECHECKS + UPGRADE + 1)
    assert (await vc.info("supervisor-1"))["available_versions"] == ["9.10.0"]


@pytest.mark.parametrize(
    ("severity", "ignore", "task_status", "condition_type"),
    [
        ("ERROR", False, "FAILED", "StoragePolicyCompliance"),
        ("ERROR", True, "FAILED", "StoragePolicyCompliance"),
        ("WARNING", False, "FAILED", "StoragePolicyCompliance"),
        ("WARNING", True, "SUCCEEDED", "StoragePolicyCompliance"),
        ("INFO", False, "SUCCEEDED", "StoragePolicyCompliance"),
    ],
)
async def test_precheck_verdicts(
    launch: Launch, severity: str, ignore: bool, task_status: str, condition_type: str
) -> None:
    """ERROR always blocks, WARNING blocks unless ignored, INFO proceeds."""
    checks = [precheck(severity, "storage.policy.compliance", "policy not compliant")]
    served = await launch(one_vcenter(supervisor(prechecks=checks)))
    vc = served.vc()
    task = (await vc.create("supervisor-1", ignore_precheck_warnings=ignore)).json
    served.advance(PRECHECKS + UPGRADE + 1)
    done = await vc.task(task)
    info = await vc.info("supervisor-1")
    assert done["status"] == task_status
    assert info["state"] == "READY"
    mine = next(c for c in info["upgrade_prechecks"] if c["type"] == condition_type)
    assert mine["severity"] == severity
    if task_status == "FAILED":
        assert info["current_version"] == "9.0.0"
        assert done["error"]["error_type"] == "ERROR"
        assert done["error"]["messages"][0]["id"] == "vcenter.wcp.upgrade.precheck.blocked"
        assert mine["status"] == "FALSE"
        assert [(m["severity"], m["details"]["default_message"]) for m in info["messages"]] == [
            (severity, "policy not compliant"),
            ("ERROR", info["messages"][-1]["details"]["default_message"]),
        ]
        assert info["messages"][-1]["details"]["id"] == "vcenter.wcp.upgrade.precheck.blocked"
        assert done["progress"]["completed"] == 0
    else:
        assert info["current_version"] == "9.1.0"
        assert mine["status"] == ("TRUE" if severity == "INFO" else "FALSE")


async def test_warning_ignored_shows_verdict_while_upgrading(launch: Launch) -> None:
    """With warnings ignored, the WARNING verdict is an Upgrades.Message of the running upgrade."""
    checks = [precheck("WARNING", "tkc.compat", "TKC blue is not compatible")]
    served = await launch(one_vcenter(supervisor(prechecks=checks)))
    vc = served.vc()
    await vc.create("supervisor-1", ignore_precheck_warnings=True)
    served.advance(PRECHECKS + 1)
    status = (await vc.info("supervisor-1"))["upgrade_status"]
    assert status["messages"][0] == {
        "severity": "WARNING",
        "details": {
            "id": "tkc.compat",
            "default_message": "TKC blue is not compatible",
            "args": [],
        },
    }


async def test_failure_at_percent(launch: Launch) -> None:
    """fail_at_percent: the task FAILS when progress reaches it; the Supervisor is in ERROR."""
    served = await launch(one_vcenter(supervisor(fail_at_percent=40)))
    vc = served.vc()
    task = (await vc.create("supervisor-1")).json
    served.advance(PRECHECKS + UPGRADE * 0.39)
    assert (await vc.info("supervisor-1"))["state"] == "INPROGRESS"
    served.advance(UPGRADE * 0.02)
    info = await vc.info("supervisor-1")
    assert (info["state"], info["current_version"]) == ("ERROR", "9.0.0")
    assert "last_upgraded_date" not in info
    assert info["messages"][0]["severity"] == "ERROR"
    assert info["messages"][0]["details"]["id"] == "vcenter.wcp.upgrade.failed"
    done = await vc.task(task)
    assert (done["status"], done["progress"]["completed"]) == ("FAILED", 40)
    assert done["error"]["error_type"] == "ERROR"


async def test_retry_from_error_is_accepted(launch: Launch) -> None:
    """A new create on a Supervisor in ERROR starts a second job (a retry)."""
    served = await launch(one_vcenter(supervisor(fail_at_percent=10)))
    vc = served.vc()
    first = (await vc.create("supervisor-1")).json
    served.advance(PRECHECKS + UPGRADE)
    assert (await vc.info("supervisor-1"))["state"] == "ERROR"
    second = await vc.create("supervisor-1")
    assert second.status == 201
    assert second.json != first
    assert (await vc.info("supervisor-1"))["state"] == "INPROGRESS"
    assert served.sim.stats()["creates"] == {"vc/supervisor-1": 2}


async def test_create_while_in_progress_is_refused_without_second_job(launch: Launch) -> None:
    """A second create while upgrading answers 400 UNSUPPORTED in_progress and starts nothing."""
    served = await launch(one_vcenter(supervisor()))
    vc = served.vc()
    assert (await vc.create("supervisor-1")).status == 201
    again = await vc.create("supervisor-1")
    assert again.status == 400
    assert again.error_type == "UNSUPPORTED"
    assert again.json["messages"][0]["id"] == "vcenter.wcp.upgrade.in_progress"
    stats = served.sim.stats()
    assert stats["creates"] == {"vc/supervisor-1": 1}
    assert len(stats["jobs"]) == 1


async def test_cancel_while_prechecks_run(launch: Launch) -> None:
    """Cancel during prechecks: 204, task FAILED with CANCELED, Supervisor READY and untouched."""
    served = await launch(one_vcenter(supervisor()))
    vc = served.vc()
    task = (await vc.create("supervisor-1")).json
    answer = await vc.request("POST", f"/api/cis/tasks/{task}", params={"action": "cancel"})
    assert (answer.status, answer.raw) == (204, b"")
    done = await vc.task(task)
    assert (done["status"], done["cancelable"]) == ("FAILED", False)
    assert done["error"]["error_type"] == "CANCELED"
    assert "end_time" in done
    info = await vc.info("supervisor-1")
    assert (info["state"], info["current_version"]) == ("READY", "9.0.0")
    assert info["messages"][0]["details"]["id"] == "vcenter.wcp.upgrade.canceled"
    assert served.sim.stats()["jobs"][0]["result"] == "canceled"


async def test_cancel_without_action_parameter(launch: Launch) -> None:
    """The SDK's cancel (POST /api/cis/tasks/{task}, no ?action) is accepted too."""
    served = await launch(one_vcenter(supervisor()))
    vc = served.vc()
    task = (await vc.create("supervisor-1")).json
    assert (await vc.request("POST", f"/api/cis/tasks/{task}")).status == 204


@pytest.mark.parametrize(
    ("skip", "error_type"),
    [(PRECHECKS + 1, "UNSUPPORTED"), (PRECHECKS + UPGRADE + 1, "NOT_ALLOWED_IN_CURRENT_STATE")],
)
async def test_cancel_refused_later(launch: Launch, skip: float, error_type: str) -> None:
    """Once the upgrade proper began cancel is UNSUPPORTED; on an ended task NOT_ALLOWED."""
    served = await launch(one_vcenter(supervisor()))
    vc = served.vc()
    task = (await vc.create("supervisor-1")).json
    served.advance(skip)
    answer = await vc.request("POST", f"/api/cis/tasks/{task}", params={"action": "cancel"})
    assert (answer.status, answer.error_type) == (400, error_type)


async def test_prechecks_run_and_get(launch: Launch) -> None:
    """Prechecks.run → RUNNING results at once, final WARNING after precheck_duration."""
    checks = [precheck("WARNING", "tkc.compat", "TKC blue is not compatible")]
    served = await launch(one_vcenter(supervisor(prechecks=checks)))
    vc = served.vc()
    path = f"{SW}/supervisor-1/prechecks"
    missing = await vc.request("GET", path, body=None)
    assert (missing.status, missing.error_type) == (404, "NOT_FOUND")
    run = await vc.request("POST", path, params={"action": "run"}, body={"target_version": "9.1.0"})
    assert (run.status, run.raw) == (204, b"")
    result = (await vc.request("GET", path, body=None)).json["precheck_results"][0]
    assert (result["target_version"], result["status"]) == ("9.1.0", "RUNNING")
    served.advance(PRECHECKS)
    result = (await vc.request("GET", path, body={"target_version": "9.1.0"})).json
    final = result["precheck_results"][0]
    assert final["status"] == "WARNING"
    warn = next(c for c in final["conditions"] if c["status"] == "FALSE")
    assert (warn["type"], warn["severity"], warn["reason"]) == (
        "TkcCompat",
        "WARNING",
        "TkcCompatWarning",
    )
    other = await vc.request("GET", path, params={"target_version": "9.2.0"})
    assert other.status == 404
    info = await vc.info("supervisor-1")
    assert info["state"] == "READY"
    assert info["upgrade_prechecks"] == final["conditions"]


async def test_prechecks_run_refused_while_upgrading(launch: Launch) -> None:
    """Prechecks.run during an upgrade answers 400 NOT_ALLOWED_IN_CURRENT_STATE."""
    served = await launch(one_vcenter(supervisor()))
    vc = served.vc()
    await vc.create("supervisor-1")
    answer = await vc.request(
        "POST",
        f"{SW}/supervisor-1/prechecks",
        params={"action": "run"},
        body={"target_version": "9.1.0"},
    )
    assert (answer.status, answer.error_type) == (400, "NOT_ALLOWED_IN_CURRENT_STATE")


async def test_real_time_at_speed_10000(launch: Launch) -> None:
    """At speed 10,000 a 20-minute upgrade finishes in about 0.12 real seconds."""
    served = await launch(one_vcenter(supervisor(), sim="speed = 10000.0"))
    vc = served.vc()
    task = (await vc.create("supervisor-1")).json
    done = await vc.wait_task_end(task, limit=5.0)
    assert done["status"] == "SUCCEEDED"
    assert (await vc.info("supervisor-1"))["current_version"] == "9.1.0"
