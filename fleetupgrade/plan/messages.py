"""Pydantic's complaints about plan values, as located plain-English issues.

The models say *what* is wrong in pydantic's vocabulary (``int_type``, ``extra_forbidden``);
an operator reads TOML, so each error becomes "expected an integer, got a string" at
``waves[2].max_failures``, an unknown key gets a did-you-mean, and no message ever
echoes the value it refused (it may be a pasted secret).
"""

from __future__ import annotations

import difflib
from datetime import date, datetime, time
from typing import Any

from pydantic import BaseModel, ValidationError

from fleetupgrade.errors import Issue

__all__ = ["issues_from_validation", "location", "toml_type"]

_SECTIONS = {
    (): "Plan",
    ("defaults",): "Defaults",
    ("window",): "Window",
    ("vcenters",): "VCenterConfig",
    ("waves",): "Wave",
    ("waves", "supervisors"): "SupervisorRef",
    ("notify",): "NotifyConfig",
}

_EXPECTED = {
    "int_type": "an integer",
    "bool_type": "a boolean (true or false)",
    "string_type": "a string",
    "float_type": "a number",
    "tuple_type": "an array",
    "list_type": "an array",
    "model_type": "a table",
    "model_attributes_type": "a table",
    "dict_type": "a table",
    "finite_number": "a finite number",
}
_FRIENDLY = {
    "timezone_aware": "a window time needs an offset, e.g. 2026-12-05T22:00:00Z",
    "string_pattern_mismatch": "use lower-case letters, digits and '-' (e.g. q4-upgrade)",
    "too_short": "must not be empty",
    "string_too_short": "must not be empty",
}


def toml_type(value: object) -> str:
    """Name a parsed TOML value's type as the TOML spec does (values are not echoed)."""
    kinds: list[tuple[type | tuple[type, ...], str]] = [
        (bool, "a boolean"),
        (int, "an integer"),
        (float, "a float"),
        (str, "a string"),
        (datetime, "a date-time"),
        (date, "a local date"),
        (time, "a local time"),
        ((list, tuple), "an array"),
        (dict, "a table"),
    ]
    return next((name for kind, name in kinds if isinstance(value, kind)), type(value).__name__)


def location(loc: tuple[int | str, ...]) -> str:
    """``('waves', 2, 'supervisors', 0, 'vcenter')`` → ``waves[2].supervisors[0].vcenter``."""
    out = ""
    for part in loc:
        if isinstance(part, int):
            out += f"[{part}]"
        else:
            out += ("." if out else "") + str(part)
    return out


def _model_fields(section: tuple[str, ...], root: type[BaseModel]) -> list[str]:
    name = _SECTIONS.get(section)
    model: type[BaseModel] = root
    for field_name in section:
        annotation = model.model_fields[field_name].annotation
        model = _inner_model(annotation) or model
    if name is None:
        return []
    return list(model.model_fields)


def _inner_model(annotation: Any) -> type[BaseModel] | None:
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return annotation
    for arg in getattr(annotation, "__args__", ()) or ():
        found = _inner_model(arg)
        if found is not None:
            return found
    for meta in getattr(annotation, "__metadata__", ()) or ():
        found = _inner_model(meta)
        if found is not None:
            return found
    origin = getattr(annotation, "__origin__", None)
    return _inner_model(origin) if origin not in (None, annotation) else None


def _unknown_key(loc: tuple[int | str, ...], root: type[BaseModel]) -> str:
    key = str(loc[-1])
    section = tuple(str(p) for p in loc[:-1] if not isinstance(p, int))
    if key == "password" and section == ("vcenters",):
        return (
            "a literal password is not allowed in a plan: use password_env (an environment "
            "variable) or password_file (a file readable only by the service account)"
        )
    known = _model_fields(section, root)
    close = difflib.get_close_matches(key, known, n=1, cutoff=0.6)
    hint = f"; did you mean '{close[0]}'?" if close else f" (known keys: {', '.join(known)})"
    return f"unknown key '{key}'{hint}"


def issues_from_validation(exc: ValidationError, root: type[BaseModel]) -> list[Issue]:
    """Each pydantic error as a located, plain-English issue."""
    issues = []
    for error in exc.errors(include_url=False):
        loc = tuple(error["loc"])
        if error["type"] == "too_short" and error.get("input"):
            continue  # pydantic counts only valid items; the invalid ones are reported
        if error["type"] == "extra_forbidden":
            message = _unknown_key(loc, root)
        elif error["type"] == "missing":
            message = "required key is missing"
        elif error["type"] in _EXPECTED:
            value = error.get("input")
            message = f"expected {_EXPECTED[error['type']]}, got {toml_type(value)}"
            if error["type"] == "float_type" and type(value) is int:
                message = "number out of range"
        else:
            message = str(error["msg"]).removeprefix("Value error, ")
            message = message.replace("datetime.timedelta(0)", "0s")
            message = _FRIENDLY.get(str(error["type"]), message)
        issues.append(Issue(location(loc), message))
    return issues
