"""Plans: the TOML an operator writes, validated in one pass with every problem located.

A plan is reviewed in a change ticket and run at 2 a.m., so a typo must never be silently
ignored and every mistake must be reported at once, with its exact place, before anything
touches a vCenter. Validation therefore has two halves that always both run: the pydantic
models check each value's type and range (unknown keys are errors, with a did-you-mean),
and the cross-checks in :mod:`fleetupgrade.plan.rules` check what spans the document
(references, duplicates, files, the window). ``load_plan`` raises one :class:`PlanError`
carrying every issue.
"""

from __future__ import annotations

import hashlib
import math
import re
import tomllib
from dataclasses import dataclass
from datetime import timedelta
from fractions import Fraction
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    PrivateAttr,
    StrictBool,
    ValidationError,
)
from pydantic.json_schema import GenerateJsonSchema

from fleetupgrade.durations import format_duration
from fleetupgrade.errors import Issue, PlanError
from fleetupgrade.plan.credentials import credential_issues, resolve_credentials
from fleetupgrade.plan.fields import (
    Count,
    EnvName,
    Name,
    NonEmpty,
    NonNegativeDuration,
    OffsetDateTime,
    Percent,
    PlanPath,
    PositiveDuration,
    Slots,
    plan_version,
)
from fleetupgrade.plan.rules import cross_check, issues_from_validation

__all__ = [
    "Defaults",
    "Plan",
    "SupervisorRef",
    "Threshold",
    "VCenterConfig",
    "Wave",
    "Window",
    "credential_issues",
    "load_plan",
    "parse_plan",
    "plan_json_schema",
    "resolve_credentials",
]

_TOML_AT = re.compile(
    r"^(?P<what>.*) \(at (?:line (?P<line>\d+), column (?P<col>\d+)|end of document)\)$"
)


class _Model(BaseModel):
    # Scalars are strict (StrictInt, StrictStr, ...): "3" is not 3 and "yes" is not true.
    model_config = ConfigDict(frozen=True, extra="forbid", strict=False)


class Defaults(_Model):
    """Settings every Supervisor and wave inherits unless it overrides them."""

    desired_version: NonEmpty | None = None
    ignore_precheck_warnings: StrictBool = False
    max_concurrent_per_vcenter: Slots = 1
    max_concurrent_total: Count = 0
    max_precheck_errors: Count = 0
    poll_interval: PositiveDuration = timedelta(seconds=30)
    upgrade_timeout: PositiveDuration = timedelta(hours=4)
    stall_timeout: PositiveDuration = timedelta(minutes=30)
    request_timeout: PositiveDuration = timedelta(seconds=60)


class Window(_Model):
    """The maintenance window: wait for ``start``; no new job after ``end``; watch until grace."""

    start: OffsetDateTime
    end: OffsetDateTime
    grace: NonNegativeDuration = timedelta(0)


class VCenterConfig(_Model):
    """One vCenter, how to trust it and how to log in (secrets only by reference)."""

    name: Name
    url: NonEmpty
    username: NonEmpty | None = None
    username_env: EnvName | None = None
    password_env: EnvName | None = None
    password_file: PlanPath | None = None
    ca_file: PlanPath | None = None
    tls_thumbprint: NonEmpty | None = None
    max_concurrent: Slots | None = None


class SupervisorRef(_Model):
    """One Supervisor to upgrade, by ``id`` or by ``name`` (resolved at run time)."""

    vcenter: NonEmpty
    id: NonEmpty | None = None
    name: NonEmpty | None = None
    desired_version: NonEmpty | None = None
    ignore_precheck_warnings: StrictBool | None = None

    @property
    def label(self) -> str:
        """``vcenter/id-or-name`` as operators read it."""
        return f"{self.vcenter}/{self.id or self.name}"


class Wave(_Model):
    """Supervisors upgraded together, halted by its precheck threshold."""

    name: Name
    max_precheck_errors: Count | None = None
    max_precheck_error_percent: Percent | None = None
    max_upgrade_failures: Count | None = None
    pause_after: PositiveDuration | None = None
    supervisors: Annotated[tuple[SupervisorRef, ...], Field(min_length=1)]


def _ordinal(n: int) -> str:
    suffix = "th" if 10 <= n % 100 <= 20 else {1: "st", 2: "nd", 3: "rd"}.get(n % 10, "th")
    return f"{n}{suffix}"


def _decimal(value: int | Fraction) -> str:
    """A limit as the operator wrote it (``12.5``, not ``25/2`` nor a rounded float)."""
    value = Fraction(value)
    rest, twos, fives = value.denominator, 0, 0
    while rest % 2 == 0:
        rest, twos = rest // 2, twos + 1
    while rest % 5 == 0:
        rest, fives = rest // 5, fives + 1
    if rest != 1:  # not a terminating decimal (never from TOML text): say it exactly
        return str(value)
    places = max(twos, fives)
    digits = str(abs(value.numerator) * 10**places // value.denominator).rjust(places + 1, "0")
    whole, fraction = digits[: len(digits) - places], digits[len(digits) - places :]
    sign = "-" if value < 0 else ""
    return f"{sign}{whole}.{fraction}" if fraction else f"{sign}{whole}"


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
        if self.kind == "count":
            first = int(self.limit) + 1
        else:  # smallest E with E*100 > limit*size
            first = math.floor(Fraction(self.limit) * size / 100) + 1
        return first if 1 <= first <= size else None

    @property
    def rule(self) -> str:
        """The rule as the decision log records it."""
        if self.kind == "count":
            return f"max_precheck_errors: errors > {self.limit}"
        return f"max_precheck_error_percent: errors*100 > {_decimal(self.limit)}*size"

    def describe(self, size: int) -> str:
        """``10% of 18 → halts at the 2nd ERROR`` — the arithmetic an operator checks."""
        head = (
            f"max {self.limit} ERROR(s)"
            if self.kind == "count"
            else f"{_decimal(self.limit)}% of {size}"
        )
        at = self.halting_error_count(size)
        return f"{head} → " + (
            "never halts" if at is None else f"halts at the {_ordinal(at)} ERROR"
        )


class Plan(_Model):
    """A whole plan: vCenters, defaults, an optional window, and the ordered waves."""

    version: Annotated[Literal[1], BeforeValidator(plan_version)]
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
        """The vCenter of that name (KeyError if the plan has none)."""
        for vcenter in self.vcenters:
            if vcenter.name == name:
                return vcenter
        raise KeyError(f"plan {self.name} has no vCenter {name!r}")

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
    """A syntax error located like every other issue: ``line 3, column 7``."""
    match = _TOML_AT.match(str(exc))
    if match is None:
        return PlanError(source, [Issue("", f"TOML syntax error: {exc}")])
    where = f"line {match['line']}, column {match['col']}" if match["line"] else "end of file"
    return PlanError(source, [Issue(where, f"TOML syntax error: {match['what']}")])


def parse_plan(text: str, *, source: str, base: Path) -> Plan:
    """Validate plan text; ``base`` is the directory relative paths start from."""
    try:
        data = tomllib.loads(text.removeprefix("\ufeff"))  # editors on Windows add a BOM
    except tomllib.TOMLDecodeError as exc:
        raise _toml_error(source, exc) from None
    except RecursionError:
        raise PlanError(source, [Issue("", "TOML nested too deeply")]) from None
    issues = cross_check(data, base)
    plan = None
    try:
        plan = Plan.model_validate(data, context={"base": base})
    except ValidationError as exc:
        issues = issues_from_validation(exc, Plan) + issues
    except RecursionError:
        issues = [Issue("", "plan nested too deeply"), *issues]
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
    except (OSError, ValueError) as exc:
        reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else str(exc)
        raise PlanError(source, [Issue("", f"cannot read the plan: {reason}")]) from None
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise PlanError(
            source, [Issue("", f"not UTF-8 text: {exc.reason} at byte {exc.start}")]
        ) from None
    absolute = path.resolve()
    plan = parse_plan(text, source=source, base=absolute.parent)
    plan._path = absolute
    plan._sha256 = hashlib.sha256(raw).hexdigest()
    plan._source_text = text
    return plan


def _without_null(node: Any) -> Any:
    """TOML has no null: ``X | None`` means "key absent", so the schema offers only X."""
    if isinstance(node, list):
        return [_without_null(item) for item in node]
    if not isinstance(node, dict):
        return node
    node = {key: _without_null(value) for key, value in node.items()}
    options = node.get("anyOf")
    if isinstance(options, list) and {"type": "null"} in options:
        rest = [option for option in options if option != {"type": "null"}]
        del node["anyOf"]
        node = {**rest[0], **node} if len(rest) == 1 else {"anyOf": rest, **node}
    if node.get("default", 0) is None:
        del node["default"]
    return node


class _TomlSchema(GenerateJsonSchema):
    """Defaults as a plan spells them: ``"30s"``, not ISO 8601 ``"PT30S"``."""

    def encode_default(self, dft: Any) -> Any:
        """Durations in plan syntax; everything else as pydantic encodes it."""
        if isinstance(dft, timedelta):
            return format_duration(dft)
        return super().encode_default(dft)


def _one_of(*keys: str) -> dict[str, Any]:
    return {"oneOf": [{"required": [key]} for key in keys]}


def plan_json_schema() -> dict[str, Any]:
    """The JSON Schema of the TOML a plan file holds (for editors such as taplo).

    The rules JSON Schema can say are in it too (exactly one of ``id`` / ``name``, ...),
    so an editor flags what ``validate`` would; references and duplicates it cannot say.
    """
    schema: dict[str, Any] = _without_null(
        Plan.model_json_schema(mode="validation", schema_generator=_TomlSchema)
    )
    defs = schema["$defs"]
    defs["SupervisorRef"].update(_one_of("id", "name"))
    defs["VCenterConfig"]["allOf"] = [
        _one_of("username", "username_env"),
        _one_of("password_env", "password_file"),
    ]
    defs["Wave"]["not"] = {"required": ["max_precheck_errors", "max_precheck_error_percent"]}
    schema["$schema"] = "https://json-schema.org/draft/2020-12/schema"
    schema["title"] = "fleetupgrade plan"
    return schema
