"""``fleetupgrade plan new`` end to end: live and saved sources, validity, layout, a real run."""

from __future__ import annotations

import tomllib
from collections import Counter
from pathlib import Path
from typing import Any

import pytest

from tests.inventory.conftest import UPGRADEABLE, Fleet

OPTIONS = ("--to", "9.1.0", "--wave-size", "2", "--max-per-vcenter-per-wave", "1", "--pause", "1m")


def members(plan: dict[str, Any]) -> list[list[str]]:
    """Each wave's Supervisors as ``vcenter/id``."""
    return [[f"{s['vcenter']}/{s['id']}" for s in w["supervisors"]] for w in plan["waves"]]


@pytest.fixture(scope="module")
def saved_inventory(fleet: Fleet) -> Path:
    """``inventory --format json`` of the fleet, saved next to it."""
    import os

    from click.testing import CliRunner

    from fleetupgrade.cli.main import cli
    from tests.inventory.conftest import PASSWORD, PASSWORD_ENV

    path = fleet.directory / "inventory.json"
    os.environ[PASSWORD_ENV] = PASSWORD
    try:
        result = CliRunner().invoke(
            cli, ["inventory", str(fleet.fleet_file), "--format", "json", "-o", str(path)]
        )
    finally:
        del os.environ[PASSWORD_ENV]
    assert result.exit_code == 0, result.output
    return path


def test_live_and_saved_sources_give_the_same_bytes(
    fleet: Fleet, saved_inventory: Path, fleetupgrade: Any
) -> None:
    """A plan written from the live fleet equals, byte for byte, one from its saved inventory."""
    live = fleet.directory / "live.toml"
    saved = fleet.directory / "saved.toml"
    first = fleetupgrade("plan", "new", fleet.fleet_file, *OPTIONS, "-o", live, "--force")
    second = fleetupgrade("plan", "new", saved_inventory, *OPTIONS, "-o", saved, "--force")
    assert (first.exit_code, second.exit_code) == (0, 0), first.stderr + second.stderr
    assert live.read_bytes() == saved.read_bytes()
    assert "wrote" in first.stderr


def test_layout_canary_waves_and_caps(
    fleet: Fleet, saved_inventory: Path, fleetupgrade: Any
) -> None:
    """Every upgradeable Supervisor once; canary across vCenters; sizes and caps respected."""
    result = fleetupgrade("plan", "new", saved_inventory, *OPTIONS)
    assert result.exit_code == 0, result.stderr
    plan = tomllib.loads(result.stdout)
    waves = members(plan)
    placed = [m for wave in waves for m in wave]
    assert sorted(placed) == sorted(UPGRADEABLE)
    assert plan["waves"][0]["name"] == "canary"
    assert waves[0] == ["vc-a/a1", "vc-b/b1", "vc-c/c1", "vc-d/d1"]
    assert plan["waves"][0]["max_precheck_errors"] == 0
    assert plan["waves"][0]["max_failures"] == 0
    for wave, spec in zip(waves[1:], plan["waves"][1:], strict=True):
        assert len(wave) <= 2
        assert max(Counter(m.split("/")[0] for m in wave).values()) <= 1
        assert spec["max_precheck_error_percent"] == 10
        assert spec["max_failure_percent"] == 5
    assert [v["name"] for v in plan["vcenters"]] == ["vc-a", "vc-b", "vc-c", "vc-d"]
    assert all("password" not in v for v in plan["vcenters"])
    assert (
        "plan lab-to-9-1-0: 8 Supervisor(s) to 9.1.0 in 3 wave(s): canary 4, wave-1 2, wave-2 2"
        in result.stderr
    )
    assert (
        "left out: 5 (already_current 2, error_state 1, in_progress 1, not_available 1)"
        in result.stderr
    )


def test_left_out_supervisors_are_commented_with_reasons(
    saved_inventory: Path, fleetupgrade: Any
) -> None:
    """Each left-out Supervisor is named in a comment with its reason."""
    text = fleetupgrade("plan", "new", saved_inventory, *OPTIONS).stdout
    comments = [line for line in text.splitlines() if line.startswith("#")]
    for needle in (
        "vc-a/a-cur (lab-a-cur): runs 9.1.0",
        "vc-a/a-new (lab-a-new): runs 9.10.0 (newer)",
        "vc-b/b-old (lab-b-old): 9.1.0 is not available (available: 9.0.5)",
        "vc-b/b-busy (lab-b-busy): an upgrade to 9.1.0 is in progress",
        "vc-c/c-err (lab-c-err): Upgrades state ERROR",
    ):
        assert any(needle in line for line in comments), needle
    assert '{ vcenter = "vc-a", id = "a1" },  # lab-a1' in text


def test_generated_plan_validates_and_runs_to_exit_0(
    fleet: Fleet, saved_inventory: Path, fleetupgrade: Any, tmp_path: Path
) -> None:
    """The plan passes validate and a simulated run of it against the same fleet exits 0."""
    plan = tmp_path / "new.toml"
    assert fleetupgrade("plan", "new", saved_inventory, *OPTIONS, "-o", plan).exit_code == 0
    checked = fleetupgrade("validate", plan)
    assert checked.exit_code == 0, checked.stdout + checked.stderr
    run = fleetupgrade(
        "run", plan, "--simulate", fleet.scenario, "--runs-dir", tmp_path / "runs", "--no-progress"
    )
    assert run.exit_code == 0, run.stdout + run.stderr


def test_include_and_exclude_narrow_the_plan(
    saved_inventory: Path, fleetupgrade: Any, tmp_path: Path
) -> None:
    """--include keeps only the listed (by id or name); --exclude drops; both are commented."""
    include = tmp_path / "include.csv"
    include.write_text(
        "vcenter,id,name\nvc-a,a1,\nvc-b,,lab-b2\nvc-c,c1,\nvc-x,zz,\n", encoding="utf-8"
    )
    exclude = tmp_path / "exclude.csv"
    exclude.write_text("vcenter,id\nvc-c,c1\n", encoding="utf-8")
    result = fleetupgrade(
        "plan", "new", saved_inventory, "--to", "9.1.0", "--include", include, "--exclude", exclude
    )
    assert result.exit_code == 0, result.stderr
    placed = sorted(m for wave in members(tomllib.loads(result.stdout)) for m in wave)
    assert placed == ["vc-a/a1", "vc-b/b2"]
    assert f"{exclude}, line 2" in result.stdout
    assert "not_included" in result.stdout
    assert "line 5: vc-x/zz matches no Supervisor" in result.stderr


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("vcenter,host\nvc-a,x\n", "line 1: the header row must name a vcenter column"),
        ("vcenter,id\n,a1\n", "line 2: vcenter is empty"),
        ("vcenter,id,name\nvc-a,,\n", "line 2: needs an id or a name"),
    ],
)
def test_bad_selection_csv_is_a_located_exit_2(
    saved_inventory: Path, fleetupgrade: Any, tmp_path: Path, text: str, message: str
) -> None:
    """A selection file without the needed columns or cells is refused with its line."""
    bad = tmp_path / "bad.csv"
    bad.write_text(text, encoding="utf-8")
    result = fleetupgrade("plan", "new", saved_inventory, "--to", "9.1.0", "--exclude", bad)
    assert result.exit_code == 2
    assert message in result.stderr


def test_existing_output_needs_force(
    saved_inventory: Path, fleetupgrade: Any, tmp_path: Path
) -> None:
    """An existing file is never overwritten without --force."""
    out = tmp_path / "plan.toml"
    out.write_text("keep me", encoding="utf-8")
    result = fleetupgrade("plan", "new", saved_inventory, "--to", "9.1.0", "-o", out)
    assert result.exit_code == 2
    assert "--force" in result.stderr
    assert out.read_text(encoding="utf-8") == "keep me"
    assert (
        fleetupgrade(
            "plan", "new", saved_inventory, "--to", "9.1.0", "-o", out, "--force"
        ).exit_code
        == 0
    )
    assert out.read_text(encoding="utf-8").startswith("# Plan written by")


def test_nothing_to_upgrade_writes_nothing_and_exits_1(
    saved_inventory: Path, fleetupgrade: Any, tmp_path: Path
) -> None:
    """A target no Supervisor can take: no plan, exit 1, and the reasons on stderr."""
    out = tmp_path / "plan.toml"
    result = fleetupgrade("plan", "new", saved_inventory, "--to", "9.5.0", "-o", out)
    assert result.exit_code == 1
    assert not out.exists()
    assert "nothing to upgrade to 9.5.0" in result.stderr


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("--wave-size", "0"), "wave size"),
        (("--max-failure-percent", "150"), "at most 100"),
        (("--pause", "soon"), "--pause"),
        (("--name", "Bad Name"), "plan name"),
        (("--to", ""), "non-empty"),
    ],
)
def test_bad_options_are_exit_2(
    saved_inventory: Path, fleetupgrade: Any, args: tuple[str, ...], message: str
) -> None:
    """Options out of range are usage errors naming the problem."""
    result = fleetupgrade("plan", "new", saved_inventory, "--to", "9.1.0", *args)
    assert result.exit_code == 2
    assert message in result.stderr


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ('{"schema_version": 1, ', "JSON syntax error"),
        (
            '{"schema_version": 2, "generated_at": "", "fleet": "f", "vcenters": [], "supervisors": []}',
            "schema_version",
        ),
        (
            '{"schema_version": 1, "generated_at": "", "fleet": "f", "vcenters": [], "supervisors": [], "extra": 1}',
            "extra",
        ),
    ],
)
def test_bad_inventory_json_is_a_located_exit_2(
    fleetupgrade: Any, tmp_path: Path, text: str, message: str
) -> None:
    """A damaged or foreign inventory file is refused, never half-read."""
    source = tmp_path / "inv.json"
    source.write_text(text, encoding="utf-8")
    result = fleetupgrade("plan", "new", source, "--to", "9.1.0")
    assert result.exit_code == 2
    assert message in result.stderr


def test_live_source_with_a_down_vcenter_still_writes_the_plan_and_exits_1(
    fleet: Fleet, fleetupgrade: Any
) -> None:
    """The reachable vCenters are planned; the unreachable one is named in a comment; exit 1."""
    fleet.sim.set_faults("vc-d", down=True)
    try:
        result = fleetupgrade("plan", "new", fleet.fleet_file, *OPTIONS)
    finally:
        fleet.sim.set_faults("vc-d", down=False)
    assert result.exit_code == 1
    plan = tomllib.loads(result.stdout)
    assert [v["name"] for v in plan["vcenters"]] == ["vc-a", "vc-b", "vc-c"]
    assert "# Unreachable when listed: 1 vCenter(s)" in result.stdout
    assert "#   vc-d: " in result.stdout
    assert "unreachable vCenters (not in the plan): vc-d" in result.stderr
