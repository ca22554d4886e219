"""The small type language of the strict contract checker (see ``sdk_schema.py``).

Each :class:`Spec` checks one JSON value and appends a problem, naming its JSON path, per
violation: JSON types are exact (an integer is an ``int``, never a bool, float or string),
enums accept only their listed constants, structures reject unknown fields, missing or null
required fields and optional fields sent as null, and date-times must be exactly
``YYYY-MM-DDTHH:MM:SS.mmmZ`` (the form we emit, docs/wire.md §1).
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

Problems = list[str]
Rule = Callable[[Mapping[str, Any]], Iterable[str]]


class Spec:
    """A JSON type of the contract; ``check`` appends a problem per violation."""

    def check(self, value: Any, path: str, problems: Problems) -> None:
        raise NotImplementedError


class _Str(Spec):
    def check(self, value: Any, path: str, problems: Problems) -> None:
        if not isinstance(value, str):
            problems.append(f"{path}: expected a JSON string, got {_show(value)}")


class _Int(Spec):
    def check(self, value: Any, path: str, problems: Problems) -> None:
        if type(value) is not int:
            problems.append(f"{path}: expected a JSON integer, got {_show(value)}")


class _Number(Spec):
    def check(self, value: Any, path: str, problems: Problems) -> None:
        if type(value) not in (int, float):
            problems.append(f"{path}: expected a JSON number, got {_show(value)}")


class _Bool(Spec):
    def check(self, value: Any, path: str, problems: Problems) -> None:
        if type(value) is not bool:
            problems.append(f"{path}: expected a JSON boolean, got {_show(value)}")


#: The one date-time form we emit (§1): UTC, milliseconds, upper-case ``T`` and ``Z``.
DATETIME_FORMAT = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$")


class _DateTime(Spec):
    def check(self, value: Any, path: str, problems: Problems) -> None:
        if not isinstance(value, str):
            problems.append(f"{path}: expected a date-time string, got {_show(value)}")
            return
        if not DATETIME_FORMAT.match(value):
            problems.append(f"{path}: date-time {value!r} is not YYYY-MM-DDTHH:MM:SS.mmmZ")
            return
        try:
            datetime.strptime(value, "%Y-%m-%dT%H:%M:%S.%fZ")
        except ValueError:
            problems.append(f"{path}: date-time {value!r} is not a valid calendar instant")


class _AnyJson(Spec):
    def check(self, value: Any, path: str, problems: Problems) -> None:
        """Any JSON value (a task's ``result``)."""


class _AnyObject(Spec):
    def check(self, value: Any, path: str, problems: Problems) -> None:
        if not isinstance(value, dict):
            problems.append(f"{path}: expected a JSON object, got {_show(value)}")


STR: Spec = _Str()
INT: Spec = _Int()
NUMBER: Spec = _Number()
BOOL: Spec = _Bool()
DATETIME: Spec = _DateTime()
ANY_JSON: Spec = _AnyJson()
ANY_OBJECT: Spec = _AnyObject()


@dataclass(frozen=True)
class Enum(Spec):
    """A vAPI enum: a JSON string among the listed upper-case constants."""

    name: str
    values: frozenset[str]

    def check(self, value: Any, path: str, problems: Problems) -> None:
        if not isinstance(value, str):
            problems.append(f"{path}: expected a {self.name} string, got {_show(value)}")
        elif value not in self.values:
            listed = ", ".join(sorted(self.values))
            problems.append(f"{path}: {value!r} is not a {self.name} value ({listed})")


def enum(name: str, *values: str) -> Enum:
    """An enum spec."""
    return Enum(name, frozenset(values))


@dataclass(frozen=True)
class ListOf(Spec):
    """A JSON array of one item type."""

    item: Spec

    def check(self, value: Any, path: str, problems: Problems) -> None:
        if not isinstance(value, list):
            problems.append(f"{path}: expected a JSON array, got {_show(value)}")
            return
        for index, item in enumerate(value):
            if item is None:
                problems.append(f"{path}[{index}]: null list item")
            else:
                self.item.check(item, f"{path}[{index}]", problems)


@dataclass(frozen=True)
class MapOf(Spec):
    """A JSON object used as a map from string keys to one value type."""

    value: Spec

    def check(self, value: Any, path: str, problems: Problems) -> None:
        if not isinstance(value, dict):
            problems.append(f"{path}: expected a JSON object (map), got {_show(value)}")
            return
        for key, item in value.items():
            if item is None:
                problems.append(f"{path}[{key!r}]: null map value")
            else:
                self.value.check(item, f"{path}[{key!r}]", problems)


@dataclass(frozen=True)
class Lazy(Spec):
    """A forward reference (LocalizationParam nests itself)."""

    target: Callable[[], Spec]

    def check(self, value: Any, path: str, problems: Problems) -> None:
        self.target().check(value, path, problems)


@dataclass(frozen=True)
class Struct(Spec):
    """A vAPI structure: required and optional fields, no others, plus cross-field rules."""

    name: str
    required: Mapping[str, Spec]
    optional: Mapping[str, Spec] = field(default_factory=dict)
    rules: tuple[Rule, ...] = ()

    def check(self, value: Any, path: str, problems: Problems) -> None:
        if not isinstance(value, dict):
            problems.append(f"{path}: expected a {self.name} object, got {_show(value)}")
            return
        for key in value:
            if key not in self.required and key not in self.optional:
                problems.append(f"{path}: unknown field {key!r} in {self.name}")
        for key, spec in self.required.items():
            if key not in value:
                problems.append(f"{path}.{key}: required field of {self.name} is missing")
            elif value[key] is None:
                problems.append(f"{path}.{key}: required field of {self.name} is null")
            else:
                spec.check(value[key], f"{path}.{key}", problems)
        for key, spec in self.optional.items():
            if key not in value:
                continue
            if value[key] is None:
                problems.append(
                    f"{path}.{key}: optional field of {self.name} sent as null "
                    "(the simulator omits unset fields, §1)"
                )
            else:
                spec.check(value[key], f"{path}.{key}", problems)
        for rule in self.rules:
            problems.extend(f"{path}: {problem}" for problem in rule(value))


def _show(value: Any) -> str:
    kind = {bool: "boolean", int: "integer", float: "number", str: "string"}.get(type(value))
    if value is None:
        return "null"
    if kind is None:
        kind = "array" if isinstance(value, list) else "object"
    return f"{kind} {json.dumps(value)[:60]}"


#: §1: ids we generate and hand out (task ids, tokens) travel unencoded in SDK paths.
ID_PATTERN = re.compile(r"^[A-Za-z0-9._:-]+$")


class _Token(Spec):
    """A JSON string the client puts into a header or a path: non-empty, ``[A-Za-z0-9._:-]``."""

    def check(self, value: Any, path: str, problems: Problems) -> None:
        if not isinstance(value, str):
            problems.append(f"{path}: expected a JSON string, got {_show(value)}")
        elif not ID_PATTERN.match(value):
            problems.append(
                f"{path}: identifier {value!r} is empty or has characters outside [A-Za-z0-9._:-]"
            )


TOKEN: Spec = _Token()


def present(obj: Mapping[str, Any], key: str) -> bool:
    """Whether ``key`` is set (present and not null)."""
    return obj.get(key) is not None


__all__ = [
    "ANY_JSON",
    "ANY_OBJECT",
    "BOOL",
    "DATETIME",
    "DATETIME_FORMAT",
    "INT",
    "NUMBER",
    "STR",
    "TOKEN",
    "Enum",
    "Lazy",
    "ListOf",
    "MapOf",
    "Problems",
    "Rule",
    "Spec",
    "Struct",
    "enum",
    "present",
]
