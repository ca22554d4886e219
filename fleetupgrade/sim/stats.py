"""The admin API's ``/stats`` document: what happened, for tests and benchmarks to assert.

The fields are listed in docs/simulator.md (Admin API): ``requests``, ``creates``,
``sessions`` and ``supervisors`` (state, version and health of each), plus
``vcenter_requests``, ``jobs``, ``peak_in_progress`` (a sweep over the intervals of the
jobs created through the API), ``generated`` and ``now``. Reading the stats settles every
Supervisor at the current simulated time, like any other read; times are the simulator's
own (never skewed by a vCenter's ``clock_skew``).
"""

from __future__ import annotations

from collections import Counter
from typing import Any

from fleetupgrade.sim.fleet import Fleet
from fleetupgrade.sim.generate import expected_outcome, start_kind
from fleetupgrade.sim.health import statuses

Interval = tuple[float, float | None]


def peak_concurrency(intervals: list[Interval]) -> int:
    """Most intervals open at once; ``[start, end)``, an end of ``None`` never closes."""
    events: list[tuple[float, int]] = []
    for start, end in intervals:
        events.append((start, 1))
        if end is not None:
            events.append((end, -1))
    events.sort(key=lambda e: (e[0], e[1]))  # an end at t frees its slot before a start at t
    peak = current = 0
    for _, delta in events:
        current += delta
        peak = max(peak, current)
    return peak


def collect_stats(fleet: Fleet) -> dict[str, Any]:
    """The JSON document of ``GET {admin_url}/stats``."""
    clock = fleet.clock
    now = clock.now()
    requests: Counter[str] = Counter()
    supervisors: dict[str, dict[str, str]] = {}
    creates: dict[str, int] = {}
    sessions = 0
    jobs: list[tuple[float, dict[str, Any]]] = []
    intervals: dict[str, list[Interval]] = {}
    for vc in fleet.vcenters.values():
        requests.update(vc.requests)
        sessions += vc.sessions.purge(vc.faults.lifetime())
        for sup in vc.supervisors.values():
            state = sup.state(now)
            config_status, kubernetes_status = statuses(sup, now)
            supervisors[f"{vc.name}/{sup.id}"] = {
                "state": state,
                "current_version": sup.current_version,
                "config_status": config_status,
                "kubernetes_status": kubernetes_status,
            }
        for sup_id, count in vc.creates.items():
            creates[f"{vc.name}/{sup_id}"] = count
        own = intervals.setdefault(vc.name, [])
        for job in vc.tasks.values():
            ended = job.end_time if now >= job.end_time else None
            if not job.preexisting:
                own.append((job.created_at, ended))
            jobs.append(
                (
                    job.created_at,
                    {
                        "vcenter": vc.name,
                        "supervisor": job.supervisor,
                        "task": job.task_id,
                        "desired_version": job.target_version,
                        "created_at": clock.iso(job.created_at),
                        "ended_at": clock.iso(ended) if ended is not None else None,
                        "result": job.outcome if ended is not None else None,
                        "user": job.user,
                        "preexisting": job.preexisting,
                    },
                )
            )
    peaks = {name: peak_concurrency(ivs) for name, ivs in intervals.items()}
    peaks["*"] = peak_concurrency([iv for ivs in intervals.values() for iv in ivs])
    generate = fleet.scenario.generate
    to_version = generate.to_version if generate is not None else ""
    return {
        "requests": dict(sorted(requests.items())),
        "creates": creates,
        "sessions": sessions,
        "supervisors": supervisors,
        "vcenter_requests": {
            vc.name: dict(sorted(vc.requests.items())) for vc in fleet.vcenters.values()
        },
        "jobs": [entry for _, entry in sorted(jobs, key=lambda j: j[0])],
        "peak_in_progress": peaks,
        "generated": {
            name: [
                {
                    "id": s.id,
                    "name": s.spec.name,
                    "start": start_kind(s.spec, to_version),
                    "outcome": expected_outcome(s.spec, to_version),
                }
                for s in fleet.vcenters[name].supervisors.values()
            ]
            for name in fleet.generated
        },
        "now": clock.iso(now),
    }
