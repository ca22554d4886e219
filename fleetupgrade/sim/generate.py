"""The synthetic fleet of ``[generate]``: many vCenters with outcomes drawn from a seeded RNG.

Generated vCenters are named ``gen-vc-0001``…, their Supervisors have ids ``supervisor-1``…
and names ``sv-0001-01``… (vCenter number, Supervisor number). Each Supervisor's fate is
drawn in a fixed order from ``random.Random(f"{seed}:generate")``, so a seed always yields
the same fleet, and the listed ``[[vcenters]]`` never shift the draws. How it starts
(already current, nothing available, an upgrade already running, ERROR after an earlier
failure) is one more draw per Supervisor from ``random.Random(f"{seed}:generate:mix")``, a
separate stream so that adding the mix never changes the fates of an existing fleet.
"""

from __future__ import annotations

import random
from typing import Literal

from fleetupgrade.sim.machine import version_key
from fleetupgrade.sim.scenario import (
    Generate,
    Precheck,
    Scenario,
    SupervisorSpec,
    VCenterSpec,
    generated_vcenter_names,
)

_ERROR_CHECK = Precheck(
    severity="ERROR",
    id="storage.policy.compliance",
    text="Storage policy of the control plane VMs is not compliant",
)
_WARNING_CHECK = Precheck(
    severity="WARNING",
    id="tkc.compat",
    text="A TanzuKubernetesCluster runs a Kubernetes release the target does not support",
)


StartKind = Literal["ready", "current", "not_available", "in_progress", "error"]


def _draw_start(rng: random.Random, spec: Generate) -> StartKind:
    """One draw: current, else not available, else in progress, else ERROR, else ready."""
    draw = rng.random()
    choices: tuple[tuple[StartKind, float], ...] = (
        ("current", spec.current_rate),
        ("not_available", spec.not_available_rate),
        ("in_progress", spec.in_progress_rate),
        ("error", spec.error_state_rate),
    )
    for kind, rate in choices:
        if draw < rate:
            return kind
        draw -= rate
    return "ready"


def all_vcenters(scenario: Scenario) -> list[VCenterSpec]:
    """The listed vCenters followed by the generated ones, in serving order."""
    if scenario.generate is None:
        return list(scenario.vcenters)
    return [*scenario.vcenters, *generate_vcenters(scenario.generate, scenario.sim.seed)]


def generate_vcenters(spec: Generate, seed: int) -> list[VCenterSpec]:
    """Build the ``[generate]`` fleet deterministically from ``seed``."""
    rng = random.Random(f"{seed}:generate")  # noqa: S311 - simulation
    mix = random.Random(f"{seed}:generate:mix")  # noqa: S311 - simulation
    names = generated_vcenter_names(spec.vcenters)
    sv_width = max(2, len(str(spec.supervisors_per_vcenter)))
    vc_width = len(names[0]) - len("gen-vc-") if names else 4
    fleet = []
    for vc_number, vc_name in enumerate(names, start=1):
        supervisors = []
        for sv_number in range(1, spec.supervisors_per_vcenter + 1):
            severity_draw = rng.random()
            failure_draw = rng.random()
            fail_point = rng.randint(5, 95)
            start = _draw_start(mix, spec)
            prechecks: list[Precheck] = []
            if severity_draw < spec.precheck_error_rate:
                prechecks = [_ERROR_CHECK]
            elif severity_draw < spec.precheck_error_rate + spec.precheck_warning_rate:
                prechecks = [_WARNING_CHECK]
            supervisors.append(
                SupervisorSpec.model_construct(
                    id=f"supervisor-{sv_number}",
                    name=f"sv-{vc_number:0{vc_width}d}-{sv_number:0{sv_width}d}",
                    current_version=spec.to_version if start == "current" else spec.from_version,
                    available_versions=[]
                    if start in ("current", "not_available")
                    else [spec.to_version],
                    control_plane_nodes=3,
                    precheck_duration=spec.precheck_duration,
                    upgrade_duration=spec.upgrade_duration,
                    prechecks=prechecks,
                    fail_at_percent=fail_point if failure_draw < spec.failure_rate else 0,
                    unsupported=False,
                    start_state="ERROR" if start == "error" else "READY",
                    in_progress_to=spec.to_version if start == "in_progress" else None,
                )
            )
        fleet.append(VCenterSpec.model_construct(name=vc_name, supervisors=supervisors))
    return fleet


def start_kind(spec: SupervisorSpec, to_version: str) -> StartKind:
    """How a Supervisor starts, seen from an upgrade to ``to_version`` (``/stats`` lists it)."""
    if spec.in_progress_to is not None:
        return "in_progress"
    if spec.start_state == "ERROR":
        return "error"
    if version_key(spec.current_version) >= version_key(to_version):
        return "current"
    if to_version not in spec.available_versions:
        return "not_available"
    return "ready"


def expected_outcome(spec: SupervisorSpec, to_version: str | None = None) -> str:
    """What a first upgrade attempt ends as (warnings not ignored), in docs/design.md words.

    ``in_progress`` (someone else's upgrade runs) is the dry-run word; an ERROR state
    needs intervention, hence ``rejected``.
    """
    if to_version is not None:
        kind = start_kind(spec, to_version)
        if kind == "current":
            return "already_current"
        if kind == "in_progress":
            return "in_progress"
        if kind in ("error", "not_available"):
            return "rejected"
    severities = {check.severity for check in spec.prechecks}
    if spec.unsupported or not spec.available_versions:
        return "rejected"
    if "ERROR" in severities:
        return "precheck_error"
    if "WARNING" in severities:
        return "precheck_warning"
    return "failed" if spec.fail_at_percent else "upgraded"
