"""Window-fit admission: never launch an upgrade predicted to end after the window.

docs/design.md, "Window-fit admission". The prediction is the median duration of this
run's finished upgrades on Supervisors with the same number of control-plane nodes, once
three have finished; before that the plan's expected duration; else none (launch).
"""

from __future__ import annotations

import statistics
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import timedelta

from fleetupgrade.durations import format_duration

__all__ = ["LEARN_AFTER", "Admission", "admit", "predict_seconds"]

LEARN_AFTER = 3


@dataclass(frozen=True, slots=True)
class Admission:
    """Whether to launch, and why not."""

    admitted: bool
    predicted_seconds: float | None
    reason: str | None = None


def predict_seconds(
    finished: Sequence[tuple[int | None, float]], nodes: int | None, expected: float | None
) -> float | None:
    """Predicted duration in seconds: learned median, else the plan's, else None."""
    same = [seconds for n, seconds in finished if n == nodes]
    if len(same) >= LEARN_AFTER:
        return float(statistics.median(same))
    return expected


def _span(seconds: float) -> str:
    return format_duration(timedelta(seconds=round(max(0.0, seconds))))


def admit(*, left_seconds: float, predicted: float | None) -> Admission:
    """Admit when nothing is predicted or the prediction fits in what is left."""
    if predicted is None or predicted <= left_seconds:
        return Admission(True, predicted)
    return Admission(
        False,
        predicted,
        f"predicted {_span(predicted)}, {_span(left_seconds)} left in the window",
    )
