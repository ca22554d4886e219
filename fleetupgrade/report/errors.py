"""The report package's one error, a branch of the project's tree.

``fleetupgrade/errors.py`` draws the tree; this leaf lives here so the report package
stays self-contained::

    FleetUpgradeError
    └── ReportError        a run directory has no readable report, or one cannot be written
"""

from __future__ import annotations

from fleetupgrade.errors import FleetUpgradeError


class ReportError(FleetUpgradeError):
    """A run's report cannot be read (missing, corrupt, too new) or written."""
