"""What an inventory holds: every Supervisor's versions, state and health, per vCenter.

Frozen dataclasses, no I/O. The one decision made here is a Supervisor's ``action``
toward a target version, shared by ``inventory`` (its ``action`` column) and ``plan new``
(who goes in a wave, and why the others are left out), so the two can never disagree.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from fleetupgrade.plan.model import VCenterConfig
from fleetupgrade.versions import compare_versions, is_at_least

__all__ = [
    "Action",
    "Inventory",
    "SupervisorRow",
    "VCenterFailure",
]

DefaultValue = bool | int | float | str


class Action(StrEnum):
    """What an upgrade to the target would do to one Supervisor."""

    WOULD_UPGRADE = "would_upgrade"
    ALREADY_CURRENT = "already_current"
    NOT_AVAILABLE = "not_available"
    IN_PROGRESS = "in_progress"
    ERROR_STATE = "error_state"


@dataclass(frozen=True, slots=True)
class SupervisorRow:
    """One Supervisor as vCenter shows it (the Upgrades and Summary services joined).

    ``current_version`` and ``state`` are None when vCenter listed the Supervisor but gave
    no upgrade information about it.
    """

    vcenter: str
    id: str
    name: str
    current_version: str | None
    available_versions: tuple[str, ...]
    state: str | None
    desired_version: str | None
    config_status: str | None
    kubernetes_status: str | None
    last_upgraded_date: str | None

    def action(self, target: str) -> Action:
        """The action toward ``target``; the first that applies wins.

        in_progress (an upgrade is running), error_state (Upgrades state or config status
        ERROR: needs a person first), already_current (at or newer than the target),
        not_available (the target is not among the available versions), would_upgrade.
        """
        if self.state == "INPROGRESS":
            return Action.IN_PROGRESS
        if self.state == "ERROR" or self.config_status == "ERROR":
            return Action.ERROR_STATE
        if self.current_version is not None and is_at_least(self.current_version, target):
            return Action.ALREADY_CURRENT
        if self.current_version is None or target not in self.available_versions:
            return Action.NOT_AVAILABLE
        return Action.WOULD_UPGRADE

    def reason(self, target: str) -> str:
        """Why this Supervisor is not upgraded to ``target`` (for a plan's comments)."""
        action = self.action(target)
        if action is Action.IN_PROGRESS:
            toward = f" to {self.desired_version}" if self.desired_version else ""
            return f"an upgrade{toward} is in progress"
        if action is Action.ERROR_STATE:
            if self.state == "ERROR":
                return "Upgrades state ERROR (a previous upgrade failed)"
            return "config_status ERROR"
        if action is Action.ALREADY_CURRENT:
            newer = compare_versions(self.current_version or "", target) > 0
            return f"runs {self.current_version}" + (" (newer)" if newer else "")
        if self.current_version is None:
            return "vCenter gave no upgrade information"
        offered = ", ".join(self.available_versions) or "none"
        return f"{target} is not available (available: {offered})"


@dataclass(frozen=True, slots=True)
class VCenterFailure:
    """A vCenter whose Supervisors could not be listed, and why."""

    vcenter: str
    error: str


@dataclass(frozen=True, slots=True)
class Inventory:
    """One inventory: the source fleet, its vCenters, their Supervisors, the failures.

    ``vcenters`` are the source plan's own entries (the plan package owns what a vCenter
    entry is): credentials by reference only, never a secret, and paths absolute (``plan
    new`` writes them relative to the new plan).
    ``defaults`` are the ``[defaults]`` keys the source plan set explicitly (plan syntax:
    durations as ``"30s"``), carried into plans written from this inventory.
    """

    fleet: str
    vcenters: tuple[VCenterConfig, ...]
    supervisors: tuple[SupervisorRow, ...]
    errors: tuple[VCenterFailure, ...]
    defaults: tuple[tuple[str, DefaultValue], ...] = ()
    target: str | None = None
    generated_at: str = ""

    def sorted_rows(self) -> tuple[SupervisorRow, ...]:
        """Supervisors ordered by vCenter, then id (every rendering uses this order)."""
        return tuple(sorted(self.supervisors, key=lambda row: (row.vcenter, row.id)))
