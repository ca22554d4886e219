"""``fleetupgrade validate``: offline checks of plans, every problem at once, located.

It runs anywhere (a laptop, a CI job reviewing a change), so credentials that cannot be
read here are warnings, not errors: the run on the jump host will check them for real.
On success it prints what the plan will do, including each wave's threshold arithmetic,
so a reviewer sees "halts at the 2nd ERROR" instead of computing it.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, TextIO

from fleetupgrade.durations import format_duration
from fleetupgrade.errors import Issue, PlanError
from fleetupgrade.outcomes import ExitCode
from fleetupgrade.plan import Plan, Wave, credential_issues, load_plan


def plan_summary(plan: Plan) -> dict[str, Any]:
    """What the plan will do, as plain data."""
    total = plan.defaults.max_concurrent_total
    return {
        "name": plan.name,
        "vcenters": [
            {"name": v.name, "url": v.url, "max_concurrent": plan.max_concurrent_for(v.name)}
            for v in plan.vcenters
        ],
        "max_concurrent_total": total or None,
        "window": None
        if plan.window is None
        else {
            "start": plan.window.start.isoformat(),
            "end": plan.window.end.isoformat(),
            "grace": format_duration(plan.window.grace),
        },
        "waves": [_wave_summary(plan, wave) for wave in plan.waves],
    }


def _wave_summary(plan: Plan, wave: Wave) -> dict[str, Any]:
    size = len(wave.supervisors)
    threshold = plan.threshold_for(wave)
    return {
        "name": wave.name,
        "supervisors": size,
        "threshold": threshold.describe(size),
        "threshold_rule": threshold.rule,
        "halts_at_error": threshold.halting_error_count(size),
        "max_upgrade_failures": wave.max_upgrade_failures,
        "pause_after": format_duration(wave.pause_after) if wave.pause_after else None,
    }


def plan_warnings(plan: Plan, now: datetime) -> list[Issue]:
    """Valid but probably unintended: a vCenter no wave uses, a window already over."""
    used = {ref.vcenter for wave in plan.waves for ref in wave.supervisors}
    warnings = [
        Issue(f"vcenters[{index}]", f"vCenter {vc.name} is not used by any wave", "warning")
        for index, vc in enumerate(plan.vcenters)
        if vc.name not in used
    ]
    if plan.window is not None and plan.window.end + plan.window.grace <= now:
        warnings.append(
            Issue(
                "window.end",
                f"the window ended at {plan.window.end.isoformat()}: a run would create no "
                "upgrade job (update the window, or run with --ignore-window)",
                "warning",
            )
        )
    return warnings


def _render_summary(summary: dict[str, Any]) -> list[str]:
    cap = summary["max_concurrent_total"]
    lines = [
        f"  plan {summary['name']}: {len(summary['vcenters'])} vCenter(s), "
        f"fleet-wide cap {cap if cap else 'none'}"
    ]
    for vc in summary["vcenters"]:
        lines.append(f"    vCenter {vc['name']} {vc['url']} (max {vc['max_concurrent']} at once)")
    window = summary["window"]
    if window:
        lines.append(f"    window {window['start']} → {window['end']} (grace {window['grace']})")
    for wave in summary["waves"]:
        extra = f", pause {wave['pause_after']} after" if wave["pause_after"] else ""
        failures = wave["max_upgrade_failures"]
        if failures is not None:
            extra += f", halts when failed upgrades exceed {failures}"
        count = f"{wave['supervisors']} Supervisor(s)"
        lines.append(f"    wave {wave['name']}: {count}, {wave['threshold']}{extra}")
    return lines


@dataclass(frozen=True, slots=True)
class PlanCheck:
    """The verdict on one plan file."""

    path: str
    errors: tuple[Issue, ...] = ()
    warnings: tuple[Issue, ...] = ()
    summary: dict[str, Any] | None = None

    @property
    def valid(self) -> bool:
        """No errors (warnings do not count)."""
        return not self.errors

    def as_json(self) -> dict[str, Any]:
        """The machine-readable form of ``--format json``."""
        return {
            "path": self.path,
            "valid": self.valid,
            "errors": [{"location": i.location, "message": i.message} for i in self.errors],
            "warnings": [{"location": i.location, "message": i.message} for i in self.warnings],
            "summary": self.summary,
        }


def check_plan(path: Path) -> PlanCheck:
    """Validate one plan file."""
    try:
        plan = load_plan(path)
    except PlanError as exc:
        return PlanCheck(str(path), errors=exc.issues)
    warnings = (*credential_issues(plan, os.environ), *plan_warnings(plan, datetime.now(UTC)))
    return PlanCheck(str(path), warnings=warnings, summary=plan_summary(plan))


def validate_command(paths: list[Path], *, fmt: str, out: TextIO) -> int:
    """Validate each plan; exit 0 when all are valid, 2 when any is not."""
    checks = [check_plan(path) for path in paths]
    if fmt == "json":
        out.write(json.dumps({"plans": [c.as_json() for c in checks]}, indent=2) + "\n")
    else:
        for check in checks:
            verdict = "valid" if check.valid else f"{len(check.errors)} problem(s)"
            out.write(f"{check.path}: {verdict}\n")
            for issue in check.errors:
                out.write(f"  error: {check.path}: {issue}\n")
            for issue in check.warnings:
                out.write(f"  warning: {issue}\n")
            if check.summary:
                out.write("\n".join(_render_summary(check.summary)) + "\n")
    return ExitCode.OK if all(c.valid for c in checks) else ExitCode.USAGE
