"""A wave gate's halt rule in exact arithmetic, and the sentences that explain it.

Both gates of a wave use it (docs/plan.md, "Gates"): the precheck gate counts the
Supervisors whose prechecks reported ERROR, the failure gate those that ended failed,
timed out, unhealthy, rejected or unreachable. A count limit halts when the count exceeds
it; a percentage halts when ``count * 100 > percent * size``, with the percentage kept as
the exact fraction the operator wrote (``24.9`` is 249/10, never a binary float), so
``validate``, the dry run and the run always agree on the Supervisor that tips a wave.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from fractions import Fraction
from typing import Literal

__all__ = ["Threshold", "ordinal"]

_KEYS = {
    ("precheck", "count"): "max_precheck_errors",
    ("precheck", "percent"): "max_precheck_error_percent",
    ("failure", "count"): "max_failures",
    ("failure", "percent"): "max_failure_percent",
}


def ordinal(n: int) -> str:
    """``1`` → ``1st``, ``12`` → ``12th``, ``22`` → ``22nd``."""
    suffix = "th" if 10 <= n % 100 <= 20 else {1: "st", 2: "nd", 3: "rd"}.get(n % 10, "th")
    return f"{n}{suffix}"


def _decimal(value: int | Fraction) -> str:
    """A limit as the operator wrote it (``12.5``, not ``25/2`` nor a rounded float)."""
    value = Fraction(value)
    rest, twos, fives = value.denominator, 0, 0
    while rest % 2 == 0:
        rest, twos = rest // 2, twos + 1
    while rest % 5 == 0:
        rest, fives = rest // 5, fives + 1
    if rest != 1:  # not a terminating decimal (never from TOML text): say it exactly
        return str(value)
    places = max(twos, fives)
    digits = str(abs(value.numerator) * 10**places // value.denominator).rjust(places + 1, "0")
    whole, fraction = digits[: len(digits) - places], digits[len(digits) - places :]
    sign = "-" if value < 0 else ""
    return f"{sign}{whole}.{fraction}" if fraction else f"{sign}{whole}"


@dataclass(frozen=True, slots=True)
class Threshold:
    """A wave gate's halt rule: halt as soon as the counted Supervisors exceed it.

    ``gate`` says which gate it is, hence which plan key it came from (:attr:`key`) and
    what it counts (precheck ERRORs or failures).
    """

    kind: Literal["count", "percent"]
    limit: int | Fraction
    gate: Literal["precheck", "failure"] = "precheck"

    @property
    def key(self) -> str:
        """The plan key this rule comes from (``max_failures``, ``max_precheck_error_percent``…)."""
        return _KEYS[(self.gate, self.kind)]

    @property
    def noun(self) -> str:
        """What the gate counts, as the sentences say it."""
        return "ERROR" if self.gate == "precheck" else "failure"

    def halts(self, count: int, size: int) -> bool:
        """Whether ``count`` counted Supervisors in a wave of ``size`` halt it."""
        if self.kind == "count":
            return count > self.limit
        return count * 100 > self.limit * size

    def halting_count(self, size: int) -> int | None:
        """The smallest count that halts the wave (None: it never halts)."""
        if self.kind == "count":
            first = int(self.limit) + 1
        else:  # smallest E with E*100 > limit*size
            first = math.floor(Fraction(self.limit) * size / 100) + 1
        return first if 1 <= first <= size else None

    def halting_error_count(self, size: int) -> int | None:
        """:meth:`halting_count` under the precheck gate's historical name."""
        return self.halting_count(size)

    @property
    def rule(self) -> str:
        """The rule as the decision log records it (``max_failures: failures > 0``)."""
        counted = "errors" if self.gate == "precheck" else "failures"
        if self.kind == "count":
            return f"{self.key}: {counted} > {self.limit}"
        return f"{self.key}: {counted}*100 > {_decimal(self.limit)}*size"

    def halts_at(self, size: int) -> str:
        """``halts at the 2nd ERROR of 18`` (or ``never halts (18 Supervisors)``)."""
        at = self.halting_count(size)
        if at is None:
            return f"never halts ({size} Supervisor(s))"
        return f"halts at the {ordinal(at)} {self.noun} of {size}"

    def describe(self, size: int) -> str:
        """``10% of 18 → halts at the 2nd ERROR`` — the arithmetic an operator checks.

        The failure gate also names the wave size: ``max 0 failure(s) → halts at the 1st
        failure of 4``.
        """
        head = (
            f"max {self.limit} {self.noun}(s)"
            if self.kind == "count"
            else f"{_decimal(self.limit)}% of {size}"
        )
        at = self.halting_count(size)
        if at is None:
            return f"{head} → never halts"
        tail = f" of {size}" if self.gate == "failure" else ""
        return f"{head} → halts at the {ordinal(at)} {self.noun}{tail}"
