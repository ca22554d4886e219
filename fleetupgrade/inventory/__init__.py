"""From a fleet to a plan: the live inventory of a fleet's Supervisors and plans written from it.

``inventory`` reads every Supervisor of a plan's vCenters (read-only, concurrently) and
says what an upgrade to a target would do to each; ``plan new`` turns such an inventory
(live, or a saved JSON) into a reviewed-ready plan: a canary across vCenters, then
balanced waves. See docs/inventory.md.
"""

from __future__ import annotations

from fleetupgrade.inventory.collect import collect_rows, inventory_from_plan, select_vcenters
from fleetupgrade.inventory.jsonfile import SCHEMA_VERSION, inventory_json, parse_inventory_json
from fleetupgrade.inventory.model import (
    Action,
    Inventory,
    SupervisorRow,
    VCenterFailure,
)
from fleetupgrade.inventory.newplan import NewPlanOptions, NewPlanResult, draft_plan
from fleetupgrade.inventory.plantext import render_plan
from fleetupgrade.inventory.render import inventory_csv, print_table
from fleetupgrade.inventory.selection import SelectorFile, load_selectors
from fleetupgrade.inventory.waves import Layout, Member, WaveSize, build_layout
from fleetupgrade.versions import compare_versions, is_at_least

__all__ = [
    "SCHEMA_VERSION",
    "Action",
    "Inventory",
    "Layout",
    "Member",
    "NewPlanOptions",
    "NewPlanResult",
    "SelectorFile",
    "SupervisorRow",
    "VCenterFailure",
    "WaveSize",
    "build_layout",
    "collect_rows",
    "compare_versions",
    "draft_plan",
    "inventory_csv",
    "inventory_from_plan",
    "inventory_json",
    "is_at_least",
    "load_selectors",
    "parse_inventory_json",
    "print_table",
    "render_plan",
    "select_vcenters",
]
