"""The plan: TOML model, located validation, credentials by reference, JSON Schema."""

from __future__ import annotations

from fleetupgrade.plan.credentials import credential_issues, resolve_credentials
from fleetupgrade.plan.model import (
    Defaults,
    Plan,
    SupervisorRef,
    Threshold,
    VCenterConfig,
    Wave,
    Window,
    load_plan,
    parse_plan,
    plan_json_schema,
)

__all__ = [
    "Defaults",
    "Plan",
    "SupervisorRef",
    "Threshold",
    "VCenterConfig",
    "Wave",
    "Window",
    "credential_issues",
    "load_plan",
    "parse_plan",
    "plan_json_schema",
    "resolve_credentials",
]
