"""Async client of the vCenter ``/api`` for Supervisor upgrades (see ``client.py``)."""

from __future__ import annotations

from fleetupgrade.vcenter.client import VCenterClient
from fleetupgrade.vcenter.endpoint import VCenterEndpoint
from fleetupgrade.vcenter.health import health_problem, is_healthy
from fleetupgrade.vcenter.models import (
    Condition,
    ConditionMessage,
    ConditionStatus,
    ConfigStatus,
    KubernetesStatus,
    LocalizableMessage,
    PrecheckResult,
    PrecheckStatus,
    Severity,
    SummaryMessage,
    SupervisorSummary,
    TaskInfo,
    TaskProgress,
    TaskStatus,
    UpgradeInfo,
    UpgradeMessage,
    UpgradeProgress,
    UpgradeState,
    UpgradeStatus,
    UpgradeSummary,
    VapiError,
    parse_datetime,
)
from fleetupgrade.vcenter.reconcile import (
    DEFAULT_CLOCK_MARGIN,
    JOBS_SERVICE,
    SUPERVISOR_TYPE,
    Reconciliation,
    Verdict,
)
from fleetupgrade.vcenter.retries import RetryPolicy
from fleetupgrade.vcenter.tls import format_thumbprint, parse_thumbprint
from fleetupgrade.vcenter.transport import Counters

__all__ = [
    "DEFAULT_CLOCK_MARGIN",
    "JOBS_SERVICE",
    "SUPERVISOR_TYPE",
    "Condition",
    "ConditionMessage",
    "ConditionStatus",
    "ConfigStatus",
    "Counters",
    "KubernetesStatus",
    "LocalizableMessage",
    "PrecheckResult",
    "PrecheckStatus",
    "Reconciliation",
    "RetryPolicy",
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
    "VCenterClient",
    "VCenterEndpoint",
    "VapiError",
    "Verdict",
    "format_thumbprint",
    "health_problem",
    "is_healthy",
    "parse_datetime",
    "parse_thumbprint",
]
