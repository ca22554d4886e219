"""Read one Supervisor's upgrade state: the step a run and a dry run share.

Resolving the plan's reference (id or name), reading Upgrades.get and deciding from it
whether a job may be created is the same question whether we then fire or only report,
so both ask it here.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

from fleetupgrade.decide.classify import Verdict, before_launch
from fleetupgrade.errors import APIError
from fleetupgrade.journal.store import SupervisorRecord
from fleetupgrade.outcomes import Outcome
from fleetupgrade.rollout.fleet import VCenterHandle


@dataclass(frozen=True, slots=True)
class Inspection:
    """A resolved Supervisor (``record`` now has id, name, from_version) and the verdict."""

    record: SupervisorRecord
    verdict: Verdict


async def _resolve(handle: VCenterHandle, record: SupervisorRecord) -> str | Verdict:
    if record.ref_id is not None:
        return record.ref_id
    assert record.ref_name is not None
    ids = await handle.resolve_name(record.ref_name)
    if not ids:
        return Verdict(
            Outcome.REJECTED, f"no Supervisor named {record.ref_name!r} on {record.vcenter}"
        )
    if len(ids) > 1:
        return Verdict(
            Outcome.REJECTED,
            f"name {record.ref_name!r} is ambiguous on {record.vcenter}: {', '.join(ids)}",
        )
    return ids[0]


async def inspect_supervisor(handle: VCenterHandle, record: SupervisorRecord) -> Inspection:
    """Resolve and read a Supervisor; the verdict says finish, adopt, or launch."""
    resolved = await _resolve(handle, record)
    if isinstance(resolved, Verdict):
        return Inspection(record, resolved)
    try:
        info = await handle.client.get_upgrade(resolved)
    except APIError as exc:
        if exc.error_type == "NOT_FOUND":
            why = f"Supervisor {resolved} not found on {record.vcenter}"
            return Inspection(record, Verdict(Outcome.REJECTED, why))
        raise
    name = record.ref_name or await handle.name_of(resolved)
    found = replace(record, id=resolved, name=name, from_version=info.current_version)
    return Inspection(found, before_launch(info, record.to_version))
