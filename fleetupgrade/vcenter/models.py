"""Wire models: vCenter's JSON, parsed once at the edge into frozen, typed objects.

Why this module exists: everything vCenter sends is untrusted input. Each answer is
validated here against docs/wire.md and nothing raw crosses into the engine.

Rules, all from the wire contract (section 1):

* Unknown fields are ignored (forward compatibility); only fields we read are modelled.
* A required field that is missing, null or of the wrong JSON type is an error
  (strict mode: ``"3"`` is not an integer, ``3`` is not a string). The client turns it
  into :class:`~fleetupgrade.errors.MalformedResponse` naming the operation and field.
* "Optional" means omitted *or* null; both read as ``None``.
* Enums keep an explicit ``UNRECOGNIZED`` member for strings this version does not know
  (new vCenter releases add values). It is never equal to a success value, so an unknown
  state can never be taken for success; the raw string is logged (``unknown_enum_value``).
* Date-times accept every RFC 3339 form the contract accepts and come out timezone-aware
  in UTC (a naive datetime would compare wrongly with our clock).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import UTC, datetime, timedelta, timezone
from enum import StrEnum
from typing import Annotated, Any, Self, TypeVar

import structlog
from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, model_validator

__all__ = [
    "Condition",
    "ConditionMessage",
    "ConditionStatus",
    "ConfigStatus",
    "DynamicID",
    "KubernetesStatus",
    "LocalizableMessage",
    "PrecheckResult",
    "PrecheckStatus",
    "Severity",
    "SummaryMessage",
    "SupervisorSummary",
    "TaskInfo",
    "TaskProgress",
    "TaskStatus",
    "UpgradeInfo",
    "UpgradeMessage",
    "UpgradeProgress",
    "UpgradeState",
    "UpgradeStatus",
    "UpgradeSummary",
    "VapiError",
    "parse_datetime",
]

_log = structlog.get_logger()

UNRECOGNIZED = "<unrecognized>"

_RFC3339 = re.compile(
    r"(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2}):(\d{2})(?:\.(\d+))?(Z|[+-]\d{2}:\d{2})",
)


def parse_datetime(text: str) -> datetime:
    """Parse an RFC 3339 date-time as the contract accepts it; return it aware, in UTC.

    Seconds and an offset (``Z`` or ``±HH:MM``) are mandatory, ``T`` and ``Z`` upper-case;
    a fraction of any length is truncated to microseconds.
    """
    match = _RFC3339.fullmatch(text)
    if match is None:
        raise ValueError(f"not an RFC 3339 date-time with offset: {text!r}")
    year, month, day, hour, minute, second = (int(match.group(i)) for i in range(1, 7))
    micros = int((match.group(7) or "0")[:6].ljust(6, "0"))
    offset = match.group(8)
    if offset == "Z":
        tz = UTC
    else:
        sign = -1 if offset[0] == "-" else 1
        hours, minutes = int(offset[1:3]), int(offset[4:6])
        if hours > 23 or minutes > 59:
            raise ValueError(f"invalid UTC offset in {text!r}")
        tz = timezone(sign * timedelta(hours=hours, minutes=minutes))
    value = datetime(year, month, day, hour, minute, second, micros, tzinfo=tz)
    return value.astimezone(UTC)


def _datetime(value: Any) -> Any:
    return parse_datetime(value) if isinstance(value, str) else value


DateTime = Annotated[datetime, BeforeValidator(_datetime)]


class ConfigStatus(StrEnum):
    """Summary ``config_status``."""

    CONFIGURING = "CONFIGURING"
    REMOVING = "REMOVING"
    RUNNING = "RUNNING"
    ERROR = "ERROR"
    UNRECOGNIZED = UNRECOGNIZED


class KubernetesStatus(StrEnum):
    """Summary ``kubernetes_status``."""

    READY = "READY"
    WARNING = "WARNING"
    ERROR = "ERROR"
    UNRECOGNIZED = UNRECOGNIZED


class UpgradeState(StrEnum):
    """``Upgrades.State``: INPROGRESS while a job runs, READY when idle, ERROR after a failure."""

    INPROGRESS = "INPROGRESS"
    READY = "READY"
    ERROR = "ERROR"
    UNRECOGNIZED = UNRECOGNIZED


class Severity(StrEnum):
    """Message and condition severity."""

    INFO = "INFO"
    WARNING = "WARNING"
    ERROR = "ERROR"
    UNRECOGNIZED = UNRECOGNIZED


class ConditionStatus(StrEnum):
    """``Clusters.Condition.status``: TRUE means the desired state was reached."""

    TRUE = "TRUE"
    FALSE = "FALSE"
    UNKNOWN = "UNKNOWN"
    UNRECOGNIZED = UNRECOGNIZED


class PrecheckStatus(StrEnum):
    """``ConditionGroup.Status`` of one precheck result."""

    SUCCEEDED = "SUCCEEDED"
    RUNNING = "RUNNING"
    WARNING = "WARNING"
    ERROR = "ERROR"
    UNKNOWN = "UNKNOWN"
    UNRECOGNIZED = UNRECOGNIZED


class TaskStatus(StrEnum):
    """cis task status."""

    PENDING = "PENDING"
    RUNNING = "RUNNING"
    BLOCKED = "BLOCKED"
    SUCCEEDED = "SUCCEEDED"
    FAILED = "FAILED"
    UNRECOGNIZED = UNRECOGNIZED


E = TypeVar("E", bound=StrEnum)


def _lenient_enum(enum: type[E]) -> Callable[[Any], Any]:
    """Map a JSON string to ``enum``; an unknown string becomes ``UNRECOGNIZED`` (logged)."""
    known = {member.value for member in enum} - {UNRECOGNIZED}

    def validate(value: Any) -> Any:
        if not isinstance(value, str):
            return value  # the strict enum validator rejects it with a clear message
        if value in known:
            return enum(value)
        _log.warning("unknown_enum_value", enum=enum.__name__, value=value)
        return enum(UNRECOGNIZED)

    return validate


ConfigStatusField = Annotated[ConfigStatus, BeforeValidator(_lenient_enum(ConfigStatus))]
KubernetesStatusField = Annotated[
    KubernetesStatus, BeforeValidator(_lenient_enum(KubernetesStatus))
]
UpgradeStateField = Annotated[UpgradeState, BeforeValidator(_lenient_enum(UpgradeState))]
SeverityField = Annotated[Severity, BeforeValidator(_lenient_enum(Severity))]
ConditionStatusField = Annotated[ConditionStatus, BeforeValidator(_lenient_enum(ConditionStatus))]
PrecheckStatusField = Annotated[PrecheckStatus, BeforeValidator(_lenient_enum(PrecheckStatus))]
TaskStatusField = Annotated[TaskStatus, BeforeValidator(_lenient_enum(TaskStatus))]


class WireModel(BaseModel):
    """Base of every wire model: frozen, strict JSON types, unknown fields ignored."""

    model_config = ConfigDict(frozen=True, strict=True, extra="ignore")


class LocalizableMessage(WireModel):
    """A vAPI message: stable ``id`` and English ``default_message``."""

    id: str
    default_message: str
    args: tuple[str, ...]
    localized: str | None = None


class ConditionMessage(WireModel):
    """``Clusters.Message``: detail of a condition."""

    severity: SeverityField
    details: LocalizableMessage | None = None
    kb_article_link: str | None = None
    id: str | None = None


class Condition(WireModel):
    """``Clusters.Condition``: one precheck or one upgrade stage."""

    type: str
    description: LocalizableMessage
    status: ConditionStatusField
    last_transition_time: DateTime | None = None
    reason: str
    severity: SeverityField
    messages: tuple[ConditionMessage, ...]


class UpgradeMessage(WireModel):
    """``Upgrades.Message``: a message about the upgrade process (precheck verdicts too)."""

    severity: SeverityField
    details: LocalizableMessage


class SummaryMessage(WireModel):
    """``Summary.Message``."""

    id: str
    severity: SeverityField
    details: LocalizableMessage
    kb_article_link: str | None = None


class SupervisorSummary(WireModel):
    """One Supervisor of the Summary list (flattened from ``{supervisor, info}``)."""

    id: str
    name: str
    config_status: ConfigStatusField
    kubernetes_status: KubernetesStatusField
    api_endpoint: str | None = None
    messages: tuple[SummaryMessage, ...] = ()


class _SummaryInfo(WireModel):
    name: str
    api_endpoint: str | None = Field(default=None, alias="APIEndpoint")
    config_status: ConfigStatusField
    kubernetes_status: KubernetesStatusField
    messages: tuple[SummaryMessage, ...] | None = None


class _SummaryItem(WireModel):
    supervisor: str
    info: _SummaryInfo

    def flatten(self) -> SupervisorSummary:
        return SupervisorSummary(
            id=self.supervisor,
            name=self.info.name,
            config_status=self.info.config_status,
            kubernetes_status=self.info.kubernetes_status,
            api_endpoint=self.info.api_endpoint,
            messages=self.info.messages or (),
        )


class SummaryListResult(WireModel):
    """``Summary.ListResult``."""

    items: tuple[_SummaryItem, ...]

    def supervisors(self) -> list[SupervisorSummary]:
        """Return the items, flattened."""
        return [item.flatten() for item in self.items]


class UpgradeSummary(WireModel):
    """``Upgrades.Summary``: one row of the bulk status poll."""

    supervisor: str
    current_version: str
    available_versions: tuple[str, ...]
    last_upgraded_date: DateTime | None = None
    desired_version: str | None = None
    state: UpgradeStateField


class UpgradeListResult(WireModel):
    """``Upgrades.ListResult``."""

    supervisors: tuple[UpgradeSummary, ...]


class UpgradeProgress(WireModel):
    """``Upgrades.Progress``: ``total`` control-plane nodes, ``completed`` in percent."""

    total: int
    completed: int
    message: LocalizableMessage


class UpgradeStatus(WireModel):
    """``Upgrades.Status``: set exactly while an upgrade is in progress."""

    desired_version: str
    messages: tuple[UpgradeMessage, ...]
    progress: UpgradeProgress
    components: tuple[Condition, ...] | None = None


class UpgradeInfo(WireModel):
    """``Upgrades.Info`` of one Supervisor."""

    current_version: str
    available_versions: tuple[str, ...]
    last_upgraded_date: DateTime | None = None
    messages: tuple[UpgradeMessage, ...]
    state: UpgradeStateField
    upgrade_status: UpgradeStatus | None = None
    upgrade_prechecks: tuple[Condition, ...] | None = None


class PrecheckResult(WireModel):
    """Results of the prechecks toward one ``target_version``."""

    target_version: str
    status: PrecheckStatusField | None = None
    conditions: tuple[Condition, ...]


class PrechecksInfo(WireModel):
    """``Prechecks.Info``."""

    precheck_results: tuple[PrecheckResult, ...] | None = None


class _VersionSummary(WireModel):
    version: str


class VersionListResult(WireModel):
    """``Versions.list`` answer."""

    supervisor_versions: tuple[_VersionSummary, ...]


class DynamicID(WireModel):
    """A typed resource reference."""

    type: str
    id: str


class TaskProgress(WireModel):
    """cis task progress."""

    total: int
    completed: int
    message: LocalizableMessage


class VapiError(BaseModel):
    """A vAPI standard error as embedded in a FAILED task (read leniently: it is opaque)."""

    model_config = ConfigDict(frozen=True, extra="ignore")

    error_type: str | None = None
    messages: tuple[LocalizableMessage, ...] = ()

    def texts(self) -> tuple[str, ...]:
        """Return the ``default_message`` texts, most important first."""
        return tuple(message.default_message for message in self.messages)


_TASK_REQUIRES = {
    TaskStatus.RUNNING: ("progress", "start_time"),
    TaskStatus.BLOCKED: ("progress", "start_time"),
    TaskStatus.SUCCEEDED: ("progress", "start_time", "end_time"),
    TaskStatus.FAILED: ("progress", "start_time", "end_time"),
}


class TaskInfo(WireModel):
    """cis task ``Info``; the required parts of the union rule on ``status`` are enforced."""

    description: LocalizableMessage
    service: str
    operation: str
    parent: str | None = None
    target: DynamicID | None = None
    status: TaskStatusField
    cancelable: bool
    error: VapiError | None = None
    start_time: DateTime | None = None
    end_time: DateTime | None = None
    user: str | None = None
    progress: TaskProgress | None = None

    @model_validator(mode="after")
    def _union_rule(self) -> Self:
        """Reject a task whose status lacks the fields the union rule requires."""
        for name in _TASK_REQUIRES.get(self.status, ()):
            if getattr(self, name) is None:
                raise ValueError(f"{name} is required when status is {self.status.value}")
        return self


class _TaskEntry(WireModel):
    key: str
    value: TaskInfo


TaskListForms = dict[str, TaskInfo] | tuple[_TaskEntry, ...]


def task_map(parsed: TaskListForms) -> dict[str, TaskInfo]:
    """Both list forms (object, or ``[{"key", "value"}]``) as one dict."""
    if isinstance(parsed, dict):
        return parsed
    return {entry.key: entry.value for entry in parsed}
