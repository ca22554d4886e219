"""Async client of the vCenter ``/api`` for Supervisor upgrades (see ``client.py``)."""

from __future__ import annotations

from fleetupgrade.vcenter import models
from fleetupgrade.vcenter.client import VCenterClient
from fleetupgrade.vcenter.endpoint import VCenterEndpoint
from fleetupgrade.vcenter.health import health_problem, is_healthy
from fleetupgrade.vcenter.models import *  # noqa: F403 - the wire models, listed once in models.py
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
    "Counters",
    "Reconciliation",
    "RetryPolicy",
    "VCenterClient",
    "VCenterEndpoint",
    "Verdict",
    "format_thumbprint",
    "health_problem",
    "is_healthy",
    "parse_thumbprint",
]
__all__ += models.__all__
