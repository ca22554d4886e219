"""The plan's models: what an operator writes, checked value by value.

They also answer what the engine asks ("which threshold gates this wave?", "how fast may
I call this vCenter?"), so the defaults-versus-override logic lives in one place.

Every model forbids unknown keys (a typo must never be silently ignored) and its scalars
are strict (``"3"`` is not 3). What spans the document (references, duplicates, files,
the window) is checked in :mod:`fleetupgrade.plan.rules`; loading lives in
:mod:`fleetupgrade.plan.loader`. The format, key by key, is docs/plan.md.
"""

from __future__ import annotations

from datetime import timedelta
from fractions import Fraction
from pathlib import Path
from typing import Annotated, Literal, TypeVar

from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    PrivateAttr,
    StrictBool,
)

from fleetupgrade.errors import FleetFileError, Issue
from fleetupgrade.outcomes import DEFAULT_NOTIFY_EVENTS, NOTIFY_EVENTS, NotifyEvent
from fleetupgrade.plan.fields import (
    Count,
    EnvName,
    Name,
    NonEmpty,
    NonNegativeDuration,
    OffsetDateTime,
    OneLine,
    Percent,
    PlanPath,
    PositiveDuration,
    Rate,
    Slots,
    Username,
    VersionId,
    plan_version,
)
from fleetupgrade.plan.threshold import Threshold

__all__ = [
    "DEFAULT_NOTIFY_EVENTS",
    "NOTIFY_EVENTS",
    "Defaults",
    "NotifyConfig",
    "NotifyEvent",
    "Plan",
    "SupervisorRef",
    "VCenterConfig",
    "Wave",
    "Window",
]


_T = TypeVar("_T")


class _Model(BaseModel):
    # Scalars are strict (StrictInt, StrictStr, ...): "3" is not 3 and "yes" is not true.
    model_config = ConfigDict(frozen=True, extra="forbid", strict=False)


class Defaults(_Model):
    """Settings every Supervisor and wave inherits unless it overrides them."""

    desired_version: VersionId | None = None
    ignore_precheck_warnings: StrictBool = False
    max_concurrent_per_vcenter: Slots = 1
    max_concurrent_total: Count = 0
    max_precheck_errors: Count = 0
    max_failures: Count | None = None
    max_failure_percent: Percent | None = None
    require_approval: StrictBool = False
    approval_timeout: NonNegativeDuration = timedelta(0)
    health_timeout: NonNegativeDuration = timedelta(minutes=15)
    expected_upgrade_duration: NonNegativeDuration | None = None
    expected_upgrade_duration_per_node: NonNegativeDuration | None = None
    max_requests_per_second: Rate = 20.0
    poll_interval: PositiveDuration = timedelta(seconds=30)
    upgrade_timeout: PositiveDuration = timedelta(hours=4)
    stall_timeout: PositiveDuration = timedelta(minutes=30)
    request_timeout: PositiveDuration = timedelta(seconds=60)


class Window(_Model):
    """The maintenance window: wait for ``start``; no new job after ``end``; watch until grace."""

    start: OffsetDateTime
    end: OffsetDateTime
    grace: NonNegativeDuration = timedelta(0)
    admission: Literal["fit", "start"] = "fit"


class VCenterConfig(_Model):
    """One vCenter, how to trust it and how to log in (secrets only by reference)."""

    name: Name
    url: NonEmpty
    username: Username | None = None
    username_env: EnvName | None = None
    password_env: EnvName | None = None
    password_file: PlanPath | None = None
    ca_file: PlanPath | None = None
    tls_thumbprint: NonEmpty | None = None
    max_concurrent: Slots | None = None
    max_requests_per_second: Rate | None = None


class SupervisorRef(_Model):
    """One Supervisor to upgrade, by ``id`` or by ``name`` (resolved at run time)."""

    vcenter: NonEmpty
    id: NonEmpty | None = None
    name: NonEmpty | None = None
    desired_version: VersionId | None = None
    ignore_precheck_warnings: StrictBool | None = None

    @property
    def label(self) -> str:
        """``vcenter/id-or-name`` as operators read it."""
        return f"{self.vcenter}/{self.id or self.name}"


class Wave(_Model):
    """Supervisors upgraded together, halted by its precheck and failure gates."""

    name: Name
    max_precheck_errors: Count | None = None
    max_precheck_error_percent: Percent | None = None
    max_failures: Count | None = None
    max_failure_percent: Percent | None = None
    max_upgrade_failures: Count | None = None  # deprecated alias of max_failures
    require_approval: StrictBool | None = None
    health_timeout: NonNegativeDuration | None = None
    pause_after: PositiveDuration | None = None
    supervisors: Annotated[tuple[SupervisorRef, ...], Field(min_length=1)]


class NotifyConfig(_Model):
    """One notification target: where events are posted (a secret), which, and how."""

    url: NonEmpty | None = Field(default=None, repr=False)
    url_env: EnvName | None = None
    events: Annotated[tuple[NotifyEvent, ...], Field(min_length=1)] = DEFAULT_NOTIFY_EVENTS
    format: Literal["json", "slack"] = "json"
    secret_env: EnvName | None = None


def _own_or(own: _T | None, default: _T) -> _T:
    """A wave's, Supervisor's or vCenter's own setting, else the plan's default."""
    return own if own is not None else default


def _percent(value: float) -> Fraction:
    return Fraction(str(value))  # the decimal the TOML text held, exactly


class Plan(_Model):
    """A whole plan: vCenters, defaults, an optional window, the ordered waves, notify.

    Without waves it is a *fleet file*: good for ``inventory`` and ``plan new``, refused
    by ``run`` (:meth:`require_waves`).
    """

    version: Annotated[Literal[1], BeforeValidator(plan_version)]
    name: Name
    change_ref: OneLine | None = None
    defaults: Defaults = Field(default_factory=Defaults)
    window: Window | None = None
    vcenters: Annotated[tuple[VCenterConfig, ...], Field(min_length=1)]
    waves: tuple[Wave, ...] = ()
    notify: tuple[NotifyConfig, ...] = ()

    _path: Path = PrivateAttr(default=Path("plan.toml"))
    _sha256: str = PrivateAttr(default="")
    _source_text: str = PrivateAttr(default="")
    _warnings: tuple[Issue, ...] = PrivateAttr(default=())

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

    @property
    def warnings(self) -> tuple[Issue, ...]:
        """Valid but deprecated spellings found while loading (``validate`` prints them)."""
        return self._warnings

    @property
    def is_fleet_file(self) -> bool:
        """No ``[[waves]]``: a list of vCenters, not something ``run`` can execute."""
        return not self.waves

    def require_waves(self) -> None:
        """Raise :class:`FleetFileError` (exit 2) when there is no wave to run."""
        if self.is_fleet_file:
            raise FleetFileError(
                str(self.path),
                [
                    Issue(
                        "waves",
                        "this is a fleet file (no [[waves]]): `run` needs at least one "
                        "[[waves]] table; `fleetupgrade plan new` can write them",
                    )
                ],
            )

    def vcenter(self, name: str) -> VCenterConfig:
        """The vCenter of that name (KeyError if the plan has none)."""
        for vcenter in self.vcenters:
            if vcenter.name == name:
                return vcenter
        raise KeyError(f"plan {self.name} has no vCenter {name!r}")

    def max_concurrent_for(self, vcenter: str) -> int:
        """How many jobs may be in flight on this vCenter."""
        return _own_or(
            self.vcenter(vcenter).max_concurrent, self.defaults.max_concurrent_per_vcenter
        )

    def requests_per_second_for(self, vcenter: str) -> float:
        """The request pacing for this vCenter (its own, else the default)."""
        own = self.vcenter(vcenter).max_requests_per_second
        return float(_own_or(own, self.defaults.max_requests_per_second))

    def desired_version_for(self, ref: SupervisorRef) -> str:
        """The version this Supervisor is upgraded to (validated to exist)."""
        version = ref.desired_version or self.defaults.desired_version
        if version is None:  # pragma: no cover - load_plan rejects such plans
            raise ValueError(f"{ref.label}: no desired_version")
        return version

    def ignore_warnings_for(self, ref: SupervisorRef) -> bool:
        """Whether precheck WARNINGs let this Supervisor's upgrade proceed."""
        return _own_or(ref.ignore_precheck_warnings, self.defaults.ignore_precheck_warnings)

    def threshold_for(self, wave: Wave) -> Threshold:
        """The wave's precheck gate (its own limit, or the default count)."""
        if wave.max_precheck_error_percent is not None:
            return Threshold("percent", _percent(wave.max_precheck_error_percent))
        if wave.max_precheck_errors is not None:
            return Threshold("count", wave.max_precheck_errors)
        return Threshold("count", self.defaults.max_precheck_errors)

    def failure_threshold_for(self, wave: Wave) -> Threshold:
        """The wave's failure gate: its own limit, else the default (count 0: first failure)."""
        percent = wave.max_failure_percent
        count = wave.max_failures if wave.max_failures is not None else wave.max_upgrade_failures
        if percent is None and count is None:
            percent, count = self.defaults.max_failure_percent, self.defaults.max_failures
        if percent is not None:
            return Threshold("percent", _percent(percent), "failure")
        return Threshold("count", count or 0, "failure")

    def requires_approval(self, wave: Wave) -> bool:
        """Whether the wave waits for ``fleetupgrade approve`` before it starts."""
        return _own_or(wave.require_approval, self.defaults.require_approval)

    def health_timeout_for(self, wave: Wave) -> timedelta:
        """How long to wait for a healthy Supervisor after its job (0: do not wait)."""
        return _own_or(wave.health_timeout, self.defaults.health_timeout)

    def expected_duration(self, control_plane_nodes: int) -> timedelta | None:
        """The planned duration of one upgrade, for window-fit admission (None: unknown)."""
        whole = self.defaults.expected_upgrade_duration
        if whole:
            return whole
        per_node = self.defaults.expected_upgrade_duration_per_node
        if per_node and control_plane_nodes > 0:
            return per_node * control_plane_nodes
        return None
