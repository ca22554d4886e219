"""Window-fit admission: never launch an upgrade predicted to end after the window.

docs/design.md, "Window-fit admission". The prediction is the median duration of this
run's finished upgrades on Supervisors with the same number of control-plane nodes, once
three have finished; before that the plan's expected duration; else none (launch).
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from fleetupgrade.durations import format_duration

__all__ = [
    "FIT_RULE",
    "LEARN_AFTER",
    "Admission",
    "WaveFit",
    "admit",
    "predict_seconds",
    "predict_wave",
]

LEARN_AFTER = 3

FIT_RULE = "window fit (predicted)"
"""The rule of the dry run's per-wave window prediction in the decision log."""


@dataclass(frozen=True, slots=True)
class Admission:
    """Whether to launch, and why not."""

    admitted: bool
    predicted_seconds: float | None
    reason: str | None = None


def predict_seconds(same_size: Sequence[float], expected: float | None) -> float | None:
    """Predicted duration in seconds: learned median, else the plan's, else None.

    ``same_size``: durations of this run's finished upgrades on Supervisors with the same
    number of control-plane nodes, in ascending order (the caller keeps them sorted, so a
    prediction per launch costs nothing on a 10,000-Supervisor run).
    """
    count = len(same_size)
    if count < LEARN_AFTER:
        return expected
    middle = count // 2
    if count % 2:
        return float(same_size[middle])
    return (same_size[middle - 1] + same_size[middle]) / 2


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


def _instant(value: datetime) -> str:
    return value.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%SZ")


@dataclass(frozen=True, slots=True)
class WaveFit:
    """The dry run's prediction for one wave: when it would end, and whether that fits."""

    upgrades: int
    rounds: int
    each_seconds: float | None  # None: nothing to predict with
    ends: datetime | None
    fits: bool | None

    def describe(self, window_end: datetime) -> str:
        """``3 upgrade(s) of ~20m in 2 round(s): ends ~… (window ends …): fits``."""
        end_text = _instant(window_end)
        if self.each_seconds is None or self.ends is None:
            return (
                f"{self.upgrades} upgrade(s), no prediction (no expected_upgrade_duration "
                f"in the plan); window ends {end_text}"
            )
        each = _span(self.each_seconds, up=True)
        ends = _instant(self.ends)
        verdict = "fits" if self.fits else "does not fit"
        return (
            f"{self.upgrades} upgrade(s) of ~{each} in {self.rounds} round(s): predicted to "
            f"end {ends}, window ends {end_text}: {verdict}"
        )


def predict_wave(
    *,
    begins: datetime,
    window_end: datetime,
    upgrades: Mapping[str, int],
    concurrency: Mapping[str, int],
    total_cap: int,
    each_seconds: float | None,
) -> WaveFit:
    """When a wave starting at ``begins`` would end, running ``upgrades`` per vCenter.

    Each vCenter runs ``concurrency[name]`` jobs at a time (and the fleet ``total_cap``
    when > 0), every job taking ``each_seconds``: the wave lasts as many rounds as its
    busiest limit needs.
    """
    count = sum(upgrades.values())
    rounds = max((math.ceil(n / max(1, concurrency[v])) for v, n in upgrades.items()), default=0)
    if total_cap > 0:
        rounds = max(rounds, math.ceil(count / total_cap))
    if each_seconds is None:
        return WaveFit(count, rounds, None, None, None)
    ends = begins + timedelta(seconds=rounds * each_seconds)
    return WaveFit(count, rounds, each_seconds, ends, ends <= window_end)
