"""Supervisor version order: numeric dot by dot, text when a version is not all digits.

One order for the run, the dry run, ``inventory`` and ``plan new``, so that they never
disagree about whether a Supervisor is already current.

Why not plain string order: ``"9.10.0" < "9.9.0"`` as text, and a Supervisor at 9.10 is
newer than a 9.9 target. Why not a general version library: vCenter's versions are dotted
numbers (``9.1.0.24500000``); anything else is compared as text, which is at least stable.
"""

from __future__ import annotations

__all__ = ["compare_versions", "is_at_least", "is_newer"]


def _numeric(version: str) -> tuple[int, ...] | None:
    parts = version.split(".")
    if not all(part.isascii() and part.isdigit() for part in parts):
        return None
    return tuple(int(part) for part in parts)


def compare_versions(left: str, right: str) -> int:
    """-1, 0 or 1 as ``left`` is older than, equal to or newer than ``right``.

    Both dotted numbers: compared part by part, missing parts count as 0 (``9.1`` equals
    ``9.1.0``). Otherwise: plain string order.
    """
    a, b = _numeric(left), _numeric(right)
    if a is None or b is None:
        return (left > right) - (left < right)
    width = max(len(a), len(b))
    a += (0,) * (width - len(a))
    b += (0,) * (width - len(b))
    return (a > b) - (a < b)


def is_at_least(version: str, target: str) -> bool:
    """Whether ``version`` is the target or newer (nothing to upgrade)."""
    return compare_versions(version, target) >= 0


def is_newer(version: str, than: str) -> bool:
    """Whether ``version`` is strictly after ``than`` (a Supervisor already past its target)."""
    return compare_versions(version, than) > 0
