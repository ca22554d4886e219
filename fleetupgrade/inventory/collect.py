"""Read a fleet live: every Supervisor of every vCenter of a plan, concurrently, read-only.

One client per vCenter, at most :data:`CONCURRENT_VCENTERS` vCenters at once (a fleet of
hundreds must not open hundreds of TLS sessions at the same instant). Two reads per
vCenter: the Summary list (names, config and Kubernetes status) and the Upgrades list of
those ids (versions, state). A vCenter that cannot be read becomes a
:class:`~fleetupgrade.inventory.model.VCenterFailure` with its reason; the others are
still listed.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import anyio

from fleetupgrade.errors import Issue, PlanError, VCenterError
from fleetupgrade.inventory.model import (
    DefaultValue,
    Inventory,
    SupervisorRow,
    VCenterFailure,
)
from fleetupgrade.plan import Plan
from fleetupgrade.timefmt import format_instant, utcnow
from fleetupgrade.vcenter import (
    RetryPolicy,
    SupervisorSummary,
    UpgradeSummary,
    VCenterClient,
    VCenterEndpoint,
)

__all__ = [
    "CONCURRENT_VCENTERS",
    "collect_rows",
    "explicit_defaults",
    "inventory_from_plan",
    "select_vcenters",
]

CONCURRENT_VCENTERS = 16


def select_vcenters(plan: Plan, names: Sequence[str]) -> Plan:
    """The plan restricted to the named vCenters (all when none); unknown names → PlanError."""
    if not names:
        return plan
    known = {v.name for v in plan.vcenters}
    unknown = [name for name in dict.fromkeys(names) if name not in known]
    if unknown:
        raise PlanError(
            str(plan.path),
            [
                Issue(
                    "--vcenter",
                    f"the plan has no vCenter {name!r} (it has: {', '.join(sorted(known))})",
                )
                for name in unknown
            ],
        )
    wanted = set(names)
    return plan.model_copy(update={"vcenters": tuple(v for v in plan.vcenters if v.name in wanted)})


def explicit_defaults(plan: Plan) -> tuple[tuple[str, DefaultValue], ...]:
    """The ``[defaults]`` keys the plan sets itself, in plan syntax, but the target version."""
    defaults = plan.defaults
    keys = sorted(defaults.model_fields_set - {"desired_version"})
    dumped: dict[str, Any] = defaults.model_dump(mode="json", include=set(keys))
    return tuple(
        (key, dumped[key]) for key in keys if isinstance(dumped.get(key), bool | int | float | str)
    )


def _rows(
    vcenter: str, summaries: Sequence[SupervisorSummary], upgrades: Sequence[UpgradeSummary]
) -> list[SupervisorRow]:
    by_id = {u.supervisor: u for u in upgrades}
    rows = []
    for summary in summaries:
        upgrade = by_id.get(summary.id)
        rows.append(
            SupervisorRow(
                vcenter=vcenter,
                id=summary.id,
                name=summary.name,
                current_version=None if upgrade is None else upgrade.current_version,
                available_versions=() if upgrade is None else tuple(upgrade.available_versions),
                state=None if upgrade is None else str(upgrade.state),
                desired_version=None if upgrade is None else upgrade.desired_version,
                config_status=str(summary.config_status),
                kubernetes_status=str(summary.kubernetes_status),
                last_upgraded_date=(
                    None
                    if upgrade is None or upgrade.last_upgraded_date is None
                    else format_instant(upgrade.last_upgraded_date)
                ),
            )
        )
    return rows


async def _read_one(
    endpoint: VCenterEndpoint, retry: RetryPolicy | None
) -> list[SupervisorRow] | VCenterFailure:
    try:
        async with VCenterClient(endpoint, retry=retry) as client:
            summaries = await client.list_supervisors()
            upgrades = await client.list_upgrades([s.id for s in summaries]) if summaries else []
    except VCenterError as exc:
        return VCenterFailure(endpoint.name, str(exc))
    return _rows(endpoint.name, summaries, upgrades)


async def collect_rows(
    endpoints: Mapping[str, VCenterEndpoint],
    *,
    limit: int = CONCURRENT_VCENTERS,
    retry: RetryPolicy | None = None,
) -> tuple[list[SupervisorRow], list[VCenterFailure]]:
    """Read every endpoint, ``limit`` at a time; rows sorted by vCenter then id."""
    limiter = anyio.CapacityLimiter(limit)
    results: dict[str, list[SupervisorRow] | VCenterFailure] = {}

    async def read(name: str, endpoint: VCenterEndpoint) -> None:
        async with limiter:
            results[name] = await _read_one(endpoint, retry)

    async with anyio.create_task_group() as tg:
        for name, endpoint in endpoints.items():
            tg.start_soon(read, name, endpoint)
    rows: list[SupervisorRow] = []
    failures: list[VCenterFailure] = []
    for name in sorted(results):
        result = results[name]
        if isinstance(result, VCenterFailure):
            failures.append(result)
        else:
            rows.extend(result)
    rows.sort(key=lambda row: (row.vcenter, row.id))
    return rows, failures


def inventory_from_plan(
    plan: Plan,
    endpoints: Mapping[str, VCenterEndpoint],
    *,
    target: str | None = None,
    retry: RetryPolicy | None = None,
) -> Inventory:
    """Read the plan's fleet now, through ``endpoints`` (one per vCenter of ``plan``).

    ``target`` defaults to the plan's ``defaults.desired_version``.
    """
    rows, failures = anyio.run(lambda: collect_rows(endpoints, retry=retry))
    return Inventory(
        fleet=plan.name,
        vcenters=plan.vcenters,
        supervisors=tuple(rows),
        errors=tuple(failures),
        defaults=explicit_defaults(plan),
        target=target if target is not None else plan.defaults.desired_version,
        generated_at=format_instant(utcnow()),
    )
