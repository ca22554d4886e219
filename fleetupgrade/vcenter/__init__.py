"""Async client of the vCenter ``/api`` for Supervisor upgrades (see ``client.py``)."""

from __future__ import annotations

from fleetupgrade.vcenter.client import VCenterClient
from fleetupgrade.vcenter.endpoint import VCenterEndpoint
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
from fleetupgrade.vcenter.reconcile import JOBS_SERVICE, SUPERVISOR_TYPE, Reconciliation
from fleetupgrade.vcenter.tls import format_thumbprint, parse_thumbprint
from fleetupgrade.vcenter.transport import Counters, RetryPolicy

__all__ = [
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
    "format_thumbprint",
    "parse_datetime",
    "parse_thumbprint",
]
