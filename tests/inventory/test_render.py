"""Renderings of an inventory: the table fits its width, JSON reads back to the same inventory."""

from __future__ import annotations

import io
import json
from dataclasses import replace
from pathlib import Path

import pytest

from fleetupgrade.errors import PlanError
from fleetupgrade.inventory import (
    NewPlanOptions,
    draft_plan,
    inventory_json,
    parse_inventory_json,
    print_table,
    render_plan,
)
from fleetupgrade.inventory.model import VCenterFailure
from tests.inventory.test_plantext import inventory, row


@pytest.mark.parametrize("width", [60, 100, 160])
def test_table_fits_the_width(tmp_path: Path, width: int) -> None:
    """No line is wider than the console; long cells end in an ellipsis."""
    inv = replace(
        inventory(tmp_path),
        target="9.1.0",
        supervisors=(row("vc-a", "s1", name="a-very-long-supervisor-name-" * 4),),
        errors=(VCenterFailure("vc-down", "connection refused " * 10),),
    )
    out = io.StringIO()
    print_table(inv, out, width=width)
    lines = out.getvalue().splitlines()
    assert max(len(line) for line in lines) <= width
    assert "…" in out.getvalue()
    assert "unreachable: 1 vCenter(s)" in out.getvalue()


def test_markup_in_names_is_shown_as_text(tmp_path: Path) -> None:
    """A name that looks like rich markup is printed literally."""
    inv = replace(inventory(tmp_path), supervisors=(row("vc-a", "s1", name="[bold]x[/bold]"),))
    out = io.StringIO()
    print_table(inv, out, width=200)
    assert "[bold]x[/bold]" in out.getvalue()


def test_json_round_trip_gives_the_same_plan(tmp_path: Path) -> None:
    """An inventory written as JSON and read back drafts the very same plan."""
    inv = replace(
        inventory(tmp_path),
        target="9.1.0",
        generated_at="2026-12-01T00:00:00.000Z",
        errors=(VCenterFailure("vc-down", "refused"),),
    )
    again = parse_inventory_json(inventory_json(inv), source="inv.json")
    assert again == replace(inv, supervisors=inv.sorted_rows())
    options = NewPlanOptions(target="9.1.0")
    assert render_plan(draft_plan(again, options).draft, base=tmp_path) == render_plan(
        draft_plan(inv, options).draft, base=tmp_path
    )


def test_json_supervisor_of_unknown_vcenter_is_located(tmp_path: Path) -> None:
    """A Supervisor whose vCenter is not in the vcenters list is refused with its index."""
    doc = json.loads(inventory_json(inventory(tmp_path)))
    doc["supervisors"][1]["vcenter"] = "vc-x"
    with pytest.raises(PlanError, match=r"supervisors\[1\]\.vcenter: vCenter 'vc-x'"):
        parse_inventory_json(json.dumps(doc), source="inv.json")


def test_json_vcenter_is_checked_as_a_plan_checks_it(tmp_path: Path) -> None:
    """A vCenter entry a plan would refuse (a secret in password_env) is refused, located."""
    doc = json.loads(inventory_json(inventory(tmp_path)))
    doc["vcenters"][1]["password_env"] = "hunter2!"
    with pytest.raises(PlanError, match=r"vcenters\[1\]\.password_env: .*NAME of an environment"):
        parse_inventory_json(json.dumps(doc), source="inv.json")
