"""A per-vCenter circuit breaker: stop hammering a vCenter that keeps failing, then probe it.

Why: when a vCenter is overloaded or restarting, every in-flight Supervisor of it would
otherwise retry on its own, multiplying the load exactly when vCenter can least take it.
After ``threshold`` consecutive transient failures (503 and other gateway answers,
connection resets, timeouts) the breaker *opens*: new requests to that vCenter wait (they
do not fail) for ``cooldown`` seconds. Then it is *half-open*: one request goes through as a
probe while the others keep waiting. The probe's success (any answer that is not a
transient failure) *closes* it and everyone proceeds; its failure opens it again for
another cool-down, and the requests that waited for that probe end with
:class:`CircuitOpen` (never sent), which the caller's bounded retries count as one failed
attempt — so a dead vCenter still ends as "unreachable" after a bounded time.

Transitions log ``circuit_opened`` / ``circuit_closed`` (keys ``vcenter`` and ``reason``) and
``opens`` counts the openings for the report. ``threshold`` 0 turns the breaker off.
"""

from __future__ import annotations

from enum import Enum

import anyio
import structlog

__all__ = ["BreakerState", "CircuitBreaker", "CircuitOpen", "Result"]

_log = structlog.get_logger()


class BreakerState(Enum):
    """Closed: requests flow; open: they wait; half-open: one probe flows."""

    CLOSED = "closed"
    OPEN = "open"
    HALF_OPEN = "half_open"


class Result(Enum):
    """How a request that passed the breaker ended."""

    SUCCESS = "success"  # vCenter answered (any answer but a transient failure)
    TRANSIENT_FAILURE = "transient_failure"  # 502/503/504, reset, timeout
    NEUTRAL = "neutral"  # cancelled, TLS refusal, ...: says nothing about vCenter's health


class CircuitOpen(Exception):
    """The probe this request waited for failed: the request was not sent."""

    def __init__(self, reason: str) -> None:
        self.reason = reason
        super().__init__(f"circuit open after repeated failures ({reason})")


class CircuitBreaker:
    """The breaker of one vCenter; see the module docstring."""

    def __init__(self, vcenter: str, *, threshold: int = 5, cooldown: float = 30.0) -> None:
        if threshold < 0:
            raise ValueError("threshold must be >= 0 (0 = off)")
        if cooldown < 0:
            raise ValueError("cooldown must be >= 0")
        self._vcenter = vcenter
        self._threshold = threshold
        self._cooldown = cooldown
        self._state = BreakerState.CLOSED
        self._failures = 0
        self._reopen_at = 0.0
        self._probing = False
        self._failed_probes = 0
        self._reason = ""
        self._changed = anyio.Event()
        self.opens = 0

    @property
    def state(self) -> BreakerState:
        """The current state (for tests and status)."""
        return self._state

    def _notify(self) -> None:
        self._changed.set()
        self._changed = anyio.Event()

    async def wait_turn(self) -> bool:
        """Wait until a request may be sent; True when this request is the half-open probe.

        Raises :class:`CircuitOpen` when the probe this request waited for failed.
        """
        failed_probes = self._failed_probes
        while True:
            if self._failed_probes != failed_probes:
                raise CircuitOpen(self._reason)
            if self._state is BreakerState.CLOSED:
                return False
            if self._state is BreakerState.OPEN:
                delay = self._reopen_at - anyio.current_time()
                if delay > 0:
                    changed = self._changed
                    with anyio.move_on_after(delay):
                        await changed.wait()
                    continue
                self._state = BreakerState.HALF_OPEN
                self._probing = False
            if not self._probing:
                self._probing = True
                return True
            await self._changed.wait()

    def record(self, result: Result, *, probe: bool, reason: str = "") -> None:
        """Record how a request that passed :meth:`wait_turn` ended (pure bookkeeping)."""
        if self._threshold == 0:
            return
        if result is Result.SUCCESS:
            self._failures = 0
            if self._state is not BreakerState.CLOSED:
                self._state = BreakerState.CLOSED
                self._probing = False
                _log.info("circuit_closed", vcenter=self._vcenter, reason="vCenter answered again")
                self._notify()
            return
        if result is Result.NEUTRAL:
            if probe:
                self._probing = False  # let another waiter probe
                self._notify()
            return
        self._reason = reason
        if probe:
            self._open()
            self._failed_probes += 1
            self._notify()
            return
        if self._state is BreakerState.CLOSED:
            self._failures += 1
            if self._failures >= self._threshold:
                self.opens += 1
                self._open()
                _log.warning(
                    "circuit_opened",
                    vcenter=self._vcenter,
                    reason=f"{self._failures} consecutive failures, last: {reason}; "
                    f"requests wait {self._cooldown:g}s",
                )
                self._notify()

    def _open(self) -> None:
        self._state = BreakerState.OPEN
        self._probing = False
        self._reopen_at = anyio.current_time() + self._cooldown
