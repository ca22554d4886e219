"""Render an inventory as a terminal table or CSV (JSON: :mod:`.jsonfile`).

The table is for a person at a terminal: it fits the console's width (long cells end in
an ellipsis) and lists unreachable vCenters under it. CSV is for spreadsheets: one header
row, one row per Supervisor, and one row per unreachable vCenter with only ``vcenter``
and ``error`` filled in, so nothing silently disappears from the file.
"""

from __future__ import annotations

import csv
import io
from typing import TextIO

from rich.console import Console
from rich.table import Table
from rich.text import Text

from fleetupgrade.inventory.model import Inventory, SupervisorRow

__all__ = ["CSV_COLUMNS", "inventory_csv", "print_table"]

CSV_COLUMNS = (
    "vcenter",
    "id",
    "name",
    "current_version",
    "available_versions",
    "state",
    "desired_version",
    "config_status",
    "kubernetes_status",
    "last_upgraded_date",
    "action",
    "error",
)


def _cells(row: SupervisorRow, target: str | None) -> dict[str, str]:
    return {
        "vcenter": row.vcenter,
        "id": row.id,
        "name": row.name,
        "current_version": row.current_version or "",
        "available_versions": " ".join(row.available_versions),
        "state": row.state or "",
        "desired_version": row.desired_version or "",
        "config_status": row.config_status or "",
        "kubernetes_status": row.kubernetes_status or "",
        "last_upgraded_date": row.last_upgraded_date or "",
        "action": "" if target is None else row.action(target).value,
        "error": "",
    }


def inventory_csv(inventory: Inventory) -> str:
    """CSV text: header, Supervisors (by vCenter, id), then unreachable vCenters."""
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=CSV_COLUMNS, lineterminator="\n")
    writer.writeheader()
    for row in inventory.sorted_rows():
        writer.writerow(_cells(row, inventory.target))
    for failure in inventory.errors:
        writer.writerow(
            {**dict.fromkeys(CSV_COLUMNS, ""), "vcenter": failure.vcenter, "error": failure.error}
        )
    return buffer.getvalue()


_TABLE = (
    ("vcenter", "vCenter"),
    ("id", "id"),
    ("name", "name"),
    ("current_version", "current"),
    ("available_versions", "available"),
    ("state", "state"),
    ("config_status", "config"),
    ("kubernetes_status", "k8s"),
    ("last_upgraded_date", "last upgraded"),
)


def print_table(inventory: Inventory, out: TextIO, *, width: int | None = None) -> None:
    """Print the table to ``out``, as wide as the console (or ``width``)."""
    console = Console(file=out, width=width, highlight=False, soft_wrap=False)
    columns = list(_TABLE) + ([("action", "action")] if inventory.target else [])
    title = f"{inventory.fleet}: {len(inventory.supervisors)} Supervisor(s)"
    if inventory.target:
        title += f", target {inventory.target}"
    table = Table(title=title, title_justify="left", header_style="bold", expand=False)
    for _, header in columns:
        table.add_column(header, no_wrap=True, overflow="ellipsis")
    for row in inventory.sorted_rows():
        cells = _cells(row, inventory.target)
        table.add_row(*(Text(cells[key]) for key, _ in columns))
    console.print(table)
    if inventory.errors:
        console.print(f"unreachable: {len(inventory.errors)} vCenter(s)", style="bold red")
        for failure in inventory.errors:
            console.print(f"  {failure.vcenter}: {failure.error}", markup=False)
    if inventory.target:
        counts: dict[str, int] = {}
        for row in inventory.supervisors:
            action = row.action(inventory.target).value
            counts[action] = counts.get(action, 0) + 1
        summary = ", ".join(f"{action} {n}" for action, n in sorted(counts.items()))
        console.print(f"toward {inventory.target}: {summary or 'no Supervisor'}", markup=False)
