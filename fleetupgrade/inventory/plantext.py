"""Write a plan as TOML text: deterministic, commented, and valid for ``fleetupgrade validate``.

Why text formatted here rather than a TOML library's dump: the plan is a document a
person reviews in a change ticket, so it carries comments (each Supervisor's name, why a
wave has its gates, who was left out and why) and a fixed key order; and the same input
must give the same bytes, so a plan written from a live fleet and one written from a saved
inventory of that fleet can be compared with ``diff``.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from fleetupgrade.inventory.model import DefaultValue, VCenterFailure
from fleetupgrade.inventory.waves import Member
from fleetupgrade.plan.model import VCenterConfig

__all__ = [
    "LeftOut",
    "PlanDraft",
    "WaveDraft",
    "comment_text",
    "render_plan",
    "toml_string",
    "toml_value",
]

_ESCAPES = {
    '"': '\\"',
    "\\": "\\\\",
    "\b": "\\b",
    "\t": "\\t",
    "\n": "\\n",
    "\f": "\\f",
    "\r": "\\r",
}


def toml_string(text: str) -> str:
    """A TOML basic string: quotes, backslashes and control characters escaped."""
    out = []
    for char in text:
        if char in _ESCAPES:
            out.append(_ESCAPES[char])
        elif ord(char) < 0x20 or ord(char) == 0x7F:
            out.append(f"\\u{ord(char):04X}")
        else:
            out.append(char)
    return '"' + "".join(out) + '"'


def toml_value(value: DefaultValue) -> str:
    """A scalar as TOML (bool before int: ``True`` is an int in Python)."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        return repr(value)
    return toml_string(value)


def comment_text(text: str) -> str:
    """Text safe on one comment line (control characters become spaces)."""
    return "".join(" " if ord(c) < 0x20 or ord(c) == 0x7F else c for c in text)


@dataclass(frozen=True, slots=True)
class WaveDraft:
    """One wave: its name, why it is shaped so, its gate keys (TOML text) and members."""

    name: str
    comment: str
    gates: tuple[tuple[str, str], ...]
    members: tuple[Member, ...]


@dataclass(frozen=True, slots=True)
class LeftOut:
    """A Supervisor kept out of the plan: the reason kind (an action, ``excluded``...) and why."""

    vcenter: str
    id: str
    name: str
    kind: str
    reason: str


@dataclass(frozen=True, slots=True)
class PlanDraft:
    """Everything the plan text says, decided; :func:`render_plan` only formats it."""

    name: str
    fleet: str
    target: str
    header: tuple[str, ...]
    defaults: tuple[tuple[str, DefaultValue], ...]
    vcenters: tuple[VCenterConfig, ...]
    waves: tuple[WaveDraft, ...]
    left_out: tuple[LeftOut, ...]
    failures: tuple[VCenterFailure, ...]
    idle_vcenters: tuple[str, ...]


def _path(value: Path, base: Path) -> str:
    try:
        return os.path.relpath(value, base)
    except ValueError:  # another drive (Windows): keep it absolute
        return str(value)


def _vcenter_lines(vcenter: VCenterConfig, base: Path) -> list[str]:
    """The ``[[vcenters]]`` table: the keys that are set, in the model's order."""
    lines = ["[[vcenters]]"]
    for key, value in vcenter.model_dump(exclude_none=True).items():
        text = toml_string(_path(value, base)) if isinstance(value, Path) else toml_value(value)
        lines.append(f"{key} = {text}")
    return lines


def _wave_lines(wave: WaveDraft) -> list[str]:
    lines = ["[[waves]]", f"name = {toml_string(wave.name)}"]
    lines += [f"# {comment_text(line)}" for line in wave.comment.splitlines()]
    lines += [f"{key} = {value}" for key, value in wave.gates]
    lines.append("supervisors = [")
    for member in wave.members:
        entry = f"  {{ vcenter = {toml_string(member.vcenter)}, id = {toml_string(member.id)} }},"
        lines.append(f"{entry}  # {comment_text(member.name)}" if member.name else entry)
    lines.append("]")
    return lines


def _left_out_lines(left_out: Sequence[LeftOut]) -> list[str]:
    if not left_out:
        return []
    lines = [f"# Left out of this plan: {len(left_out)} Supervisor(s)."]
    for kind in sorted({item.kind for item in left_out}):
        items = sorted((i for i in left_out if i.kind == kind), key=lambda i: (i.vcenter, i.id))
        lines.append(f"#   {kind} ({len(items)}):")
        lines += [
            f"#     {comment_text(f'{i.vcenter}/{i.id} ({i.name}): {i.reason}')}" for i in items
        ]
    return lines


def render_plan(draft: PlanDraft, *, base: Path) -> str:
    """The plan text; paths (ca_file, password_file) are written relative to ``base``."""
    lines = [f"# {comment_text(line)}" if line else "#" for line in draft.header]
    lines += ["", "version = 1", f"name = {toml_string(draft.name)}", "", "[defaults]"]
    lines.append(f"desired_version = {toml_string(draft.target)}")
    lines += [f"{key} = {toml_value(value)}" for key, value in draft.defaults]
    for vcenter in draft.vcenters:
        lines += ["", *_vcenter_lines(vcenter, base)]
    for wave in draft.waves:
        lines += ["", *_wave_lines(wave)]
    tail: list[str] = []
    if draft.failures:
        tail.append(
            f"# Unreachable when listed: {len(draft.failures)} vCenter(s); "
            "none of their Supervisors is in this plan."
        )
        tail += [f"#   {comment_text(f'{f.vcenter}: {f.error}')}" for f in draft.failures]
    if draft.idle_vcenters:
        tail.append(
            "# vCenters of the fleet with nothing to upgrade (left out): "
            + ", ".join(draft.idle_vcenters)
        )
    tail += _left_out_lines(draft.left_out)
    if tail:
        lines += ["", *tail]
    return "\n".join(lines) + "\n"
