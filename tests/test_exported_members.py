"""The public surface: what ``import fleetupgrade`` promises, and that every exported name exists."""

from __future__ import annotations

import importlib

import pytest

import fleetupgrade

PUBLIC = {"Plan", "PlanError", "__version__", "load_plan"}
SUBPACKAGES = [
    "fleetupgrade.vcenter",
    "fleetupgrade.report",
    "fleetupgrade.plan",
    "fleetupgrade.logs",
]


def test_top_level_exports_exactly_the_public_names() -> None:
    """fleetupgrade.__all__ is the intended public API, nothing more, nothing less."""
    assert set(fleetupgrade.__all__) == PUBLIC
    assert len(fleetupgrade.__all__) == len(PUBLIC)


@pytest.mark.parametrize("name", sorted(PUBLIC))
def test_top_level_names_resolve(name: str) -> None:
    """Each name of fleetupgrade.__all__ is importable from the package."""
    assert getattr(fleetupgrade, name) is not None


def test_unknown_top_level_name_is_an_attribute_error() -> None:
    """The lazy loader does not invent names."""
    with pytest.raises(AttributeError):
        _ = fleetupgrade.no_such_name  # type: ignore[attr-defined]


@pytest.mark.parametrize("module", SUBPACKAGES)
def test_subpackage_exports_resolve(module: str) -> None:
    """Every name a public subpackage lists in __all__ exists there (no stale entries)."""
    package = importlib.import_module(module)
    exported = package.__all__
    assert exported, f"{module}.__all__ is empty"
    assert len(set(exported)) == len(exported), f"{module}.__all__ repeats a name"
    missing = [name for name in exported if not hasattr(package, name)]
    assert missing == [], f"{module}.__all__ names what it does not define: {missing}"
