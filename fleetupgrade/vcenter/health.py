"""Is a Supervisor healthy? Pure judgements over its Summary (no I/O).

Why: an upgrade only counts as ``upgraded`` once the Supervisor is healthy again, and a
Supervisor that is unhealthy before the upgrade must not be touched. Healthy means exactly
``config_status`` RUNNING **and** ``kubernetes_status`` READY. Any other value — including
one this version does not know (``UNRECOGNIZED``) — is not healthy: an unknown state is
never taken for a good one. :func:`health_problem` says why in one line for reports,
preferring vCenter's own messages (ERROR first, then WARNING) over the bare statuses.
"""

from __future__ import annotations

from fleetupgrade.vcenter.models import (
    ConfigStatus,
    KubernetesStatus,
    Severity,
    SummaryMessage,
    SupervisorSummary,
)

__all__ = ["health_problem", "is_healthy"]

_SEVERITY_ORDER = (Severity.ERROR, Severity.WARNING, Severity.UNRECOGNIZED)


def is_healthy(summary: SupervisorSummary) -> bool:
    """True when config is RUNNING and Kubernetes is READY (anything else: not healthy)."""
    return (
        summary.config_status is ConfigStatus.RUNNING
        and summary.kubernetes_status is KubernetesStatus.READY
    )


def _message_text(message: SummaryMessage) -> str:
    return f"{message.severity.value} {message.id}: {message.details.default_message}"


def health_problem(summary: SupervisorSummary) -> str:
    """One line saying why the Supervisor is not healthy ("" when it is healthy)."""
    if is_healthy(summary):
        return ""
    statuses = f"config {summary.config_status.value}, kubernetes {summary.kubernetes_status.value}"
    for severity in _SEVERITY_ORDER:
        found = [m for m in summary.messages if m.severity is severity]
        if found:
            more = f" (+{len(found) - 1} more)" if len(found) > 1 else ""
            return f"{statuses}: {_message_text(found[0])}{more}"
    return statuses
