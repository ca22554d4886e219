"""The value types of a plan: each checks one TOML value on its own, and says why not.

Split from :mod:`fleetupgrade.plan` so the models read like the plan format. Scalars are
strict (``"3"`` is not 3, ``"yes"`` is not true): a plan is reviewed as written, and a
value that only works after a silent conversion is a typo waiting to bite. Messages never
echo a credential key's value: a password pasted into ``password_env`` must not end up in
a terminal or a CI log.
"""

from __future__ import annotations

import re
from datetime import datetime, timedelta
from pathlib import Path
from typing import Annotated, Any

from pydantic import (
    AfterValidator,
    BeforeValidator,
    Field,
    PlainSerializer,
    Strict,
    StrictInt,
    StrictStr,
    ValidationInfo,
)
from pydantic.json_schema import WithJsonSchema

from fleetupgrade.durations import format_duration, parse_duration
from fleetupgrade.plan.messages import toml_type

__all__ = [
    "DURATION_PATTERN",
    "ENV_NAME_PATTERN",
    "NAME_PATTERN",
    "PLAN_VERSION",
    "Count",
    "Duration",
    "EnvName",
    "Name",
    "NonEmpty",
    "NonNegativeDuration",
    "OffsetDateTime",
    "OneLine",
    "Percent",
    "PlanPath",
    "PositiveDuration",
    "Rate",
    "Slots",
    "Username",
    "plan_version",
    "username_problem",
]

NAME_PATTERN = r"^[a-z0-9]([a-z0-9-]*[a-z0-9])?$"
DURATION_PATTERN = r"^\s*[0-9]+(\.[0-9]+)?\s*(ms|s|m|h|d)\s*$"
ENV_NAME_PATTERN = r"^[A-Za-z_][A-Za-z0-9_]*$"
PLAN_VERSION = 1


def _duration(value: Any) -> Any:
    """``"90s"`` → timedelta; a bare number is refused (seconds? minutes?)."""
    if isinstance(value, str):
        if not value.isascii():  # "٣٠s", "３０s": digits no reviewer reads as 30
            raise ValueError(
                "a duration is written with ASCII digits and a unit, e.g. '90s', '15m', '4h'"
            )
        try:
            return parse_duration(value)
        except OverflowError:  # "1000000000000d": beyond timedelta
            raise ValueError(f"duration {value[:40]!r} is too long") from None
    if isinstance(value, timedelta):
        return value
    raise ValueError(f"a duration is a string like '90s', '15m' or '4h', not {toml_type(value)}")


Duration = Annotated[
    timedelta,
    BeforeValidator(_duration),
    PlainSerializer(format_duration, return_type=str),
    WithJsonSchema({"type": "string", "pattern": DURATION_PATTERN, "examples": ["90s", "15m"]}),
]
PositiveDuration = Annotated[Duration, Field(gt=timedelta(0))]
Name = Annotated[StrictStr, Field(pattern=NAME_PATTERN, min_length=1, max_length=63)]
NonEmpty = Annotated[StrictStr, Field(min_length=1)]
_VERSION = re.compile(r"[A-Za-z0-9._:+-]+")


def _version_id(value: str) -> str:
    """Supervisor version ids travel in URLs and reports: ASCII letters, digits, ``._:+-``."""
    if not _VERSION.fullmatch(value):
        raise ValueError("a version uses ASCII letters, digits and . _ : + - only (e.g. 9.1.0)")
    return value


VersionId = Annotated[NonEmpty, AfterValidator(_version_id)]
Count = Annotated[StrictInt, Field(ge=0)]
Slots = Annotated[StrictInt, Field(ge=1)]
Percent = Annotated[float, Strict(), Field(gt=0, le=100, allow_inf_nan=False)]
Rate = Annotated[float, Strict(), Field(gt=0, le=10_000, allow_inf_nan=False)]


def plan_version(value: Any) -> Any:
    """Only format 1 exists; a newer plan must never be half-understood."""
    if isinstance(value, bool) or not isinstance(value, int):
        raise ValueError(f"expected the integer {PLAN_VERSION}, got {toml_type(value)}")  # noqa: TRY004 - pydantic wants ValueError
    if value != PLAN_VERSION:
        raise ValueError(
            f"unsupported plan version {value}: this fleetupgrade reads version {PLAN_VERSION}"
        )
    return value


def _env_name(value: Any) -> Any:
    """The NAME of a variable; the value is never echoed (it may be a pasted password)."""
    if not isinstance(value, str):
        raise ValueError(f"expected an environment variable name, got {toml_type(value)}")  # noqa: TRY004 - pydantic wants ValueError
    if not re.match(ENV_NAME_PATTERN, value):
        raise ValueError(
            "must be the NAME of an environment variable (letters, digits and '_', not "
            "starting with a digit), never the secret itself"
        )
    return value


def _offset_datetime(value: Any) -> Any:
    """A TOML offset date-time (or RFC 3339 text with an offset); local times are refused."""
    if isinstance(value, str):
        try:
            value = datetime.fromisoformat(value)
        except ValueError:
            raise ValueError(
                "not an RFC 3339 date-time: write it unquoted, e.g. 2026-12-05T22:00:00Z"
            ) from None
    if not isinstance(value, datetime):
        raise ValueError(  # noqa: TRY004 - pydantic wants ValueError
            "expected a date-time with an offset, e.g. 2026-12-05T22:00:00Z, "
            f"got {toml_type(value)}"
        )
    if value.utcoffset() is None:
        raise ValueError(
            "a window time needs an offset, e.g. 2026-12-05T22:00:00Z: without one its "
            "instant depends on the time zone of the host that runs the plan"
        )
    return value


EnvName = Annotated[
    str, BeforeValidator(_env_name), WithJsonSchema({"type": "string", "pattern": ENV_NAME_PATTERN})
]
OffsetDateTime = Annotated[
    datetime,
    BeforeValidator(_offset_datetime),
    WithJsonSchema({"type": "string", "format": "date-time"}),
]


def _path_text(value: Any) -> Any:
    """A path is written as a non-empty string (TOML, or the inventory JSON)."""
    if not isinstance(value, str) or not value:
        raise ValueError(f"expected a file path, got {toml_type(value) if value else 'nothing'}")
    return value


def _resolve_path(value: Path, info: ValidationInfo) -> Path:
    """Paths in a plan are relative to the plan file (existence: :mod:`fleetupgrade.plan.rules`)."""
    base = Path((info.context or {}).get("base") or ".")
    try:
        return (base / value).resolve()
    except (OSError, RuntimeError, ValueError):
        return base / value  # unusable (a NUL byte, too long): planrules reports it once


# Checked as text first, then made a Path by pydantic (in Python and in JSON input alike),
# then resolved: the inventory JSON reads its vCenters with this same model.
PlanPath = Annotated[Path, BeforeValidator(_path_text), AfterValidator(_resolve_path)]

NonNegativeDuration = Annotated[Duration, Field(ge=timedelta(0))]


def username_problem(value: str) -> str | None:
    """Why a username cannot be sent in HTTP Basic authentication (None: it can).

    ``user:name`` would split into another user and password on the server; a CR or LF
    could inject a header. The username itself is never echoed.
    """
    if ":" in value:
        return "a username must not contain ':' (HTTP Basic authentication splits on it)"
    if any(not ch.isprintable() for ch in value):
        return "a username must not contain control characters (CR, LF, tab, ...)"
    return None


def _username(value: Any) -> Any:
    if isinstance(value, str):
        problem = username_problem(value)
        if problem is not None:
            raise ValueError(problem)
    return value


Username = Annotated[NonEmpty, BeforeValidator(_username)]


def _one_line(value: Any) -> Any:
    """Text shown in reports and notifications: one printable line."""
    if isinstance(value, str) and any(not ch.isprintable() for ch in value):
        raise ValueError("must be one line of printable text (no newline or control character)")
    return value


OneLine = Annotated[NonEmpty, Field(max_length=200), BeforeValidator(_one_line)]
