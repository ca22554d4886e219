"""Request pacing for one vCenter: a token bucket, so a big fleet never floods one vCenter.

Why: vCenter's API endpoint is shared with every other tool and UI of the site; a run
that polls and creates for dozens of Supervisors must stay under a fixed request rate
(``max_requests_per_second`` in the plan, default 20, 0 = off) whatever the concurrency.

The bucket holds ``burst`` tokens and refills at ``rate`` tokens per second; each request
takes one, waiting for it when the bucket is empty. It is implemented as the equivalent
"virtual scheduling" form (GCRA): one number, the theoretical arrival time of the next
request, so there is no background refill task and no lock (nothing awaits between the
read and the write of that number). Waiters are served in arrival order. Waits are
counted (``waits``), never logged per request.
"""

from __future__ import annotations

import anyio

__all__ = ["TokenBucket"]


class TokenBucket:
    """Admits at most ``rate`` requests per second on average, ``burst`` at once.

    ``rate`` 0 turns pacing off (every request is admitted at once).
    """

    __slots__ = ("_interval", "_next", "_tolerance", "waits")

    def __init__(self, rate: float, *, burst: float = 1.0) -> None:
        if rate < 0:
            raise ValueError("rate must be >= 0 (0 = no pacing)")
        if burst < 1:
            raise ValueError("burst must be >= 1")
        self._interval = 1.0 / rate if rate > 0 else 0.0
        self._tolerance = (burst - 1.0) * self._interval
        self._next = 0.0  # theoretical arrival time of the next request (anyio clock)
        self.waits = 0

    @property
    def enabled(self) -> bool:
        """True unless the rate is 0."""
        return self._interval > 0

    def reserve(self, now: float) -> float:
        """Take a token at ``now``; return how long to wait before sending (pure, no I/O)."""
        if not self.enabled:
            return 0.0
        arrival = max(self._next, now)
        start = max(now, arrival - self._tolerance)
        self._next = arrival + self._interval
        return start - now

    async def wait_for_token(self) -> None:
        """Wait until this request may be sent."""
        delay = self.reserve(anyio.current_time())
        if delay > 0:
            self.waits += 1
            await anyio.sleep(delay)
