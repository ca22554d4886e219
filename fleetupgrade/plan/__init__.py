"""The plan: TOML model, located validation, credentials by reference, JSON Schema.

One-way imports inside the package: ``fields`` → ``model`` → ``loader``/``schema``;
``credentials`` and ``notify`` read models but the models never import them.
"""

from __future__ import annotations

from fleetupgrade.plan.credentials import (
    credential_issues,
    password_file_too_open,
    resolve_credentials,
)
from fleetupgrade.plan.lines import PlanIssue
from fleetupgrade.plan.loader import load_plan, parse_plan
from fleetupgrade.plan.model import (
    DEFAULT_NOTIFY_EVENTS,
    NOTIFY_EVENTS,
    Defaults,
    NotifyConfig,
    Plan,
    SupervisorRef,
    VCenterConfig,
    Wave,
    Window,
)
from fleetupgrade.plan.notify import ResolvedNotifyTarget, notify_issues, resolve_notify_targets
from fleetupgrade.plan.schema import plan_json_schema
from fleetupgrade.plan.threshold import Threshold

__all__ = [
    "DEFAULT_NOTIFY_EVENTS",
    "NOTIFY_EVENTS",
    "Defaults",
    "NotifyConfig",
    "Plan",
    "PlanIssue",
    "ResolvedNotifyTarget",
    "SupervisorRef",
    "Threshold",
    "VCenterConfig",
    "Wave",
    "Window",
    "credential_issues",
    "load_plan",
    "notify_issues",
    "parse_plan",
    "password_file_too_open",
    "plan_json_schema",
    "resolve_credentials",
    "resolve_notify_targets",
]
