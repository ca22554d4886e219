"""Plans: the TOML an operator writes, validated in one pass with every problem located.

A plan is reviewed in a change ticket and run at 2 a.m., so a typo must never be silently
ignored and every mistake must be reported at once, with its exact place, before anything
touches a vCenter. Validation therefore has two halves that always both run: the pydantic
models check each value's type and range (unknown keys are errors, with a did-you-mean),
and the cross-checks in :mod:`fleetupgrade.planrules` check what spans the document
(references, duplicates, files, the window). ``load_plan`` raises one :class:`PlanError`
carrying every issue.
"""

from __future__ import annotations

import hashlib
import os
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import timedelta
from fractions import Fraction
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import (
    AwareDatetime,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    PlainSerializer,
    PrivateAttr,
    ValidationError,
    ValidationInfo,
    field_validator,
)
from pydantic.json_schema import WithJsonSchema

from fleetupgrade.durations import format_duration, parse_duration
from fleetupgrade.errors import CredentialsError, Issue, PlanError
from fleetupgrade.planrules import cross_check, issues_from_validation

NAME_PATTERN = r"^[a-z0-9]([a-z0-9-]*[a-z0-9])?$"
DURATION_PATTERN = r"^\s*\d+(\.\d+)?\s*(ms|s|m|h|d)\s*$"


def _duration(value: Any) -> Any:
    if isinstance(value, str):
        return parse_duration(value)
    if isinstance(value, timedelta):
        return value
    raise ValueError(f"a duration is a string like '90s', '15m' or '4h', not {value!r}")


Duration = Annotated[
    timedelta,
    BeforeValidator(_duration),
    PlainSerializer(format_duration, return_type=str),
    WithJsonSchema({"type": "string", "pattern": DURATION_PATTERN, "examples": ["90s", "15m"]}),
]
PositiveDuration = Annotated[Duration, Field(gt=timedelta(0))]
Name = Annotated[str, Field(pattern=NAME_PATTERN, min_length=1, max_length=63)]
NonEmpty = Annotated[str, Field(min_length=1)]


class _Model(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid", strict=False)


class Defaults(_Model):
    """Settings every Supervisor and wave inherits unless it overrides them."""

    desired_version: NonEmpty | None = None
    ignore_precheck_warnings: bool = False
    max_concurrent_per_vcenter: Annotated[int, Field(ge=1)] = 1
    max_concurrent_total: Annotated[int, Field(ge=0)] = 0
    max_precheck_errors: Annotated[int, Field(ge=0)] = 0
    poll_interval: PositiveDuration = timedelta(seconds=30)
    upgrade_timeout: PositiveDuration = timedelta(hours=4)
    stall_timeout: PositiveDuration = timedelta(minutes=30)
    request_timeout: PositiveDuration = timedelta(seconds=60)


class Window(_Model):
    """The maintenance window: wait for ``start``; no new job after ``end``; watch until grace."""

    start: AwareDatetime
    end: AwareDatetime
    grace: Annotated[Duration, Field(ge=timedelta(0))] = timedelta(0)


def _resolve_path(value: Any, info: ValidationInfo) -> Any:
    """Paths in a plan are relative to the plan file."""
    base = (info.context or {}).get("base")
    if isinstance(value, str) and base is not None:
        return (Path(base) / value).resolve()
    return value


PlanPath = Annotated[Path, BeforeValidator(_resolve_path)]


class VCenterConfig(_Model):
    """One vCenter, how to trust it and how to log in (secrets only by reference)."""

    name: Name
    url: NonEmpty
    username: NonEmpty | None = None
    username_env: NonEmpty | None = None
    password_env: NonEmpty | None = None
    password_file: PlanPath | None = None
    ca_file: PlanPath | None = None
    tls_thumbprint: NonEmpty | None = None
    max_concurrent: Annotated[int, Field(ge=1)] | None = None


class SupervisorRef(_Model):
    """One Supervisor to upgrade, by ``id`` or by ``name`` (resolved at run time)."""

    vcenter: NonEmpty
    id: NonEmpty | None = None
    name: NonEmpty | None = None
    desired_version: NonEmpty | None = None
    ignore_precheck_warnings: bool | None = None

    @property
    def label(self) -> str:
        """``vcenter/id-or-name`` as operators read it."""
        return f"{self.vcenter}/{self.id or self.name}"


class Wave(_Model):
    """Supervisors upgraded together, halted by its precheck threshold."""

    name: Name
    max_precheck_errors: Annotated[int, Field(ge=0)] | None = None
    max_precheck_error_percent: Annotated[float, Field(gt=0, le=100)] | None = None
    max_upgrade_failures: Annotated[int, Field(ge=0)] | None = None
    pause_after: PositiveDuration | None = None
    supervisors: Annotated[tuple[SupervisorRef, ...], Field(min_length=1)]

    @field_validator("max_precheck_error_percent", mode="before")
    @classmethod
    def _exact_percent(cls, value: Any) -> Any:
        """Keep the percentage as written (``bool`` is not a number here)."""
        if isinstance(value, bool):
            raise ValueError("a percentage is a number, not true/false")  # noqa: TRY004 - pydantic wants ValueError
        return value


def _ordinal(n: int) -> str:
    suffix = "th" if 10 <= n % 100 <= 20 else {1: "st", 2: "nd", 3: "rd"}.get(n % 10, "th")
    return f"{n}{suffix}"


@dataclass(frozen=True, slots=True)
class Threshold:
    """A wave's halt rule in exact arithmetic (DESIGN §2): halt when E exceeds it."""

    kind: Literal["count", "percent"]
    limit: int | Fraction

    def halts(self, errors: int, size: int) -> bool:
        """Whether ``errors`` ERRORs in a wave of ``size`` Supervisors halt it."""
        if self.kind == "count":
            return errors > self.limit
        return errors * 100 > self.limit * size

    def halting_error_count(self, size: int) -> int | None:
        """The smallest number of ERRORs that halts the wave (None: it never halts)."""
        return next((e for e in range(1, size + 1) if self.halts(e, size)), None)

    @property
    def rule(self) -> str:
        """The rule as the decision log records it."""
        if self.kind == "count":
            return f"max_precheck_errors: errors > {self.limit}"
        return f"max_precheck_error_percent: errors*100 > {self.limit}*size"

    def describe(self, size: int) -> str:
        """``10% of 18 → halts at the 2nd ERROR`` — the arithmetic an operator checks."""
        head = (
            f"max {self.limit} ERROR(s)"
            if self.kind == "count"
            else f"{float(self.limit):g}% of {size}"
        )
        at = self.halting_error_count(size)
        return f"{head} → " + (
            "never halts" if at is None else f"halts at the {_ordinal(at)} ERROR"
        )


class Plan(_Model):
    """A whole plan: vCenters, defaults, an optional window, and the ordered waves."""

    version: Literal[1]
    name: Name
    defaults: Defaults = Field(default_factory=Defaults)
    window: Window | None = None
    vcenters: Annotated[tuple[VCenterConfig, ...], Field(min_length=1)]
    waves: Annotated[tuple[Wave, ...], Field(min_length=1)]

    _path: Path = PrivateAttr(default=Path("plan.toml"))
    _sha256: str = PrivateAttr(default="")
    _source_text: str = PrivateAttr(default="")

    @property
    def path(self) -> Path:
        """Absolute path of the plan file."""
        return self._path

    @property
    def sha256(self) -> str:
        """Hex SHA-256 of the file's bytes: what a resumed run must match."""
        return self._sha256

    @property
    def source_text(self) -> str:
        """The exact file text (copied into the run directory)."""
        return self._source_text

    def vcenter(self, name: str) -> VCenterConfig:
        """The vCenter of that name."""
        return next(v for v in self.vcenters if v.name == name)

    def max_concurrent_for(self, vcenter: str) -> int:
        """How many jobs may be in flight on this vCenter."""
        own = self.vcenter(vcenter).max_concurrent
        return own if own is not None else self.defaults.max_concurrent_per_vcenter

    def desired_version_for(self, ref: SupervisorRef) -> str:
        """The version this Supervisor is upgraded to (validated to exist)."""
        version = ref.desired_version or self.defaults.desired_version
        if version is None:  # pragma: no cover - load_plan rejects such plans
            raise ValueError(f"{ref.label}: no desired_version")
        return version

    def ignore_warnings_for(self, ref: SupervisorRef) -> bool:
        """Whether precheck WARNINGs let this Supervisor's upgrade proceed."""
        if ref.ignore_precheck_warnings is not None:
            return ref.ignore_precheck_warnings
        return self.defaults.ignore_precheck_warnings

    def threshold_for(self, wave: Wave) -> Threshold:
        """The wave's halt rule (its own, or the default count)."""
        if wave.max_precheck_error_percent is not None:
            return Threshold("percent", Fraction(str(wave.max_precheck_error_percent)))
        if wave.max_precheck_errors is not None:
            return Threshold("count", wave.max_precheck_errors)
        return Threshold("count", self.defaults.max_precheck_errors)


def _toml_error(source: str, exc: tomllib.TOMLDecodeError) -> PlanError:
    return PlanError(source, [Issue("", f"TOML syntax error: {exc}")])


def parse_plan(text: str, *, source: str, base: Path) -> Plan:
    """Validate plan text; ``base`` is the directory relative paths start from."""
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise _toml_error(source, exc) from None
    issues = cross_check(data, base)
    plan = None
    try:
        plan = Plan.model_validate(data, context={"base": base})
    except ValidationError as exc:
        issues = issues_from_validation(exc, Plan) + issues
    errors = [i for i in _unique(issues) if i.severity == "error"]
    if errors or plan is None:
        raise PlanError(source, errors or [Issue("", "invalid plan")])
    return plan


def _unique(issues: list[Issue]) -> list[Issue]:
    seen: set[tuple[str, str]] = set()
    out = []
    for issue in issues:
        if (issue.location, issue.message) not in seen:
            seen.add((issue.location, issue.message))
            out.append(issue)
    return out


def load_plan(path: Path | str) -> Plan:
    """Load and validate a plan file; every problem at once in one :class:`PlanError`."""
    path = Path(path)
    source = str(path)
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise PlanError(
            source, [Issue("", f"cannot read the plan: {exc.strerror or exc}")]
        ) from None
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise PlanError(
            source, [Issue("", f"not UTF-8 text: {exc.reason} at byte {exc.start}")]
        ) from None
    plan = parse_plan(text, source=source, base=path.resolve().parent)
    plan._path = path.resolve()
    plan._sha256 = hashlib.sha256(raw).hexdigest()
    plan._source_text = text
    return plan


def plan_json_schema() -> dict[str, Any]:
    """The JSON Schema of the TOML a plan file holds (for editors such as taplo)."""
    schema = Plan.model_json_schema(mode="validation")
    schema["$schema"] = "https://json-schema.org/draft/2020-12/schema"
    schema["title"] = "fleetupgrade plan"
    return schema


def resolve_credentials(
    vcenter: VCenterConfig, env: Mapping[str, str] = os.environ
) -> tuple[str, str]:
    """``(username, password)`` for a vCenter, from the environment or files the plan names."""
    if vcenter.username is not None:
        username = vcenter.username
    else:
        assert vcenter.username_env is not None
        found = env.get(vcenter.username_env)
        if not found:
            raise CredentialsError(
                f"vCenter {vcenter.name}: environment variable {vcenter.username_env} "
                "(username_env) is not set"
            )
        username = found
    if vcenter.password_env is not None:
        password = env.get(vcenter.password_env)
        if not password:
            raise CredentialsError(
                f"vCenter {vcenter.name}: environment variable {vcenter.password_env} "
                "(password_env) is not set"
            )
        return username, password
    assert vcenter.password_file is not None
    try:
        text = vcenter.password_file.read_text(encoding="utf-8")
    except OSError as exc:
        raise CredentialsError(
            f"vCenter {vcenter.name}: cannot read password_file {vcenter.password_file}: "
            f"{exc.strerror or exc}"
        ) from None
    password = text.removesuffix("\n").removesuffix("\r")
    if not password:
        raise CredentialsError(
            f"vCenter {vcenter.name}: password_file {vcenter.password_file} is empty"
        )
    return username, password


def credential_issues(plan: Plan, env: Mapping[str, str] = os.environ) -> list[Issue]:
    """Credentials this machine could not read now (warnings in ``validate``)."""
    issues = []
    for index, vcenter in enumerate(plan.vcenters):
        try:
            resolve_credentials(vcenter, env)
        except CredentialsError as exc:
            issues.append(Issue(f"vcenters[{index}]", str(exc), severity="warning"))
    return issues
