"""Simulator scenarios (docs/simulator.md): the TOML format, its pydantic models and its loader.

A scenario says which vCenters exist, who may log in, which Supervisors each vCenter has
and how their upgrades will go, plus the faults each vCenter injects. Every model forbids
unknown keys (a typo must never be silently ignored) and is strict about types, and a bad
file becomes one :class:`~fleetupgrade.errors.ScenarioError` listing every problem with its
location (``vcenters[0].supervisors[1].upgrade_duration: invalid duration ...``).
"""

from __future__ import annotations

import re
import tomllib
from collections.abc import Mapping
from datetime import timedelta
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    ValidationError,
    ValidationInfo,
    field_validator,
    model_validator,
)
from pydantic_core import PydanticCustomError

from fleetupgrade.durations import parse_duration
from fleetupgrade.errors import Issue, ScenarioError

#: Ids the simulator hands out or accepts travel unencoded in SDK paths (docs/wire.md, Transport).
ID_PATTERN = r"^[A-Za-z0-9._:-]+$"
NAME_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9._-]*$"
DEFAULT_USERNAME = "administrator@vsphere.local"
DEFAULT_PASSWORD = "sim-password"  # noqa: S105 - the documented simulator default
UPGRADE_PRIVILEGE = "Namespaces.Upgrade"


def _to_duration(value: object) -> object:
    """Accept ``"90s"``-style strings (and timedeltas from Python callers)."""
    if value is None or isinstance(value, timedelta):
        return value
    if isinstance(value, str):
        try:
            return parse_duration(value)
        except ValueError as exc:
            raise PydanticCustomError("duration", str(exc)) from None
    raise PydanticCustomError(
        "duration", "expected a duration string like '500ms', '90s', '15m', '4h'"
    )


def _to_signed_duration(value: object) -> object:
    """Accept ``"-2m"`` / ``"+30s"`` / ``"90s"`` (a clock offset may point either way)."""
    if isinstance(value, str):
        text = value.strip()
        sign = -1 if text.startswith("-") else 1
        parsed = _to_duration(text[1:] if text[:1] in "+-" else text)
        return sign * parsed if isinstance(parsed, timedelta) else parsed
    return _to_duration(value)


Duration = Annotated[timedelta, BeforeValidator(_to_duration)]
SignedDuration = Annotated[timedelta, BeforeValidator(_to_signed_duration)]
OptionalDuration = Annotated[timedelta | None, BeforeValidator(_to_duration)]
Rate = Annotated[float, Field(ge=0.0, le=1.0)]
Severity = Literal["INFO", "WARNING", "ERROR"]
Identifier = Annotated[str, Field(pattern=ID_PATTERN, max_length=200)]
Health = Literal["RUNNING", "CONFIGURING", "ERROR"]


def _unique(key: str, what: str) -> AfterValidator:
    """A list field whose items all differ in ``key`` (a repeated one is a typo)."""

    def check(items: list[Any], info: ValidationInfo) -> list[Any]:
        first: dict[str, int] = {}
        for index, item in enumerate(items):
            value = getattr(item, key)
            if value in first:
                raise PydanticCustomError(
                    "duplicate",
                    "duplicate {what} '{value}' ({where}[{first}] and {where}[{index}])",
                    {
                        "what": what,
                        "value": value,
                        "where": info.field_name,
                        "first": first[value],
                        "index": index,
                    },
                )
            first[value] = index
        return items

    return AfterValidator(check)


class _Model(BaseModel):
    """Base of every scenario model: frozen, strict types, unknown keys are errors."""

    model_config = ConfigDict(extra="forbid", strict=True, frozen=True)


class SimSettings(_Model):
    """``[sim]``: the RNG seed, the clock speed and the latency added to every request."""

    seed: int = 0
    speed: Annotated[float, Field(gt=0.0, le=1_000_000.0)] = 1.0
    latency: Duration = timedelta(0)


class User(_Model):
    """``[[users]]``: credentials accepted by every vCenter, and the user's privileges."""

    username: Annotated[str, Field(min_length=1)]
    password: Annotated[str, Field(min_length=1)]
    privileges: list[str] = Field(default_factory=list)


class Faults(_Model):
    """``faults`` of one vCenter; everything off by default, changeable at run time.

    ``session_idle_timeout`` is our addition: sessions also end when unused that long;
    ``omit_upgrade_prechecks`` hides ``upgrade_prechecks`` from Upgrades.Info (verdicts
    then show only as message severities); ``clock_skew`` shifts every time the vCenter
    reports, including the HTTP ``Date`` header (``"-2m"``: its clock is 2 minutes behind).
    """

    latency: OptionalDuration = None
    http_503_rate: Rate = 0.0
    reset_rate: Rate = 0.0
    lost_response_rate: Rate = 0.0
    malformed_rate: Rate = 0.0
    session_ttl: OptionalDuration = None
    session_idle_timeout: OptionalDuration = None
    max_sessions: Annotated[int, Field(ge=1)] | None = None
    down: bool = False
    omit_upgrade_prechecks: bool = False
    clock_skew: SignedDuration = timedelta(0)


class Precheck(_Model):
    """One precheck a Supervisor reports when its upgrade prechecks run."""

    severity: Severity
    id: Annotated[str, Field(pattern=ID_PATTERN, max_length=200)]
    text: Annotated[str, Field(min_length=1)]


class SupervisorSpec(_Model):
    """``[[vcenters.supervisors]]``: one Supervisor and how its upgrade will go."""

    id: Identifier
    name: Annotated[str, Field(min_length=1)]
    current_version: Identifier = "9.0.0"
    available_versions: list[Identifier] = Field(default_factory=lambda: ["9.1.0"])
    control_plane_nodes: Annotated[int, Field(ge=1, le=64)] = 3
    precheck_duration: Duration = timedelta(seconds=30)
    upgrade_duration: Duration = timedelta(minutes=20)
    prechecks: list[Precheck] = Field(default_factory=list)
    fail_at_percent: Annotated[int, Field(ge=0, le=100)] = 0
    unsupported: bool = False
    health_before: Health = "RUNNING"
    health_after_upgrade: Health = "RUNNING"
    health_settle: Duration = timedelta(0)
    start_state: Literal["READY", "ERROR"] = "READY"
    in_progress_to: Identifier | None = None

    @model_validator(mode="before")
    @classmethod
    def _name_defaults_to_id(cls, data: Any) -> Any:
        """``name`` defaults to the id."""
        if isinstance(data, Mapping) and "name" not in data and "id" in data:
            return {**data, "name": data["id"]}
        return data

    @field_validator("available_versions")
    @classmethod
    def _unique_versions(cls, value: list[str]) -> list[str]:
        """A version listed twice is a typo."""
        if len(set(value)) != len(value):
            raise PydanticCustomError("duplicate", "a version is listed twice")
        return value

    @model_validator(mode="after")
    def _current_not_available(self) -> SupervisorSpec:
        """Not upgradable to the version it runs; a running upgrade targets an available one."""
        if self.current_version in self.available_versions:
            raise PydanticCustomError(
                "version",
                "available_versions must not contain current_version '{version}'",
                {"version": self.current_version},
            )
        if self.in_progress_to is not None and self.in_progress_to not in self.available_versions:
            raise PydanticCustomError(
                "version",
                "in_progress_to '{version}' must be one of available_versions",
                {"version": self.in_progress_to},
            )
        return self


class VCenterSpec(_Model):
    """``[[vcenters]]``: one simulated vCenter, its faults and its Supervisors."""

    name: Annotated[str, Field(pattern=NAME_PATTERN, max_length=100)]
    faults: Faults = Field(default_factory=Faults)
    supervisors: Annotated[list[SupervisorSpec], _unique("id", "Supervisor id")] = Field(
        default_factory=list
    )


class Generate(_Model):
    """``[generate]``: a synthetic fleet ``gen-vc-0001``… added after the listed vCenters."""

    vcenters: Annotated[int, Field(ge=0, le=10_000)]
    supervisors_per_vcenter: Annotated[int, Field(ge=0, le=1_000)]
    from_version: Identifier = "9.0.0"
    to_version: Identifier = "9.1.0"
    precheck_duration: Duration = timedelta(minutes=1)
    upgrade_duration: Duration = timedelta(minutes=20)
    precheck_error_rate: Rate = 0.0
    precheck_warning_rate: Rate = 0.0
    failure_rate: Rate = 0.0
    current_rate: Rate = 0.0
    not_available_rate: Rate = 0.0
    in_progress_rate: Rate = 0.0
    error_state_rate: Rate = 0.0

    @model_validator(mode="after")
    def _consistent(self) -> Generate:
        """The two versions differ and the rates sharing one draw fit into it."""
        if self.from_version == self.to_version:
            raise PydanticCustomError("version", "from_version and to_version must differ")
        if self.precheck_error_rate + self.precheck_warning_rate > 1.0:
            raise PydanticCustomError(
                "rates", "precheck_error_rate + precheck_warning_rate must not exceed 1"
            )
        mix = self.current_rate + self.not_available_rate + self.in_progress_rate
        if mix + self.error_state_rate > 1.0:
            raise PydanticCustomError(
                "rates",
                "current_rate + not_available_rate + in_progress_rate + error_state_rate "
                "must not exceed 1",
            )
        return self


def _default_users() -> list[User]:
    return [
        User(username=DEFAULT_USERNAME, password=DEFAULT_PASSWORD, privileges=[UPGRADE_PRIVILEGE])
    ]


class Scenario(_Model):
    """A whole scenario file: ``[sim]``, ``[[users]]``, ``[[vcenters]]`` and ``[generate]``."""

    sim: SimSettings = Field(default_factory=SimSettings)
    users: Annotated[list[User], Field(min_length=1), _unique("username", "username")] = Field(
        default_factory=_default_users
    )
    #: Names of vCenters are unique: they key faults, stats and plans.
    vcenters: Annotated[list[VCenterSpec], _unique("name", "vCenter name")] = Field(
        default_factory=list
    )
    generate: Generate | None = None

    @field_validator("generate")
    @classmethod
    def _no_generated_clash(cls, value: Generate | None, info: ValidationInfo) -> Generate | None:
        """Generated names must not collide with listed vCenters."""
        if value is None:
            return value
        listed = {v.name for v in info.data.get("vcenters", [])}
        clash = sorted(listed & set(generated_vcenter_names(value.vcenters)))
        if clash:
            raise PydanticCustomError(
                "duplicate",
                "generated vCenter name '{name}' is also listed in [[vcenters]]",
                {"name": clash[0]},
            )
        return value

    @model_validator(mode="after")
    def _has_vcenters(self) -> Scenario:
        """A scenario without any vCenter serves nothing."""
        if not self.vcenters and (self.generate is None or self.generate.vcenters == 0):
            raise PydanticCustomError("empty", "no vCenter: add [[vcenters]] or [generate]")
        return self


def generated_vcenter_names(count: int) -> list[str]:
    """Names of generated vCenters, ``gen-vc-0001``… (4 digits, more when needed)."""
    width = max(4, len(str(count)))
    return [f"gen-vc-{i:0{width}d}" for i in range(1, count + 1)]


_TYPE_TAG = re.compile(r"[^A-Za-z0-9_]")
_PRIMITIVE_TAGS = frozenset({"str", "int", "float", "bool", "none", "list", "dict", "timedelta"})


def format_location(loc: tuple[int | str, ...]) -> str:
    """``("vcenters", 0, "name")`` → ``vcenters[0].name`` (union member tags dropped)."""
    out = ""
    for part in loc:
        if isinstance(part, int):
            out += f"[{part}]"
        elif _TYPE_TAG.search(part) or part in _PRIMITIVE_TAGS:
            continue
        else:
            out += f".{part}" if out else part
    return out


_MESSAGES = {
    "extra_forbidden": "unknown key",
    "missing": "required key missing",
}


def issues_from_validation(exc: ValidationError) -> list[Issue]:
    """Turn pydantic's errors into located :class:`Issue` s, in file order."""
    issues = []
    for error in exc.errors(include_url=False):
        message = _MESSAGES.get(error["type"], error["msg"])
        if error["type"] not in _MESSAGES and "input" in error and error["type"] != "duration":
            shown = error["input"]
            if isinstance(shown, str | int | float | bool):
                message = f"{message} (got {shown!r})"
        issues.append(Issue(format_location(error["loc"]), message))
    return issues


def scenario_from_data(data: Mapping[str, Any], source: str = "<scenario>") -> Scenario:
    """Validate already-parsed data (a TOML document or a dict built in Python)."""
    try:
        return Scenario.model_validate(data)
    except ValidationError as exc:
        raise ScenarioError(source, issues_from_validation(exc)) from None


_TOML_AT = re.compile(r"^(?P<msg>.*?)\s*\(at line (?P<line>\d+), column (?P<col>\d+)\)$")


def parse_scenario(text: str, source: str = "<scenario>") -> Scenario:
    """Parse scenario TOML text; raises ScenarioError with located issues."""
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        match = _TOML_AT.match(str(exc))
        if match is None:
            raise ScenarioError(source, [Issue("", f"TOML syntax error: {exc}")]) from None
        where = f"line {match['line']}, column {match['col']}"
        raise ScenarioError(source, [Issue(where, f"TOML syntax error: {match['msg']}")]) from None
    return scenario_from_data(data, source)


def load_scenario(path: Path) -> Scenario:
    """Read and validate a scenario file; raises ScenarioError (also when unreadable)."""
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise ScenarioError(str(path), [Issue("", f"cannot read the file: {exc}")]) from None
    return parse_scenario(text, str(path))
