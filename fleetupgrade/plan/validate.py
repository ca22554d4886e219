"""``fleetupgrade validate``: offline checks of plans, every problem at once, located.

It runs anywhere (a laptop, a CI job reviewing a change), so credentials that cannot be
read here are warnings, not errors: the run on the jump host will check them for real.
On success it prints what the plan will do, including each wave's two gates in plain
arithmetic ("halts at the 2nd ERROR of 18"), its approval and its pause, so a reviewer
checks sentences instead of computing them. No message ever carries a credential: every
URL-like text has its userinfo masked.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, TextIO

from fleetupgrade.durations import format_duration
from fleetupgrade.errors import Issue, PlanError
from fleetupgrade.outcomes import ExitCode
from fleetupgrade.plan.credentials import credential_issues
from fleetupgrade.plan.lines import PlanIssue, locate
from fleetupgrade.plan.loader import load_plan
from fleetupgrade.plan.model import Plan, Wave
from fleetupgrade.plan.notify import notify_issues
from fleetupgrade.redact_urls import mask_userinfo

__all__ = ["PlanCheck", "check_plan", "plan_summary", "plan_warnings", "validate_command"]

FLEET_FILE_NOTE = "fleet file: `run` needs [[waves]] (inventory and plan new accept it)"


def plan_summary(plan: Plan) -> dict[str, Any]:
    """What the plan will do, as plain data."""
    total = plan.defaults.max_concurrent_total
    window = plan.window
    return {
        "name": plan.name,
        "change_ref": plan.change_ref,
        "fleet_file": plan.is_fleet_file,
        "vcenters": [
            {
                "name": v.name,
                "url": mask_userinfo(v.url),
                "max_concurrent": plan.max_concurrent_for(v.name),
                "max_requests_per_second": plan.requests_per_second_for(v.name),
            }
            for v in plan.vcenters
        ],
        "max_concurrent_total": total or None,
        "approval_timeout": format_duration(plan.defaults.approval_timeout),
        "window": None
        if window is None
        else {
            "start": window.start.isoformat(),
            "end": window.end.isoformat(),
            "grace": format_duration(window.grace),
            "admission": window.admission,
        },
        "waves": [_wave_summary(plan, wave) for wave in plan.waves],
        "notify": [
            {
                "target": f"notify[{i}].url_env ({n.url_env})" if n.url_env else f"notify[{i}].url",
                "events": list(n.events),
                "format": n.format,
                "signed": n.secret_env is not None,
            }
            for i, n in enumerate(plan.notify)
        ],
    }


def _wave_summary(plan: Plan, wave: Wave) -> dict[str, Any]:
    size = len(wave.supervisors)
    precheck = plan.threshold_for(wave)
    failure = plan.failure_threshold_for(wave)
    return {
        "name": wave.name,
        "supervisors": size,
        "threshold": precheck.describe(size),
        "threshold_rule": precheck.rule,
        "halts_at_error": precheck.halting_count(size),
        "precheck_gate": precheck.halts_at(size),
        "failure_gate": failure.halts_at(size),
        "failure_rule": failure.rule,
        "halts_at_failure": failure.halting_count(size),
        "max_upgrade_failures": wave.max_upgrade_failures,
        "require_approval": plan.requires_approval(wave),
        "health_timeout": format_duration(plan.health_timeout_for(wave)),
        "pause_after": format_duration(wave.pause_after) if wave.pause_after else None,
    }


def plan_warnings(plan: Plan, now: datetime) -> list[Issue]:
    """Valid but probably unintended: a vCenter no wave uses, a window already over."""
    used = {ref.vcenter for wave in plan.waves for ref in wave.supervisors}
    warnings = [
        Issue(f"vcenters[{index}]", f"vCenter {vc.name} is not used by any wave", "warning")
        for index, vc in enumerate(plan.vcenters)
        if vc.name not in used and not plan.is_fleet_file
    ]
    window = plan.window
    if window is not None and window.end + window.grace <= now:  # load_plan checked overflow
        warnings.append(
            Issue(
                "window.end",
                f"the window ended at {window.end.isoformat()}: a run would create no "
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
    if summary["change_ref"]:
        lines.append(f"    change {summary['change_ref']}")
    for vc in summary["vcenters"]:
        lines.append(
            f"    vCenter {vc['name']} {vc['url']} (max {vc['max_concurrent']} at once), "
            f"{vc['max_requests_per_second']:g} requests/s"
        )
    window = summary["window"]
    if window:
        lines.append(
            f"    window {window['start']} → {window['end']} (grace {window['grace']}, "
            f"admission {window['admission']})"
        )
    for wave in summary["waves"]:
        count = f"{wave['supervisors']} Supervisor(s)"
        lines.append(f"    wave {wave['name']}: {count}, {wave['threshold']}")
        lines.append(
            f"      precheck gate: {wave['precheck_gate']}; failure gate: {wave['failure_gate']}"
        )
        timeout = summary["approval_timeout"]
        approval = (
            f"approval required (timeout {'none' if timeout == '0s' else timeout})"
            if wave["require_approval"]
            else "no approval"
        )
        pause = f"pause {wave['pause_after']} after" if wave["pause_after"] else "no pause"
        lines.append(f"      {approval}; {pause}; health timeout {wave['health_timeout']}")
    for target in summary["notify"]:
        lines.append(
            f"    notify {target['target']} as {target['format']}: {', '.join(target['events'])}"
        )
    return lines


def _issue_json(issue: Issue) -> dict[str, Any]:
    located = issue if isinstance(issue, PlanIssue) else None
    return {
        "location": issue.location,
        "line": located.line if located else None,
        "wave": located.wave if located else None,
        "message": mask_userinfo(issue.message),
    }


@dataclass(frozen=True, slots=True)
class PlanCheck:
    """The verdict on one plan file."""

    path: str
    errors: tuple[Issue, ...] = ()
    warnings: tuple[Issue, ...] = ()
    notes: tuple[str, ...] = ()
    summary: dict[str, Any] | None = None

    @property
    def valid(self) -> bool:
        """No errors (warnings and notes do not count)."""
        return not self.errors

    def as_json(self) -> dict[str, Any]:
        """The machine-readable form of ``--format json``."""
        return {
            "path": self.path,
            "valid": self.valid,
            "errors": [_issue_json(i) for i in self.errors],
            "warnings": [_issue_json(i) for i in self.warnings],
            "notes": list(self.notes),
            "summary": self.summary,
        }


def check_plan(path: Path, env: dict[str, str] | None = None) -> PlanCheck:
    """Validate one plan file (``env``: the environment credentials are looked up in)."""
    try:
        plan = load_plan(path)
    except PlanError as exc:
        return PlanCheck(str(path), errors=exc.issues)
    env = dict(os.environ) if env is None else env
    found = [
        *credential_issues(plan, env),
        *notify_issues(plan, env),
        *plan_warnings(plan, datetime.now(UTC)),
    ]
    warnings = (*plan.warnings, *locate(found, plan.source_text, _raw_waves(plan)))
    notes = (FLEET_FILE_NOTE,) if plan.is_fleet_file else ()
    return PlanCheck(str(path), warnings=warnings, notes=notes, summary=plan_summary(plan))


def _raw_waves(plan: Plan) -> dict[str, Any]:
    """Enough of the raw data for :func:`locate` to name waves."""
    return {"waves": [{"name": wave.name} for wave in plan.waves]}


def _masked(issue: Issue) -> Issue:
    return replace(issue, message=mask_userinfo(issue.message))


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
                out.write(f"  error: {check.path}: {_masked(issue)}\n")
            for issue in check.warnings:
                out.write(f"  warning: {_masked(issue)}\n")
            for note in check.notes:
                out.write(f"  note: {note}\n")
            if check.summary:
                out.write("\n".join(_render_summary(check.summary)) + "\n")
    return ExitCode.OK if all(c.valid for c in checks) else ExitCode.USAGE
