"""``fleetupgrade inventory`` against the simulator: rows, actions, formats, exit codes."""

from __future__ import annotations

import csv
import io
from pathlib import Path
from typing import Any

import anyio
import pytest

from fleetupgrade.inventory import collect_rows
from fleetupgrade.vcenter import VCenterEndpoint
from tests.inventory.conftest import ACTIONS, PASSWORD, USERNAME, Fleet


def test_json_lists_every_supervisor_with_its_action(fleet: Fleet, fleetupgrade: Any) -> None:
    """One row per Supervisor of every vCenter, each with the action toward the target."""
    result = fleetupgrade("inventory", fleet.fleet_file, "--to", "9.1.0", "--format", "json")
    assert result.exit_code == 0, result.stderr
    doc = result.json()
    assert doc["schema_version"] == 1
    assert doc["target"] == "9.1.0"
    assert doc["errors"] == []
    actions = {f"{s['vcenter']}/{s['id']}": s["action"] for s in doc["supervisors"]}
    assert actions == ACTIONS
    busy = next(s for s in doc["supervisors"] if s["id"] == "b-busy")
    assert busy["state"] == "INPROGRESS"
    assert busy["desired_version"] == "9.1.0"
    a1 = next(s for s in doc["supervisors"] if s["id"] == "a1")
    assert a1 == {
        "vcenter": "vc-a",
        "id": "a1",
        "name": "lab-a1",
        "current_version": "9.0.0",
        "available_versions": ["9.1.0"],
        "state": "READY",
        "desired_version": None,
        "config_status": "RUNNING",
        "kubernetes_status": "READY",
        "last_upgraded_date": None,
        "action": "would_upgrade",
    }
    assert [v["name"] for v in doc["vcenters"]] == ["vc-a", "vc-b", "vc-c", "vc-d"]
    assert doc["vcenters"][0]["password_env"] == "FLEETUPGRADE_INVENTORY_TEST_PASSWORD"
    assert "sim-password" not in result.stdout


def test_down_vcenter_is_listed_with_its_reason_and_exit_1(fleet: Fleet, fleetupgrade: Any) -> None:
    """A vCenter that refuses connections is an error entry; the others are still listed."""
    fleet.sim.set_faults("vc-d", down=True)
    try:
        result = fleetupgrade("inventory", fleet.fleet_file, "--to", "9.1.0", "--format", "json")
    finally:
        fleet.sim.set_faults("vc-d", down=False)
    assert result.exit_code == 1
    doc = result.json()
    assert [e["vcenter"] for e in doc["errors"]] == ["vc-d"]
    assert doc["errors"][0]["error"]
    listed = {f"{s['vcenter']}/{s['id']}" for s in doc["supervisors"]}
    assert listed == set(ACTIONS) - {"vc-d/d1"}


def test_table_fits_the_width_and_names_unreachable(fleet: Fleet, fleetupgrade: Any) -> None:
    """The table is at most as wide as the console; an unreachable vCenter is listed under it."""
    fleet.sim.set_faults("vc-d", down=True)
    try:
        result = fleetupgrade("inventory", fleet.fleet_file, "--to", "9.1.0")
    finally:
        fleet.sim.set_faults("vc-d", down=False)
    assert result.exit_code == 1
    lines = result.stdout.splitlines()
    table = [line for line in lines if "│" in line or "┃" in line]
    assert table
    assert max(len(line) for line in table) <= 200
    assert "unreachable: 1 vCenter(s)" in result.stdout
    assert any(line.startswith("  vc-d: ") for line in lines)
    assert "would_upgrade" in result.stdout


def test_csv_has_a_header_and_one_row_per_supervisor(
    fleet: Fleet, fleetupgrade: Any, tmp_path: Path
) -> None:
    """CSV: header row, then the Supervisors sorted by vCenter and id (-o writes the file)."""
    out = tmp_path / "inv.csv"
    result = fleetupgrade(
        "inventory", fleet.fleet_file, "--to", "9.1.0", "--format", "csv", "-o", out
    )
    assert result.exit_code == 0
    assert result.stdout == ""
    rows = list(csv.DictReader(io.StringIO(out.read_text(encoding="utf-8"))))
    assert [f"{r['vcenter']}/{r['id']}" for r in rows] == sorted(ACTIONS)
    assert {f"{r['vcenter']}/{r['id']}": r["action"] for r in rows} == ACTIONS


def test_vcenter_option_narrows_and_unknown_is_exit_2(fleet: Fleet, fleetupgrade: Any) -> None:
    """--vcenter lists only that vCenter; a name the plan lacks is a located usage error."""
    result = fleetupgrade("inventory", fleet.fleet_file, "--vcenter", "vc-b", "--format", "json")
    assert result.exit_code == 0
    assert {s["vcenter"] for s in result.json()["supervisors"]} == {"vc-b"}
    assert [v["name"] for v in result.json()["vcenters"]] == ["vc-b"]
    bad = fleetupgrade("inventory", fleet.fleet_file, "--vcenter", "vc-x")
    assert bad.exit_code == 2
    assert "--vcenter: the plan has no vCenter 'vc-x'" in bad.stderr


def test_bad_plan_is_exit_2(fleetupgrade: Any, tmp_path: Path) -> None:
    """A plan that does not validate is refused with its location, before any request."""
    plan = tmp_path / "bad.toml"
    plan.write_text('version = 1\nname = "x"\nvcenterz = []\n', encoding="utf-8")
    result = fleetupgrade("inventory", plan)
    assert result.exit_code == 2
    assert "vcenterz" in result.stderr


def test_missing_credentials_are_exit_2(fleet: Fleet, fleetupgrade: Any, monkeypatch: Any) -> None:
    """A password variable that is not set stops the command before anything is sent."""
    monkeypatch.delenv("FLEETUPGRADE_INVENTORY_TEST_PASSWORD")
    result = fleetupgrade("inventory", fleet.fleet_file)
    assert result.exit_code == 2
    assert "FLEETUPGRADE_INVENTORY_TEST_PASSWORD" in result.stderr


def test_newer_than_target_is_already_current(fleet: Fleet, fleetupgrade: Any) -> None:
    """9.10.0 is newer than 9.9.0 (numeric order), so a 9.9.0 target leaves it alone."""
    result = fleetupgrade("inventory", fleet.fleet_file, "--to", "9.9.0", "--format", "json")
    actions = {s["id"]: s["action"] for s in result.json()["supervisors"]}
    assert actions["a-new"] == "already_current"
    assert actions["a-cur"] == "not_available"


def test_without_a_target_there_is_no_action(fleet: Fleet, fleetupgrade: Any) -> None:
    """A fleet file without desired_version and no --to: rows carry no action."""
    result = fleetupgrade("inventory", fleet.fleet_file, "--format", "json")
    assert result.exit_code == 0
    doc = result.json()
    assert doc["target"] is None
    assert {s["action"] for s in doc["supervisors"]} == {None}
    table = fleetupgrade("inventory", fleet.fleet_file)
    assert "would_upgrade" not in table.stdout


@pytest.mark.anyio
async def test_collect_is_cancellable(fleet: Fleet) -> None:
    """A caller's deadline stops the reads of a slow vCenter promptly, the others unharmed."""
    endpoints = {
        name: VCenterEndpoint(
            name=name,
            url=fleet.sim.url(name),
            username=USERNAME,
            password=PASSWORD,
            ca_file=fleet.sim.ca_file,
        )
        for name in ("vc-a", "vc-b")
    }
    await anyio.to_thread.run_sync(lambda: fleet.sim.set_faults("vc-a", latency="30s"))
    try:
        started = anyio.current_time()
        with anyio.move_on_after(0.5) as scope:
            await collect_rows(endpoints)
        assert scope.cancelled_caught
        assert anyio.current_time() - started < 3
    finally:
        await anyio.to_thread.run_sync(lambda: fleet.sim.set_faults("vc-a", latency="0s"))
    rows, failures = await collect_rows(endpoints)
    assert failures == []
    assert {r.vcenter for r in rows} == {"vc-a", "vc-b"}
