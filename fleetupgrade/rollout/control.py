"""The run's switches, each with one owner: stopping, the window, pause, approvals.

Everything that may keep a worker from firing is here, so a worker asks one question
(:meth:`RunControl.launch_block`) right before it fires. ``stop`` is the one "stopping"
flag (signal, abort, window grace over, approval timeout): it also cancels the waves.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field

import anyio

__all__ = ["Approval", "RunControl"]


@dataclass(frozen=True, slots=True)
class Approval:
    """An operator's answer to a wave waiting for approval."""

    approved: bool
    by: str
    reason: str | None = None


@dataclass(slots=True)
class RunControl:
    """Run-wide state every worker consults; written by the runner's watchers only."""

    stop_reason: str | None = None
    window_closed: str | None = None
    paused_by: str | None = None
    approvals: dict[str, Approval] = field(default_factory=dict)
    waves_scope: anyio.CancelScope = field(default_factory=anyio.CancelScope)
    _changed: anyio.Event = field(default_factory=anyio.Event)
    _shortened: dict[int, tuple[anyio.CancelScope, float]] = field(default_factory=dict)

    def launch_block(self) -> str | None:
        """Why nothing new may be fired now (None: firing is allowed)."""
        return self.stop_reason or self.window_closed

    def stop(self, reason: str) -> None:
        """Stop: nothing new is fired, in-flight jobs are detached, the waves end."""
        if self.stop_reason is None:
            self.stop_reason = reason
        for scope, grace in list(self._shortened.values()):
            scope.deadline = min(scope.deadline, anyio.current_time() + grace)
        self.waves_scope.cancel()
        self._notify()

    @contextmanager
    def shortened_on_stop(self, scope: anyio.CancelScope, grace: float) -> Iterator[None]:
        """While inside: a stop leaves ``scope`` at most ``grace`` more seconds.

        For shielded work (a create whose answer must be journaled) that a stop must not
        wait on for long; no task watches for the stop, :meth:`stop` shortens the scope.
        """
        if self.stop_reason is not None:
            scope.deadline = min(scope.deadline, anyio.current_time() + grace)
        self._shortened[id(scope)] = (scope, grace)
        try:
            yield
        finally:
            del self._shortened[id(scope)]

    def close_window(self, reason: str) -> None:
        """The window closed: nothing new is fired; in-flight jobs are still watched."""
        self.window_closed = reason
        self._notify()

    def pause(self, by: str) -> None:
        """Hold launches until :meth:`resume`."""
        self.paused_by = by
        self._notify()

    def resume(self) -> None:
        """Launches may go on."""
        self.paused_by = None
        self._notify()

    def answer(self, wave: str, approval: Approval) -> None:
        """Record an approval or rejection of a wave."""
        self.approvals[wave] = approval
        self._notify()

    def _notify(self) -> None:
        changed, self._changed = self._changed, anyio.Event()
        changed.set()

    async def wait_changed(self) -> None:
        """Wait until any switch changes."""
        await self._changed.wait()

    async def wait_unpaused(self) -> None:
        """Wait while the run is paused (returns at once otherwise, or when stopping)."""
        while self.paused_by is not None and self.launch_block() is None:
            await self.wait_changed()
