"""Feed the live progress display from the journal, the same truth ``status`` reads."""

from __future__ import annotations

from collections import Counter

from fleetupgrade.cli.live import ProgressSnapshot, SupervisorProgress, WaveProgress
from fleetupgrade.journal.store import Journal, Phase


def progress_snapshot(journal: Journal) -> ProgressSnapshot:
    """Per wave done/in-flight/pending, per vCenter in flight, each in-flight job's %."""
    rows = journal.supervisors()
    in_flight = [r for r in rows if r.outcome is None and r.phase in (Phase.INTENT, Phase.LAUNCHED)]
    flying_keys = {r.key for r in in_flight}
    waves = []
    for wave in journal.waves():
        mine = [r for r in rows if r.wave == wave.name]
        done = sum(r.outcome is not None for r in mine)
        flying = sum(r.key in flying_keys for r in mine)
        status = wave.status.value if wave.status else ("running" if wave.started_at else "pending")
        waves.append(WaveProgress(wave.name, done, flying, len(mine) - done - flying, status))
    per_vcenter = Counter(r.vcenter for r in in_flight)
    return ProgressSnapshot(
        waves=tuple(waves),
        vcenters=tuple(sorted(per_vcenter.items())),
        in_flight=tuple(SupervisorProgress(r.label, r.progress, r.phase.value) for r in in_flight),
    )
