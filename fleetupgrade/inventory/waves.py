"""Wave layout for ``plan new``: a canary across vCenters, then balanced waves.

Pure functions, no I/O: given the upgradeable Supervisors, decide which goes in which wave.
The rules an operator reviewing the plan relies on:

* the canary takes one Supervisor from each vCenter in turn (vCenters sorted by name,
  Supervisors by id), so a bad release shows on as many vCenters as possible at once;
* later waves are filled round-robin by vCenter, the vCenters with the most Supervisors
  still to place first, so every wave spreads its risk and no vCenter is left for the end;
* no wave holds more than its size, nor more than ``max_per_vcenter`` of one vCenter;
* every Supervisor lands in exactly one wave; the same input always gives the same layout.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from fractions import Fraction

__all__ = [
    "MAX_DEFAULT_CANARY",
    "Layout",
    "Member",
    "WaveSize",
    "build_layout",
    "default_canary_size",
]

MAX_DEFAULT_CANARY = 5
_SIZE = re.compile(r"^\s*(?P<number>\d+(\.\d+)?)\s*(?P<percent>%)?\s*$")


@dataclass(frozen=True, slots=True, order=True)
class Member:
    """One upgradeable Supervisor as a wave holds it (ordered by vCenter, then id)."""

    vcenter: str
    id: str
    name: str = ""


@dataclass(frozen=True, slots=True)
class WaveSize:
    """``--wave-size``: a number of Supervisors, or a percentage of those after the canary."""

    count: int | None = None
    percent: Fraction | None = None

    @classmethod
    def parse(cls, text: str) -> WaveSize:
        """``"10"`` or ``"25%"``; ValueError says what is accepted."""
        match = _SIZE.match(text)
        if match is None:
            raise ValueError(
                f"wave size must be a number like 10 or a percentage like 25%, not {text!r}"
            )
        number = Fraction(match["number"])
        if match["percent"]:
            if not 0 < number <= 100:
                raise ValueError(
                    f"wave size percentage must be above 0 and at most 100, not {text!r}"
                )
            return cls(percent=number)
        if number.denominator != 1 or number < 1:
            raise ValueError(f"wave size must be a whole number of at least 1, not {text!r}")
        return cls(count=int(number))

    def resolve(self, remaining: int) -> int:
        """The number of Supervisors per wave for ``remaining`` to place (at least 1)."""
        if self.percent is not None:
            return max(1, math.ceil(self.percent * remaining / 100))
        assert self.count is not None
        return self.count

    def __str__(self) -> str:
        """As the operator wrote it."""
        if self.percent is not None:
            text = str(self.percent) if self.percent.denominator == 1 else str(float(self.percent))
            return f"{text}%"
        return str(self.count)


@dataclass(frozen=True, slots=True)
class Layout:
    """The canary (maybe empty) and the waves after it, each a tuple of members."""

    canary: tuple[Member, ...]
    waves: tuple[tuple[Member, ...], ...]
    wave_size: int

    @property
    def all_waves(self) -> tuple[tuple[Member, ...], ...]:
        """Canary first (when there is one), then the waves."""
        return ((self.canary,) if self.canary else ()) + self.waves


def default_canary_size(members: Iterable[Member]) -> int:
    """One Supervisor per vCenter, at most :data:`MAX_DEFAULT_CANARY`."""
    return min(MAX_DEFAULT_CANARY, len({m.vcenter for m in members}))


def _queues(members: Iterable[Member]) -> dict[str, list[Member]]:
    queues: dict[str, list[Member]] = {}
    for member in sorted(set(members)):
        queues.setdefault(member.vcenter, []).append(member)
    return queues


def _fill(
    queues: dict[str, list[Member]], size: int, cap: int | None, order: Sequence[str]
) -> tuple[Member, ...]:
    """Take up to ``size`` members round-robin over ``order``, at most ``cap`` per vCenter."""
    wave: list[Member] = []
    taken = dict.fromkeys(order, 0)
    while len(wave) < size:
        progressed = False
        for vcenter in order:
            if len(wave) >= size:
                break
            queue = queues[vcenter]
            if not queue or (cap is not None and taken[vcenter] >= cap):
                continue
            wave.append(queue.pop(0))
            taken[vcenter] += 1
            progressed = True
        if not progressed:
            break
    return tuple(sorted(wave))


def build_layout(
    members: Iterable[Member],
    *,
    canary: int,
    wave_size: WaveSize,
    max_per_vcenter: int | None = None,
) -> Layout:
    """Place every member in exactly one wave (see the module docstring for the rules)."""
    if canary < 0:
        raise ValueError("canary size must not be negative")
    if max_per_vcenter is not None and max_per_vcenter < 1:
        raise ValueError("max per vCenter per wave must be at least 1")
    queues = _queues(members)
    first = _fill(queues, canary, max_per_vcenter, sorted(queues)) if canary else ()
    remaining = sum(len(queue) for queue in queues.values())
    size = wave_size.resolve(remaining)
    waves = []
    while any(queues.values()):
        order = sorted(queues, key=lambda name: (-len(queues[name]), name))
        waves.append(_fill(queues, size, max_per_vcenter, order))
    return Layout(canary=first, waves=tuple(waves), wave_size=size)
