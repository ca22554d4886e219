"""Comparing Supervisor versions the way operators read them (``9.1.10`` is after ``9.1.9``).

Version ids are opaque strings on the wire (docs/wire.md); in practice they are dotted
numbers. Numeric parts compare as numbers and anything else as text, so an odd id never
raises: it just sorts deterministically.
"""

from __future__ import annotations

import re

__all__ = ["is_newer", "version_key"]

_PART = re.compile(r"(\d+)|(\D+)")


def version_key(version: str) -> tuple[tuple[int, int | str], ...]:
    """A sort key: numbers numerically, other runs of text as text (numbers first)."""
    parts: list[tuple[int, int | str]] = []
    for number, text in _PART.findall(version):
        parts.append((0, int(number)) if number else (1, text))
    return tuple(parts)


def is_newer(version: str, than: str) -> bool:
    """Whether ``version`` is strictly after ``than``."""
    return version_key(version) > version_key(than)
