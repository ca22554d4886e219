"""Turning plan documents into TOML text and mutating them: shared by the fuzz tests."""

from __future__ import annotations

import json
import math
from datetime import date, datetime, time
from typing import Any

__all__ = ["mutate", "paths", "toml_document", "toml_value"]


def toml_value(value: Any) -> str:
    """Any value as an inline TOML value (quoted keys, JSON-compatible strings)."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        if math.isnan(value):
            return "nan"
        if math.isinf(value):
            return "inf" if value > 0 else "-inf"
        return repr(value)
    if isinstance(value, int):
        return str(value)
    if isinstance(value, str):
        return json.dumps(value)
    if isinstance(value, datetime | date | time):
        return value.isoformat()
    if isinstance(value, list):
        return "[" + ", ".join(toml_value(v) for v in value) + "]"
    if isinstance(value, dict):
        return "{" + ", ".join(f"{json.dumps(k)} = {toml_value(v)}" for k, v in value.items()) + "}"
    raise TypeError(value)


def toml_document(data: dict[str, Any]) -> str:
    """A whole document, one top-level key per line."""
    return "\n".join(f"{json.dumps(k)} = {toml_value(v)}" for k, v in data.items()) + "\n"


def paths(node: Any, prefix: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    """Every key path inside ``node`` (tables and arrays), depth first."""
    found = [prefix] if prefix else []
    if isinstance(node, dict):
        for key, value in node.items():
            found += paths(value, (*prefix, key))
    elif isinstance(node, list):
        for index, value in enumerate(node):
            found += paths(value, (*prefix, index))
    return found


def mutate(data: dict[str, Any], path: tuple[Any, ...], action: str, value: Any) -> None:
    """Replace, delete, rename or empty what ``path`` names, in place."""
    parent: Any = data
    for part in path[:-1]:
        parent = parent[part]
    last = path[-1]
    if action == "replace":
        parent[last] = value
    elif action == "delete":
        del parent[last]
    elif action == "rename" and isinstance(parent, dict):
        parent[f"{last}{str(value)[:3]}" if str(value)[:3] else f"{last}s"] = parent.pop(last)
    elif action == "empty":
        parent[last] = {} if isinstance(parent[last], dict) else []
