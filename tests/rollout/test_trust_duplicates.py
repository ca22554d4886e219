"""One Supervisor, one entry: duplicates after name resolution stop the run before any create.

End to end against the simulator (issue: decisions an operator can trust unattended,
item 4), for the run and the dry run; ``validate`` catches what it can see offline.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from tests.rollout.conftest import PlanSpec
from tests.rollout.scenarios import refs, scenario, sup

BY_ID = {"vcenter": "vc-east", "id": "supervisor-1"}
BY_NAME = {"vcenter": "vc-east", "name": "sv-1"}


def _plan(same_wave: bool) -> PlanSpec:
    if same_wave:
        waves = [{"name": "w", "supervisors": [BY_ID, *refs("vc-east", "supervisor-2"), BY_NAME]}]
    else:
        waves = [
            {"name": "first", "supervisors": [BY_ID]},
            {"name": "second", "supervisors": [*refs("vc-east", "supervisor-2"), BY_NAME]},
        ]
    return PlanSpec(waves=waves)


@pytest.mark.parametrize("dry_run", [False, True], ids=["run", "dry-run"])
@pytest.mark.parametrize("same_wave", [True, False], ids=["one-wave", "across-waves"])
def test_same_supervisor_by_id_and_by_name_exits_2(
    start_sim: Any, fleet_cli: Any, tmp_path: Path, same_wave: bool, dry_run: bool
) -> None:
    """Entries by id and by name that resolve to one Supervisor: exit 2, both named, no create."""
    sim = start_sim(scenario({"vc-east": [sup("supervisor-1"), sup("supervisor-2")]}))
    path = _plan(same_wave).write(tmp_path, sim)
    result = fleet_cli("run", str(path), *(["--dry-run"] if dry_run else []))
    assert result.exit_code == 2, result.output
    named = (
        "wave 'w' entry 1 (id supervisor-1) and wave 'w' entry 3 (name sv-1)"
        if same_wave
        else "wave 'first' entry 1 (id supervisor-1) and wave 'second' entry 2 (name sv-1)"
    )
    assert f"error: {named} both designate vc-east/supervisor-1" in result.output
    assert sim.stats()["creates"] == {}
    assert (
        "POST /api/vcenter/namespace-management/software/supervisors/upgrades/jobs/{supervisor}"
        not in (sim.stats()["requests"])
    )


@pytest.mark.parametrize(
    ("first", "second"),
    [
        (
            {"vcenter": "vc-east", "id": "supervisor-1"},
            {"vcenter": "vc-east", "id": "supervisor-1"},
        ),
        ({"vcenter": "vc-east", "name": "sv-1"}, {"vcenter": "vc-east", "name": "sv-1"}),
    ],
    ids=["same-id", "same-name"],
)
def test_validate_catches_duplicates_offline(
    fleet_cli: Any, tmp_path: Path, first: dict[str, str], second: dict[str, str]
) -> None:
    """``validate`` refuses the same id twice or the same name twice on one vCenter."""
    plan = PlanSpec(
        waves=[
            {"name": "a", "supervisors": [first]},
            {"name": "b", "supervisors": [second]},
        ]
    )
    result = fleet_cli("validate", str(plan.write(tmp_path, None)))
    assert result.exit_code == 2, result.output
    assert "line 21" in result.output
    assert 'appears twice in the plan: wave "a" supervisors[0] and wave "b" supervisors[0]' in (
        result.output
    )
