"""A Supervisor's health as Summary reports it: ``config_status``, ``kubernetes_status``, why.

Health follows the scenario (``health_before``, ``health_after_upgrade``,
``health_settle``) and the state machine, at a simulated instant (docs/simulator.md,
Health):

* ``ERROR`` while the upgrade state is ``ERROR`` (a failed upgrade needs intervention);
* ``CONFIGURING`` while the upgrade proper runs, and for ``health_settle`` after a
  successful job;
* after a successful job: ``health_after_upgrade``; before any: ``health_before``.

``kubernetes_status`` follows: ``READY`` when RUNNING, ``WARNING`` when CONFIGURING,
``ERROR`` when ERROR. Summary ``messages`` explain any state but RUNNING and are omitted
when healthy.
"""

from __future__ import annotations

from typing import Final

from fleetupgrade.sim.machine import Supervisor
from fleetupgrade.sim.wire import JSON, Message, Severity

KUBERNETES_STATUS: Final = {"RUNNING": "READY", "CONFIGURING": "WARNING", "ERROR": "ERROR"}
#: A documentation link for the health error; ``.invalid`` never resolves, on purpose.
HEALTH_KB_LINK: Final = "https://kb.sim.invalid/supervisor-health-error"


def config_status(sup: Supervisor, now: float) -> str:
    """``config_status`` at ``now`` (see the module docstring for the rules)."""
    if sup.state(now) == "ERROR":
        return "ERROR"
    job = sup.job
    if job is not None and job.phase(now) == "upgrading":
        return "CONFIGURING"
    if sup.last_upgraded_at is None:
        return sup.spec.health_before
    if now < sup.last_upgraded_at + sup.spec.health_settle.total_seconds():
        return "CONFIGURING"
    return sup.spec.health_after_upgrade


def statuses(sup: Supervisor, now: float) -> tuple[str, str]:
    """``(config_status, kubernetes_status)`` at ``now``."""
    config = config_status(sup, now)
    return config, KUBERNETES_STATUS[config]


def _message(message_id: str, severity: Severity, text: str, sup: Supervisor) -> JSON:
    out: JSON = {
        "id": message_id,
        "severity": severity,
        "details": Message(message_id, text, (sup.id,)).to_json(),
    }
    if severity == "ERROR":
        out["kb_article_link"] = HEALTH_KB_LINK
    return out


def health_messages(sup: Supervisor, config: str, now: float) -> list[JSON]:
    """``Summary.Message`` s explaining a config status other than RUNNING."""
    if config == "RUNNING":
        return []
    if config == "ERROR" and sup.failed and sup.notes:
        return [
            {"id": n.message.id, "severity": n.severity, "details": n.message.to_json()}
            for n in sup.notes
        ]
    if config == "ERROR":
        return [
            _message(
                "vcenter.wcp.health.error",
                "ERROR",
                f"Supervisor {sup.spec.name} is not healthy: its control plane reports "
                "errors and needs intervention.",
                sup,
            )
        ]
    job = sup.job
    doing = (
        f"upgrade to {job.target_version} in progress"
        if job is not None and job.phase(now) == "upgrading"
        else "configuration being applied"
    )
    return [
        _message(
            "vcenter.wcp.health.configuring",
            "WARNING",
            f"Supervisor {sup.spec.name} is configuring ({doing}); it may not accept "
            "every workload yet.",
            sup,
        )
    ]


def _stats(index: int) -> JSON:
    return {
        "cpu_used": 8_000 + (index * 137) % 4_000,
        "cpu_capacity": 120_000,
        "memory_used": 65_536 + (index * 997) % 32_768,
        "memory_capacity": 524_288,
        "storage_used": 204_800 + (index * 1_021) % 102_400,
        "storage_capacity": 2_097_152,
    }


def _endpoint(vcenter_index: int, index: int) -> str:
    return f"10.{vcenter_index // 250 % 250}.{vcenter_index % 250}.{index % 250 + 2}"


def summary_info(sup: Supervisor, now: float, vcenter_index: int) -> JSON:
    """``Summary.Info``; ``messages`` only when the Supervisor is not healthy."""
    config, kubernetes = statuses(sup, now)
    out: JSON = {
        "name": sup.spec.name,
        "APIEndpoint": _endpoint(vcenter_index, sup.index),
        "stats": _stats(sup.index),
        "config_status": config,
        "kubernetes_status": kubernetes,
    }
    messages = health_messages(sup, config, now)
    if messages:
        out["messages"] = messages
    return out


def cluster_summary(sup: Supervisor, now: float) -> JSON:
    """``Clusters.Summary`` of the deprecated cluster listing."""
    config, kubernetes = statuses(sup, now)
    return {
        "cluster": f"domain-c{1001 + sup.index}",
        "cluster_name": sup.spec.name,
        "stats": _stats(sup.index),
        "config_status": config,
        "kubernetes_status": kubernetes,
    }
