"""Scenario texts for end-to-end tests: fast clocks, tiny durations."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from tests.rollout.conftest import toml_value

FAST = {"precheck_duration": "10s", "upgrade_duration": "60s"}


def sup(ident: str, **fields: Any) -> dict[str, Any]:
    """A Supervisor entry; name is ``sv-`` + the id's number unless given."""
    name = fields.pop("name", "sv-" + ident.rsplit("-", maxsplit=1)[-1])
    return {"id": ident, "name": name, **FAST, **fields}


def error_check(check_id: str = "tkc.compat") -> list[dict[str, str]]:
    return [{"severity": "ERROR", "id": check_id, "text": "TKC blue is not compatible"}]


def warning_check(check_id: str = "disk.space") -> list[dict[str, str]]:
    return [{"severity": "WARNING", "id": check_id, "text": "disk space is low"}]


def scenario(
    vcenters: Mapping[str, Sequence[Mapping[str, Any]]],
    *,
    speed: float = 100.0,
    faults: Mapping[str, Mapping[str, Any]] | None = None,
    users: Sequence[Mapping[str, Any]] | None = None,
) -> str:
    """A scenario TOML text."""
    lines = ["[sim]", "seed = 7", f"speed = {speed!r}", ""]
    for user in users or [
        {
            "username": "administrator@vsphere.local",
            "password": "sim-password",
            "privileges": ["Namespaces.Upgrade"],
        }
    ]:
        lines += ["[[users]]"] + [f"{k} = {toml_value(v)}" for k, v in user.items()] + [""]
    for name, supervisors in vcenters.items():
        lines += ["[[vcenters]]", f'name = "{name}"']
        if faults and name in faults:
            lines.append(f"faults = {toml_value(faults[name])}")
        lines.append("")
        for entry in supervisors:
            lines += ["[[vcenters.supervisors]]"]
            lines += [f"{k} = {toml_value(v)}" for k, v in entry.items()] + [""]
    return "\n".join(lines)


def refs(vcenter: str, *ids: str) -> list[dict[str, str]]:
    """Plan references by id."""
    return [{"vcenter": vcenter, "id": i} for i in ids]
