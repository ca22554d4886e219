"""The simulated clock: real monotonic time scaled by the scenario's ``speed``.

Every scenario duration (prechecks, upgrades, session lifetimes) is simulated time, so a
20-minute upgrade takes 2 real seconds at ``speed = 600``. The clock is anchored at the
wall-clock instant the simulator started, so timestamps on the wire look like real UTC
date-times, and it never goes backwards (monotonic source).
"""

from __future__ import annotations

import email.utils
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

from fleetupgrade.timefmt import format_instant


class SimClock:
    """Simulated seconds since start = real monotonic elapsed x ``speed`` (+ manual skips).

    State is computed lazily from this clock whenever it is read, so no task runs in the
    background per Supervisor; :meth:`advance` lets tests skip simulated time instantly.
    """

    __slots__ = ("_monotonic", "_offset", "_start_mono", "speed", "start_wall")

    def __init__(
        self,
        speed: float,
        *,
        start_wall: datetime | None = None,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        if speed <= 0:
            raise ValueError("speed must be positive")
        self.speed = speed
        self.start_wall = (start_wall or datetime.now(UTC)).astimezone(UTC)
        self._monotonic = monotonic
        self._start_mono = monotonic()
        self._offset = 0.0

    def now(self) -> float:
        """Simulated seconds elapsed since the simulator started."""
        return (self._monotonic() - self._start_mono) * self.speed + self._offset

    def advance(self, seconds: float) -> None:
        """Jump the simulated clock forward (tests: skip a long phase without waiting)."""
        if seconds < 0:
            raise ValueError("the simulated clock never goes backwards")
        self._offset += seconds

    def real_seconds(self, simulated: float) -> float:
        """How many real seconds pass while ``simulated`` seconds pass on this clock."""
        return simulated / self.speed

    def wall(self, simulated: float) -> datetime:
        """The UTC date-time of a simulated instant."""
        return self.start_wall + timedelta(seconds=simulated)

    def iso(self, simulated: float) -> str:
        """A simulated instant in the wire format ``2026-11-26T22:00:00.000Z``."""
        return format_datetime(self.wall(simulated))


class VCenterClock:
    """The clock one vCenter *reports*: the fleet's simulated time plus its ``clock_skew``.

    The state machine runs on the true simulated time (:meth:`now`); only what the vCenter
    tells its clients (task times, ``last_upgraded_date``, condition transition times,
    session times, the HTTP ``Date`` header) is shifted, read live from its faults, so a
    client can be tested against a vCenter whose clock is off.
    """

    __slots__ = ("_clock", "_skew")

    def __init__(self, clock: SimClock, skew: Callable[[], float]) -> None:
        self._clock = clock
        self._skew = skew

    def now(self) -> float:
        """True simulated seconds since start (unskewed: phases follow it)."""
        return self._clock.now()

    def wall(self, simulated: float) -> datetime:
        """The date-time this vCenter reports for a simulated instant."""
        return self._clock.wall(simulated + self._skew())

    def iso(self, simulated: float) -> str:
        """A simulated instant as this vCenter reports it, in the wire format."""
        return format_datetime(self.wall(simulated))

    def http_date(self) -> str:
        """The HTTP ``Date`` header value for an answer sent now (RFC 9110 IMF-fixdate)."""
        return email.utils.format_datetime(self.wall(self.now()), usegmt=True)


def format_datetime(value: datetime) -> str:
    """UTC, milliseconds, upper-case ``T`` and ``Z``: the one date-time form we emit."""
    return format_instant(value)
