"""Selection files (--include / --exclude): by id or name, located errors, inventory CSVs."""

from __future__ import annotations

from pathlib import Path

import pytest

from fleetupgrade.errors import PlanError
from fleetupgrade.inventory.model import Inventory
from fleetupgrade.inventory.render import inventory_csv
from fleetupgrade.inventory.selection import load_selectors
from tests.inventory.test_plantext import row


def write(tmp_path: Path, text: str) -> Path:
    """A selection file with that text."""
    path = tmp_path / "sel.csv"
    path.write_text(text, encoding="utf-8")
    return path


def test_id_wins_over_name_and_first_row_is_reported(tmp_path: Path) -> None:
    """A row with an id matches by id only; the first matching row is the one reported."""
    sel = load_selectors(
        write(tmp_path, "\ufeffVCenter,ID,Name\nvc,s1,\nvc,,name of s1\nvc,other,name of s2\n")
    )
    assert sel.match(row("vc", "s1")).line == 2  # type: ignore[union-attr]
    assert sel.match(row("vc", "s2")) is None  # the row has an id, so its name is ignored
    assert sel.match(row("vc-x", "s1")) is None
    assert [s.label for s in sel.unmatched([row("vc", "s1")])] == ["vc/other"]


def test_an_inventory_csv_is_a_selection_file(tmp_path: Path) -> None:
    """The inventory's own CSV works as is; its unreachable-vCenter rows are skipped."""
    from fleetupgrade.inventory.model import VCenterFailure

    inv = Inventory(
        fleet="f",
        vcenters=(),
        supervisors=(row("vc", "s1"), row("vc", "s2")),
        errors=(VCenterFailure("vc-down", "connection refused"),),
    )
    sel = load_selectors(write(tmp_path, inventory_csv(inv)))
    assert [s.label for s in sel.selectors] == ["vc/s1", "vc/s2"]


@pytest.mark.parametrize(
    ("text", "location"),
    [
        ("", "line 1"),
        ("vcenter,id\nvc,a\n,b\nvc,\n", "line 3"),
        ('vcenter,id\nvc,"a\n', "line 2: CSV error"),
        ('"vcenter,id\n', "line 1: CSV error"),
    ],
)
def test_problems_are_located(tmp_path: Path, text: str, location: str) -> None:
    """Every problem names its line."""
    with pytest.raises(PlanError) as caught:
        load_selectors(write(tmp_path, text))
    assert location in str(caught.value)


def test_unreadable_file_is_a_plan_error(tmp_path: Path) -> None:
    """A missing file is a located error, not a traceback."""
    with pytest.raises(PlanError, match="cannot read the file"):
        load_selectors(tmp_path / "missing.csv")
