"""The structures of docs/wire.md (§2-§7), transcribed for the strict contract checker.

Required fields are present and non-null, optional ones omitted when unset (the simulator
never sends null, §1), nothing else is allowed, and enums carry only the listed values.
Cross-field rules: the union of task ``Info`` by ``status`` (§7), ``CompatibilityInfo`` by
``compatibility`` and ``ImageSourceSpec.library`` (§6.4), ``desired_version`` /
``upgrade_status`` set exactly while an upgrade is in progress (§6, §9), progress as a
percentage, ``challenge`` only on UNAUTHENTICATED/UNAUTHORIZED errors (§2.1).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from tests.sim.sdk_types import (
    ANY_JSON,
    ANY_OBJECT,
    BOOL,
    DATETIME,
    INT,
    NUMBER,
    STR,
    Enum,
    Lazy,
    ListOf,
    MapOf,
    Rule,
    Spec,
    Struct,
    enum,
    present,
)

# --- §3 shared structures -------------------------------------------------------------------

SEVERITY = enum("Severity", "INFO", "WARNING", "ERROR")

LOCALIZATION_PARAM: Spec = Struct(
    "LocalizationParam",
    required={},
    optional={
        "s": STR,
        "dt": DATETIME,
        "i": INT,
        "d": NUMBER,
        "l": Lazy(lambda: NESTED_LOCALIZABLE_MESSAGE),
        "format": enum(
            "LocalizationParam.DateTimeFormat",
            "SHORT_DATE",
            "MED_DATE",
            "LONG_DATE",
            "FULL_DATE",
            "SHORT_TIME",
            "MED_TIME",
            "LONG_TIME",
            "FULL_TIME",
            "SHORT_DATE_TIME",
            "MED_DATE_TIME",
            "LONG_DATE_TIME",
            "FULL_DATE_TIME",
        ),
        "precision": INT,
    },
)
NESTED_LOCALIZABLE_MESSAGE: Spec = Struct(
    "NestedLocalizableMessage", required={"id": STR}, optional={"params": MapOf(LOCALIZATION_PARAM)}
)
LOCALIZABLE_MESSAGE: Spec = Struct(
    "LocalizableMessage",
    required={"id": STR, "default_message": STR, "args": ListOf(STR)},
    optional={"params": MapOf(LOCALIZATION_PARAM), "localized": STR},
)

ERROR_STATUS: Mapping[str, int] = {
    "ALREADY_EXISTS": 400,
    "ALREADY_IN_DESIRED_STATE": 400,
    "CANCELED": 500,
    "CONCURRENT_CHANGE": 409,
    "ERROR": 500,
    "FEATURE_IN_USE": 400,
    "INTERNAL_SERVER_ERROR": 500,
    "INVALID_ARGUMENT": 400,
    "INVALID_ELEMENT_CONFIGURATION": 400,
    "INVALID_ELEMENT_TYPE": 400,
    "INVALID_REQUEST": 400,
    "NOT_ALLOWED_IN_CURRENT_STATE": 400,
    "NOT_FOUND": 404,
    "OPERATION_NOT_FOUND": 404,
    "RESOURCE_BUSY": 400,
    "RESOURCE_IN_USE": 400,
    "RESOURCE_INACCESSIBLE": 400,
    "SERVICE_UNAVAILABLE": 503,
    "TIMED_OUT": 504,
    "UNABLE_TO_ALLOCATE_RESOURCE": 400,
    "UNAUTHENTICATED": 401,
    "UNAUTHORIZED": 403,
    "UNEXPECTED_INPUT": 400,
    "UNSUPPORTED": 400,
    "UNVERIFIED_PEER": 500,
}
CHALLENGE_KINDS = frozenset({"UNAUTHENTICATED", "UNAUTHORIZED"})


def _challenge_rule(obj: Mapping[str, Any]) -> Iterable[str]:
    if "challenge" in obj and obj.get("error_type") not in CHALLENGE_KINDS:
        yield f"'challenge' is only sent with UNAUTHENTICATED/UNAUTHORIZED, not {obj.get('error_type')!r}"


#: §2.1; ``error_type`` is optional in the schema but always sent by us, so required here.
ERROR_BODY: Spec = Struct(
    "Error",
    required={
        "error_type": Enum("Error.Type", frozenset(ERROR_STATUS)),
        "messages": ListOf(LOCALIZABLE_MESSAGE),
    },
    optional={"data": ANY_OBJECT, "challenge": STR},
    rules=(_challenge_rule,),
)

CLUSTERS_MESSAGE: Spec = Struct(
    "Clusters.Message",
    required={"severity": SEVERITY},
    optional={"details": LOCALIZABLE_MESSAGE, "kb_article_link": STR, "id": STR},
)
CONDITION: Spec = Struct(
    "Clusters.Condition",
    required={
        "type": STR,
        "description": LOCALIZABLE_MESSAGE,
        "status": enum("Condition.Status", "TRUE", "FALSE", "UNKNOWN"),
        "reason": STR,
        "severity": SEVERITY,
        "messages": ListOf(CLUSTERS_MESSAGE),
    },
    optional={"last_transition_time": DATETIME},
)
UPGRADES_MESSAGE: Spec = Struct(
    "Upgrades.Message", required={"severity": SEVERITY, "details": LOCALIZABLE_MESSAGE}
)
DYNAMIC_ID: Spec = Struct("DynamicID", required={"type": STR, "id": STR})

# --- §4 sessions ----------------------------------------------------------------------------

SESSION_INFO: Spec = Struct(
    "Session.Info",
    required={"user": STR, "created_time": DATETIME, "last_accessed_time": DATETIME},
)

# --- §5 Supervisor inventory ----------------------------------------------------------------

STATS: Spec = Struct(
    "Stats",
    required=dict.fromkeys(
        (
            "cpu_used",
            "cpu_capacity",
            "memory_used",
            "memory_capacity",
            "storage_used",
            "storage_capacity",
        ),
        INT,
    ),
)
SUMMARY_MESSAGE: Spec = Struct(
    "Summary.Message",
    required={"id": STR, "severity": SEVERITY, "details": LOCALIZABLE_MESSAGE},
    optional={"kb_article_link": STR},
)
SUMMARY_INFO: Spec = Struct(
    "Summary.Info",
    required={
        "name": STR,
        "stats": STATS,
        "config_status": enum("ConfigStatus", "CONFIGURING", "REMOVING", "RUNNING", "ERROR"),
        "kubernetes_status": enum("KubernetesStatus", "READY", "WARNING", "ERROR"),
    },
    optional={"APIEndpoint": STR, "messages": ListOf(SUMMARY_MESSAGE)},
)
SUMMARY_LIST: Spec = Struct(
    "Summary.ListResult",
    required={
        "items": ListOf(
            Struct("Summary.ListItem", required={"supervisor": STR, "info": SUMMARY_INFO})
        )
    },
)

# --- §6 Supervisor upgrades -----------------------------------------------------------------

UPGRADE_STATE = enum("Upgrades.State", "INPROGRESS", "READY", "ERROR")


def _while_in_progress(key: str) -> Rule:
    """§6/§9: ``key`` is set exactly while ``state`` is INPROGRESS."""

    def rule(obj: Mapping[str, Any]) -> Iterable[str]:
        in_progress = obj.get("state") == "INPROGRESS"
        if in_progress and not present(obj, key):
            yield f"{key!r} must be set while state is INPROGRESS"
        if not in_progress and present(obj, key):
            yield f"{key!r} is set only while an upgrade is in progress, state is {obj.get('state')!r}"

    return rule


UPGRADES_SUMMARY: Spec = Struct(
    "Upgrades.Summary",
    required={
        "supervisor": STR,
        "current_version": STR,
        "available_versions": ListOf(STR),
        "state": UPGRADE_STATE,
    },
    optional={"last_upgraded_date": DATETIME, "desired_version": STR},
    rules=(_while_in_progress("desired_version"),),
)
UPGRADES_LIST: Spec = Struct(
    "Upgrades.ListResult", required={"supervisors": ListOf(UPGRADES_SUMMARY)}
)


def _percent_rule(obj: Mapping[str, Any]) -> Iterable[str]:
    completed = obj.get("completed")
    if type(completed) is int and not 0 <= completed <= 100:
        yield f"'completed' is a percentage (0-100), got {completed}"


UPGRADES_PROGRESS: Spec = Struct(
    "Upgrades.Progress",
    required={"total": INT, "completed": INT, "message": LOCALIZABLE_MESSAGE},
    rules=(_percent_rule,),
)
UPGRADES_STATUS: Spec = Struct(
    "Upgrades.Status",
    required={
        "desired_version": STR,
        "messages": ListOf(UPGRADES_MESSAGE),
        "progress": UPGRADES_PROGRESS,
    },
    optional={"components": ListOf(CONDITION)},
)
UPGRADES_INFO: Spec = Struct(
    "Upgrades.Info",
    required={
        "current_version": STR,
        "available_versions": ListOf(STR),
        "messages": ListOf(UPGRADES_MESSAGE),
        "state": UPGRADE_STATE,
    },
    optional={
        "last_upgraded_date": DATETIME,
        "upgrade_status": UPGRADES_STATUS,
        "upgrade_prechecks": ListOf(CONDITION),
    },
    rules=(_while_in_progress("upgrade_status"),),
)

VERSIONS_LIST: Spec = Struct(
    "Versions.ListResult",
    required={"supervisor_versions": ListOf(Struct("Versions.Summary", required={"version": STR}))},
)


def _library_rule(obj: Mapping[str, Any]) -> Iterable[str]:
    if "library" in obj and obj.get("source_type") != "CONTENT_LIBRARY":
        yield f"'library' is allowed only with source_type CONTENT_LIBRARY, not {obj.get('source_type')!r}"


IMAGE_SOURCE_SPEC: Spec = Struct(
    "ImageSourceSpec",
    required={"source_type": enum("ImageSourceType", "EMBEDDED", "CONTENT_LIBRARY")},
    optional={"library": STR},
    rules=(_library_rule,),
)
_VERSION_INFO_FIELDS: Mapping[str, Spec] = {
    "version": STR,
    "name": STR,
    "description": STR,
    "release_date": DATETIME,
    "release_notes": STR,
    "image_source_specs": ListOf(IMAGE_SOURCE_SPEC),
}
VERSIONS_INFO: Spec = Struct("Versions.Info", required=_VERSION_INFO_FIELDS)


def _compatibility_rule(obj: Mapping[str, Any]) -> Iterable[str]:
    """§6.4: INCOMPATIBLE ⇒ reasons, no capabilities; COMPATIBLE* ⇒ capabilities, no reasons."""
    compatibility = obj.get("compatibility")
    if compatibility == "INCOMPATIBLE":
        wanted, unwanted = "incompatibility_reasons", "capabilities"
    elif compatibility in ("COMPATIBLE", "COMPATIBLE_AND_DEGRADED"):
        wanted, unwanted = "capabilities", "incompatibility_reasons"
    else:
        return
    if not present(obj, wanted):
        yield f"{wanted!r} is required when compatibility is {compatibility}"
    if unwanted in obj:
        yield f"{unwanted!r} is not allowed when compatibility is {compatibility}"


COMPATIBILITY_INFO: Spec = Struct(
    "Versions.CompatibilityInfo",
    required={
        **_VERSION_INFO_FIELDS,
        "compatibility": enum(
            "Versions.Compatibility", "COMPATIBLE", "COMPATIBLE_AND_DEGRADED", "INCOMPATIBLE"
        ),
    },
    optional={
        "incompatibility_reasons": ListOf(LOCALIZABLE_MESSAGE),
        "capabilities": ListOf(
            Struct(
                "Versions.Capability",
                required={
                    "name": STR,
                    "status": enum(
                        "Capability.Status", "SUPPORTED", "SUPPORTED_AND_DEGRADED", "UNSUPPORTED"
                    ),
                },
            )
        ),
    },
    rules=(_compatibility_rule,),
)

PRECHECKS_INFO: Spec = Struct(
    "Prechecks.Info",
    required={},
    optional={
        "precheck_results": ListOf(
            Struct(
                "Prechecks.PrecheckResult",
                required={"target_version": STR, "conditions": ListOf(CONDITION)},
                optional={
                    "status": enum(
                        "ConditionGroup.Status",
                        "SUCCEEDED",
                        "RUNNING",
                        "WARNING",
                        "ERROR",
                        "UNKNOWN",
                    )
                },
            )
        )
    },
)

# --- §7 cis tasks ---------------------------------------------------------------------------

TASK_STATUS = enum("Task.Status", "PENDING", "RUNNING", "BLOCKED", "SUCCEEDED", "FAILED")
_UNION_FIELDS = ("progress", "result", "start_time", "end_time", "error")
#: status → (required, allowed besides the required) of the §7 union.
_TASK_UNION: Mapping[str, tuple[frozenset[str], frozenset[str]]] = {
    "PENDING": (frozenset(), frozenset()),
    "RUNNING": (frozenset({"progress", "start_time"}), frozenset({"result"})),
    "BLOCKED": (frozenset({"progress", "start_time"}), frozenset({"result"})),
    "SUCCEEDED": (frozenset({"progress", "start_time", "end_time"}), frozenset({"result"})),
    "FAILED": (
        frozenset({"progress", "start_time", "end_time"}),
        frozenset({"result", "error"}),
    ),
}


def _task_union_rule(obj: Mapping[str, Any]) -> Iterable[str]:
    status = obj.get("status")
    if not isinstance(status, str) or status not in _TASK_UNION:
        return
    required, allowed = _TASK_UNION[status]
    for key in _UNION_FIELDS:
        if key in required and not present(obj, key):
            yield f"{key!r} is required when status is {status}"
        elif key not in required and key not in allowed and key in obj:
            yield f"{key!r} is not allowed when status is {status}"


TASK_INFO: Spec = Struct(
    "Task.Info",
    required={
        "description": LOCALIZABLE_MESSAGE,
        "service": STR,
        "operation": STR,
        "status": TASK_STATUS,
        "cancelable": BOOL,
    },
    optional={
        "parent": STR,
        "target": DYNAMIC_ID,
        "error": ERROR_BODY,
        "start_time": DATETIME,
        "end_time": DATETIME,
        "user": STR,
        "progress": Struct(
            "Task.Progress",
            required={"total": INT, "completed": INT, "message": LOCALIZABLE_MESSAGE},
        ),
        "result": ANY_JSON,
    },
    rules=(_task_union_rule,),
)
TASK_MAP: Spec = MapOf(TASK_INFO)
