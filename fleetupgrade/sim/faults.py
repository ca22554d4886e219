"""Fault injection per vCenter: the scenario's ``faults``, changeable while running.

Each vCenter draws its faults from its own ``random.Random`` seeded from the scenario seed
and its name, so a given seed and request sequence always meet the same faults; a rate of
0 never draws, so turning one fault on does not shift the others' draws. Changes arrive
through ``POST {admin_url}/faults`` (or ``RunningSimulator.set_faults``) and are validated
by :class:`FaultChanges` before any is applied.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, fields
from datetime import timedelta
from typing import Any, Literal

from pydantic import ValidationError

from fleetupgrade.durations import format_duration
from fleetupgrade.sim.scenario import Faults, format_location
from fleetupgrade.sim.sessions import Lifetime

RateName = Literal["http_503_rate", "reset_rate", "lost_response_rate", "malformed_rate"]


@dataclass(slots=True)
class FaultState:
    """The live faults of one vCenter (starts from the scenario, mutated by changes)."""

    latency: timedelta | None
    http_503_rate: float
    reset_rate: float
    lost_response_rate: float
    malformed_rate: float
    session_ttl: timedelta | None
    session_idle_timeout: timedelta | None
    max_sessions: int | None
    down: bool
    omit_upgrade_prechecks: bool
    clock_skew: timedelta

    @classmethod
    def from_spec(cls, spec: Faults) -> FaultState:
        """The faults a scenario configures."""
        return cls(**{f.name: getattr(spec, f.name) for f in fields(cls)})

    def lifetime(self) -> Lifetime:
        """Session lifetimes in simulated seconds."""
        return Lifetime(
            ttl=self.session_ttl.total_seconds() if self.session_ttl is not None else None,
            idle=(
                self.session_idle_timeout.total_seconds()
                if self.session_idle_timeout is not None
                else None
            ),
        )

    def to_json(self) -> dict[str, Any]:
        """The faults as the admin API shows them (durations as ``90s`` strings)."""
        out: dict[str, Any] = {}
        for f in fields(self):
            value = getattr(self, f.name)
            out[f.name] = _duration_text(value) if isinstance(value, timedelta) else value
        return out

    def skew_seconds(self) -> float:
        """How far this vCenter's clock is from the simulated time (seconds, signed)."""
        return self.clock_skew.total_seconds()


def _duration_text(value: timedelta) -> str:
    """``90s``, and ``-2m`` for a negative offset."""
    if value < timedelta(0):
        return "-" + format_duration(-value)
    return format_duration(value)


class FaultChanges(Faults):
    """The changes for one vCenter in a faults request; ``null`` clears an optional fault.

    The same keys and rules as a scenario's ``faults``; only the keys given are applied.
    """

    def apply(self, state: FaultState) -> bool:
        """Apply only the keys that were given; returns whether ``down`` changed."""
        before = state.down
        for name in self.model_fields_set:
            setattr(state, name, getattr(self, name))
        return state.down != before


class FaultDice:
    """The seeded random draws of one vCenter."""

    def __init__(self, seed: int, vcenter: str) -> None:
        self._rng = random.Random(f"{seed}:faults:{vcenter}")  # noqa: S311 - simulation

    def hit(self, state: FaultState, rate: RateName) -> bool:
        """Whether this request meets the fault (never draws at rate 0)."""
        value: float = getattr(state, rate)
        if value <= 0.0:
            return False
        return self._rng.random() < value


class FaultRequestError(ValueError):
    """A faults change request that cannot be applied (the message says why)."""


def parse_fault_request(data: Any, names: list[str]) -> list[tuple[str, FaultChanges]]:
    """Validate ``{"<vCenter>" | "*": {<fault>: value}}``; ``*`` first, then named ones.

    Nothing is applied unless every entry is valid.
    """
    if not isinstance(data, dict) or not data:
        raise FaultRequestError(
            "the body must be a non-empty JSON object: "
            '{"<vCenter name>" or "*": {"<fault>": value}}'
        )
    known = set(names)
    parsed: list[tuple[str, FaultChanges]] = []
    problems: list[str] = []
    for key, value in data.items():
        if key != "*" and key not in known:
            problems.append(f"{key}: unknown vCenter")
            continue
        if not isinstance(value, dict):
            problems.append(f"{key}: expected an object of faults")
            continue
        try:
            parsed.append((key, FaultChanges.model_validate(value)))
        except ValidationError as exc:
            for error in exc.errors(include_url=False):
                where = format_location(error["loc"])
                message = "unknown fault" if error["type"] == "extra_forbidden" else error["msg"]
                problems.append(f"{key}.{where}: {message}")
    if problems:
        raise FaultRequestError("; ".join(problems))
    ordered = sorted(parsed, key=lambda item: item[0] != "*")
    expanded: list[tuple[str, FaultChanges]] = []
    for key, changes in ordered:
        expanded.extend((name, changes) for name in (names if key == "*" else [key]))
    return expanded
