"""``plan new``: from an inventory and the operator's options to a plan draft and a summary.

Pure: the inventory was read before (live, or from a saved JSON), and the draft is
formatted by :mod:`.plantext`. Who is in the plan: every Supervisor whose action toward the
target is ``would_upgrade``, within ``--include`` and outside ``--exclude``; everyone else
is left out with a reason. How they are grouped: :func:`~.waves.build_layout`.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import timedelta
from decimal import Decimal

from fleetupgrade.durations import format_duration
from fleetupgrade.inventory.model import Action, Inventory, SupervisorRow
from fleetupgrade.inventory.plantext import LeftOut, PlanDraft, WaveDraft
from fleetupgrade.inventory.selection import Selector, SelectorFile
from fleetupgrade.inventory.waves import Layout, Member, WaveSize, build_layout, default_canary_size

__all__ = ["NewPlanOptions", "NewPlanResult", "default_plan_name", "draft_plan", "format_percent"]

_NAME_MAX = 63
CANARY_WAVE = "canary"


@dataclass(frozen=True, slots=True)
class NewPlanOptions:
    """The options of ``plan new`` (defaults as documented in docs/inventory.md)."""

    target: str
    name: str | None = None
    canary: int | None = None  # None: one per vCenter, at most 5
    wave_size: WaveSize = field(default_factory=lambda: WaveSize.parse("25%"))
    max_per_vcenter: int | None = None
    max_precheck_error_percent: Decimal = Decimal(10)
    max_failure_percent: Decimal = Decimal(5)
    pause: timedelta = timedelta(minutes=15)
    approve_after_canary: bool = False
    include: SelectorFile | None = None
    exclude: SelectorFile | None = None


@dataclass(frozen=True, slots=True)
class NewPlanResult:
    """The draft, the layout behind it, and warnings for stderr."""

    draft: PlanDraft
    layout: Layout
    warnings: tuple[str, ...]

    def summary(self) -> str:
        """A few lines for stderr: waves and their sizes, left-out counts by reason."""
        waves = ", ".join(f"{w.name} {len(w.members)}" for w in self.draft.waves)
        total = sum(len(w.members) for w in self.draft.waves)
        lines = [
            f"plan {self.draft.name}: {total} Supervisor(s) to {self.draft.target} in "
            f"{len(self.draft.waves)} wave(s): {waves or 'none'}"
        ]
        counts: dict[str, int] = {}
        for item in self.draft.left_out:
            counts[item.kind] = counts.get(item.kind, 0) + 1
        if counts:
            detail = ", ".join(f"{kind} {n}" for kind, n in sorted(counts.items()))
            lines.append(f"left out: {len(self.draft.left_out)} ({detail})")
        if self.draft.failures:
            names = ", ".join(f.vcenter for f in self.draft.failures)
            lines.append(f"unreachable vCenters (not in the plan): {names}")
        return "\n".join([*lines, *(f"warning: {w}" for w in self.warnings)])


def format_percent(value: Decimal) -> str:
    """``10`` or ``12.5``: a percentage as a TOML number, without exponent or trailing zeros."""
    return format(value.normalize(), "f")


def default_plan_name(fleet: str, target: str) -> str:
    """``<fleet>-to-<target>``, in plan-name syntax (``[a-z0-9-]``, at most 63 characters)."""
    slug = re.sub(r"[^a-z0-9]+", "-", f"{fleet}-to-{target}".lower()).strip("-")
    return slug[:_NAME_MAX].rstrip("-") or "upgrade"


def _select(
    inventory: Inventory, options: NewPlanOptions
) -> tuple[list[SupervisorRow], list[LeftOut]]:
    chosen: list[SupervisorRow] = []
    left_out: list[LeftOut] = []
    for row in inventory.sorted_rows():

        def leave(kind: str, reason: str, row: SupervisorRow = row) -> None:
            left_out.append(LeftOut(row.vcenter, row.id, row.name, kind, reason))

        hit: Selector | None
        if options.include is not None and options.include.match(row) is None:
            leave("not_included", f"not listed in {options.include.path}")
        elif options.exclude is not None and (hit := options.exclude.match(row)) is not None:
            leave("excluded", f"{options.exclude.path}, line {hit.line}")
        elif (action := row.action(options.target)) is not Action.WOULD_UPGRADE:
            leave(action.value, row.reason(options.target))
        else:
            chosen.append(row)
    return chosen, left_out


def _plural(n: int, word: str) -> str:
    return f"{n} {word}" + ("" if n == 1 else "s")


def _waves(layout: Layout, options: NewPlanOptions) -> tuple[WaveDraft, ...]:
    drafts: list[WaveDraft] = []
    pause = (("pause_after", f'"{format_duration(options.pause)}"'),) if options.pause else ()
    count = len(layout.all_waves)
    if layout.canary:
        vcenters = len({m.vcenter for m in layout.canary})
        drafts.append(
            WaveDraft(
                name=CANARY_WAVE,
                comment=(
                    f"Canary: {_plural(len(layout.canary), 'Supervisor')} on "
                    f"{_plural(vcenters, 'vCenter')}; the first precheck ERROR or failure "
                    "halts the run."
                ),
                gates=(("max_precheck_errors", "0"), ("max_failures", "0"))
                + (pause if count > 1 else ()),
                members=layout.canary,
            )
        )
    precheck = format_percent(options.max_precheck_error_percent)
    failure = format_percent(options.max_failure_percent)
    for index, members in enumerate(layout.waves, start=1):
        name = f"wave-{index}"
        spread = len({m.vcenter for m in members})
        comment = (
            f"{_plural(len(members), 'Supervisor')} on {_plural(spread, 'vCenter')}"
            f"; halts above {precheck}% precheck ERRORs or {failure}% failures."
        )
        gates: tuple[tuple[str, str], ...] = ()
        if index == 1 and layout.canary and options.approve_after_canary:
            gates += (("require_approval", "true"),)
            comment += (
                f"\nStarts after `fleetupgrade approve --wave {name}` (review the canary first)."
            )
        gates += (
            ("max_precheck_error_percent", precheck),
            ("max_failure_percent", failure),
        )
        if index < len(layout.waves):
            gates += pause
        drafts.append(WaveDraft(name=name, comment=comment, gates=gates, members=members))
    return tuple(drafts)


def draft_plan(inventory: Inventory, options: NewPlanOptions) -> NewPlanResult:
    """Decide the plan: who is in it, in which wave, with which gates; who is left out and why."""
    chosen, left_out = _select(inventory, options)
    members = [Member(row.vcenter, row.id, row.name) for row in chosen]
    canary = options.canary if options.canary is not None else default_canary_size(members)
    layout = build_layout(
        members,
        canary=min(canary, len(members)),
        wave_size=options.wave_size,
        max_per_vcenter=options.max_per_vcenter,
    )
    used = {m.vcenter for m in members}
    name = options.name or default_plan_name(inventory.fleet, options.target)
    header = (
        f"Plan written by `fleetupgrade plan new` from the inventory of fleet {inventory.fleet}.",
        f"Target {options.target}: {_plural(len(members), 'Supervisor')} in "
        f"{_plural(len(layout.all_waves), 'wave')}; {len(left_out)} left out (listed at the end).",
        f"Canary {len(layout.canary)}, then waves of up to {layout.wave_size} "
        f"(--wave-size {options.wave_size})"
        + (
            f", at most {options.max_per_vcenter} per vCenter per wave."
            if options.max_per_vcenter
            else "."
        ),
        "",
        "Review it, then: fleetupgrade validate PLAN && fleetupgrade run PLAN --dry-run",
    )
    warnings = []
    if options.approve_after_canary and not layout.canary:
        warnings.append("--approve-after-canary has no effect: the plan has no canary")
    for label, selection in (("--include", options.include), ("--exclude", options.exclude)):
        if selection is not None:
            warnings += [
                f"{label} {selection.path}, line {s.line}: {s.label} matches no Supervisor"
                for s in selection.unmatched(inventory.supervisors)
            ]
    draft = PlanDraft(
        name=name,
        fleet=inventory.fleet,
        target=options.target,
        header=header,
        defaults=inventory.defaults,
        vcenters=tuple(v for v in inventory.vcenters if v.name in used),
        waves=_waves(layout, options),
        left_out=tuple(left_out),
        failures=inventory.errors,
        idle_vcenters=tuple(
            sorted(
                v.name
                for v in inventory.vcenters
                if v.name not in used and v.name not in {f.vcenter for f in inventory.errors}
            )
        ),
    )
    return NewPlanResult(draft=draft, layout=layout, warnings=tuple(warnings))
