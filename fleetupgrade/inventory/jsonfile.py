"""The inventory JSON: written by ``inventory --format json``, read back by ``plan new``.

A stable, documented format (docs/inventory.md): ``schema_version`` changes whenever a
reader would misread a file. Reading goes through pydantic models that forbid unknown keys,
so a hand-edited file with a typo is refused with the key's location, never half-read.
A ``vcenters`` entry is the plan's own model (written and read as a plan's ``[[vcenters]]``
table), so the two can never drift apart.
"""

from __future__ import annotations

import json
from dataclasses import asdict
from typing import Annotated, Any, Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    StrictBool,
    StrictFloat,
    StrictInt,
    StrictStr,
    ValidationError,
)

from fleetupgrade.errors import Issue, PlanError
from fleetupgrade.inventory.model import Inventory, SupervisorRow, VCenterFailure
from fleetupgrade.plan.model import VCenterConfig

__all__ = ["SCHEMA_VERSION", "inventory_document", "inventory_json", "parse_inventory_json"]

SCHEMA_VERSION = 1


def inventory_document(inventory: Inventory) -> dict[str, Any]:
    """The JSON document of an inventory (keys in a fixed order)."""
    target = inventory.target
    return {
        "schema_version": SCHEMA_VERSION,
        "generated_at": inventory.generated_at,
        "fleet": inventory.fleet,
        "target": target,
        "defaults": dict(inventory.defaults),
        "vcenters": [v.model_dump(mode="json") for v in inventory.vcenters],
        "supervisors": [
            {
                **asdict(row),
                "available_versions": list(row.available_versions),
                "action": None if target is None else row.action(target).value,
            }
            for row in inventory.sorted_rows()
        ],
        "errors": [asdict(e) for e in inventory.errors],
    }


def inventory_json(inventory: Inventory) -> str:
    """The inventory as indented JSON text, ending with a newline."""
    return json.dumps(inventory_document(inventory), indent=2, ensure_ascii=False) + "\n"


class _Model(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid", strict=True)


Text = Annotated[StrictStr, Field(min_length=1)]


class _Supervisor(_Model):
    vcenter: Text
    id: Text
    name: StrictStr
    current_version: Text | None
    available_versions: tuple[Text, ...]
    state: Text | None
    desired_version: Text | None = None
    config_status: Text | None
    kubernetes_status: Text | None
    last_upgraded_date: Text | None = None
    action: StrictStr | None = None  # derived: recomputed for the target of ``plan new``


class _Failure(_Model):
    vcenter: Text
    error: StrictStr


class _Document(_Model):
    schema_version: Literal[1]
    generated_at: StrictStr
    fleet: Text
    target: Text | None = None
    defaults: dict[str, StrictBool | StrictInt | StrictFloat | StrictStr] = Field(
        default_factory=dict
    )
    vcenters: tuple[VCenterConfig, ...]  # checked as a plan checks its [[vcenters]]
    supervisors: tuple[_Supervisor, ...]
    errors: tuple[_Failure, ...] = ()


def _location(loc: tuple[int | str, ...]) -> str:
    out = ""
    for part in loc:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out


def parse_inventory_json(text: str, *, source: str) -> Inventory:
    """Read an inventory JSON; every problem located in one PlanError (exit 2)."""
    try:
        json.loads(text)
    except json.JSONDecodeError as exc:
        raise PlanError(
            source,
            [Issue(f"line {exc.lineno}, column {exc.colno}", f"JSON syntax error: {exc.msg}")],
        ) from None
    try:
        doc = _Document.model_validate_json(text)
    except ValidationError as exc:
        issues = [Issue(_location(tuple(e["loc"])), e["msg"]) for e in exc.errors()]
        raise PlanError(source, issues) from None
    names = [v.name for v in doc.vcenters]
    issues = [
        Issue(f"supervisors[{i}].vcenter", f"vCenter {s.vcenter!r} is not in the vcenters list")
        for i, s in enumerate(doc.supervisors)
        if s.vcenter not in names
    ]
    if len(set(names)) != len(names):
        issues.append(Issue("vcenters", "a vCenter name is listed twice"))
    if issues:
        raise PlanError(source, issues)
    return Inventory(
        fleet=doc.fleet,
        vcenters=doc.vcenters,
        supervisors=tuple(
            SupervisorRow(**s.model_dump(exclude={"action"})) for s in doc.supervisors
        ),
        errors=tuple(VCenterFailure(e.vcenter, e.error) for e in doc.errors),
        defaults=tuple(sorted(doc.defaults.items())),
        target=doc.target,
        generated_at=doc.generated_at,
    )
