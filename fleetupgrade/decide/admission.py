"""Window-fit admission: never launch an upgrade predicted to end after the window.

docs/design.md, "Window-fit admission". The prediction is the median duration of this
run's finished upgrades on Supervisors with the same number of control-plane nodes, once
three have finished; before that the plan's expected duration; else none (launch).
"""

from __future__ import annotations

import math
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


COARSE_AFTER = 600.0
"""From ten minutes on, the reason speaks in whole minutes ("predicted 48m, 31m left")."""


def _span(seconds: float, *, up: bool) -> str:
    """A duration for the reason: the prediction rounded up, the time left rounded down.

    Rounding apart keeps every refusal's numbers visibly in order (never "predicted 31m,
    31m left"), and an operator reads minutes, not seconds, of a window.
    """
    unit = 60 if seconds >= COARSE_AFTER else 1
    steps = (math.ceil if up else math.floor)(max(0.0, seconds) / unit)
    return format_duration(timedelta(seconds=steps * unit))


def admit(*, left_seconds: float, predicted: float | None) -> Admission:
    """Admit when nothing is predicted or the prediction fits in what is left."""
    if predicted is None or predicted <= left_seconds:
        return Admission(True, predicted)
    when, left = _span(predicted, up=True), _span(left_seconds, up=False)
    return Admission(False, predicted, f"predicted {when}, {left} left in the window")
