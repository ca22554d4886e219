"""fleetupgrade: upgrade vSphere Supervisors across a fleet of vCenters, safely and unattended."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

__version__ = "0.1.0"
__all__ = ["Plan", "PlanError", "__version__", "load_plan"]

if TYPE_CHECKING:
    from fleetupgrade.errors import PlanError
    from fleetupgrade.plan import Plan, load_plan


def __getattr__(name: str) -> Any:
    """Import the plan API lazily, so ``import fleetupgrade`` stays cheap for the CLI."""
    if name in ("Plan", "load_plan"):
        from fleetupgrade import plan

        return getattr(plan, name)
    if name == "PlanError":
        from fleetupgrade.errors import PlanError

        return PlanError
    raise AttributeError(name)
