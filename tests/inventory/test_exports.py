"""The public surface of fleetupgrade.inventory is what its __all__ says."""

from __future__ import annotations

import fleetupgrade.inventory as inventory


def test_every_exported_name_exists_once() -> None:
    """Each name in __all__ is importable from the package, and none is listed twice."""
    missing = [name for name in inventory.__all__ if not hasattr(inventory, name)]
    assert missing == []
    assert len(set(inventory.__all__)) == len(inventory.__all__)
