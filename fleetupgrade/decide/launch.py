"""Before a job is created: launch, adopt, or finish — decided from what vCenter shows.

The choice is a small sum type (:data:`Choice`), never an exception: "do not launch" is
an ordinary answer. The input is the Supervisor's upgrade summary as the bulk list (or a
single read) reports it, so the same function serves the run, the dry run and resume.
"""

from __future__ import annotations

from dataclasses import dataclass

from fleetupgrade.outcomes import Message, Outcome
from fleetupgrade.vcenter import UpgradeState
from fleetupgrade.versions import is_newer

__all__ = ["Adopt", "Choice", "Finish", "Launch", "UpgradeView", "choose"]


@dataclass(frozen=True, slots=True)
class UpgradeView:
    """The facts of a Supervisor's upgrade state the launch choice needs."""

    state: UpgradeState
    current_version: str
    available_versions: tuple[str, ...]
    desired_version: str | None = None  # set only while an upgrade is in progress


@dataclass(frozen=True, slots=True)
class Launch:
    """Create the upgrade job."""


@dataclass(frozen=True, slots=True)
class Adopt:
    """An upgrade toward our target is already running (started elsewhere): follow it."""

    reason: str


@dataclass(frozen=True, slots=True)
class Finish:
    """Nothing to fire: the Supervisor ends now with this outcome."""

    outcome: Outcome
    reason: str | None = None
    messages: tuple[Message, ...] = ()


Choice = Launch | Adopt | Finish


def choose(view: UpgradeView, desired: str) -> Choice:
    """Decide whether a job may be created for a Supervisor in this state."""
    if view.state is UpgradeState.INPROGRESS:
        target = view.desired_version
        if target == desired:
            return Adopt("an upgrade to this version is already in progress")
        return Finish(
            Outcome.REJECTED,
            f"an upgrade toward {target or 'an unknown version'} is already in progress",
        )
    if view.current_version == desired:
        return Finish(Outcome.ALREADY_CURRENT, f"already at {desired}")
    if is_newer(view.current_version, desired):
        return Finish(Outcome.ALREADY_CURRENT, f"at {view.current_version}, newer than {desired}")
    if view.state is UpgradeState.ERROR:
        return Finish(Outcome.REJECTED, "in ERROR state after a failed upgrade: needs intervention")
    if view.state is not UpgradeState.READY:
        return Finish(Outcome.REJECTED, f"unknown upgrade state {view.state.value!r}")
    if desired not in view.available_versions:
        available = ", ".join(view.available_versions) or "none"
        return Finish(
            Outcome.REJECTED, f"version {desired} is not available (available: {available})"
        )
    return Launch()
