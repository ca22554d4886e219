"""The call a run makes for each event it tells people about besides its log (``emit``).

Why here: the engine (``fleetupgrade.rollout``) emits run events and the notifier
(``fleetupgrade.notify``) delivers them; neither package imports the other, so the one
definition of the call, and of what an event carries, lives in the shared core.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Protocol, Required, TypedDict, Unpack

__all__ = ["Emit", "EventFields"]


class EventFields(TypedDict, total=False):
    """What an event carries besides its name: a one-line summary, and what it is about."""

    summary: Required[str]
    wave: str | None
    result: str | None
    counts: Mapping[str, int] | None


class Emit(Protocol):
    """Where run events go besides the log (webhook notifications)."""

    def __call__(self, event: str, **fields: Unpack[EventFields]) -> None:
        """Queue one event; never waits, never fails."""
