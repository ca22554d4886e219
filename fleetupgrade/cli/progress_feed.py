"""Feed the live progress display from the journal, the same view ``status`` and reports read.

Besides the waves and the jobs in flight, the display says how long the run has been
going, how long the maintenance window has left, and what the run is waiting for (the
window, a ``pause_after``, an approval, a pause) with a countdown where there is one.
"""

from __future__ import annotations

from collections import Counter
from datetime import datetime, timedelta
from typing import Any

from fleetupgrade.cli.live import ProgressSnapshot, SupervisorProgress, WaveProgress
from fleetupgrade.durations import format_duration
from fleetupgrade.journal.records import SupervisorRecord
from fleetupgrade.journal.store import Journal
from fleetupgrade.journal.views import RunView, load_view
from fleetupgrade.timefmt import utcnow

__all__ = ["clock_line", "progress_snapshot"]


def _span(seconds: float) -> str:
    return format_duration(timedelta(seconds=max(0, round(seconds))))


def _waiting(waiting: dict[str, Any], now: datetime) -> str:
    kind = waiting.get("kind")
    what = {
        "window": "waiting for the window",
        "pause_after": f"soaking after wave {waiting.get('wave')}",
        "approval": f"waiting for approval of wave {waiting.get('wave')}",
        "pause": f"paused by {waiting.get('by')}",
    }.get(str(kind), f"waiting ({kind})")
    until = waiting.get("until")
    if until:
        left = (datetime.fromisoformat(str(until).replace("Z", "+00:00")) - now).total_seconds()
        what += f": {_span(left)} left"
    return what


def clock_line(view: RunView, *, window_end: datetime | None, now: datetime) -> str:
    """Elapsed time, the window's remaining time, and what the run waits for."""
    parts = []
    started = view.meta.get("started_at")
    if started:
        parts.append(f"elapsed {_span((now - datetime.fromisoformat(started)).total_seconds())}")
    if window_end is not None:
        left = (window_end - now).total_seconds()
        parts.append(f"window closes in {_span(left)}" if left > 0 else "window closed")
    waiting = view.meta.get("waiting")
    if isinstance(waiting, dict):
        parts.append(_waiting(waiting, now))
    return " · ".join(parts)


def progress_snapshot(
    journal: Journal, *, window_end: datetime | None = None, now: datetime | None = None
) -> ProgressSnapshot:
    """Per wave done/in-flight/pending, per vCenter in flight, each job's %, the clock line."""
    view = load_view(journal)
    waves = []
    flying: list[SupervisorRecord] = []
    for wave in view.waves:
        in_flight = wave.in_flight
        flying.extend(in_flight)
        done = len(wave.done)
        waves.append(
            WaveProgress(
                wave.record.name,
                done,
                len(in_flight),
                len(wave.supervisors) - done - len(in_flight),
                wave.status_word,
            )
        )
    per_vcenter = Counter(r.vcenter for r in flying)
    return ProgressSnapshot(
        waves=tuple(waves),
        vcenters=tuple(sorted(per_vcenter.items())),
        in_flight=tuple(SupervisorProgress(r.label, r.progress, r.phase.value) for r in flying),
        clock=clock_line(view, window_end=window_end, now=now or utcnow()),
    )
