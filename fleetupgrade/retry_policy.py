"""How hard one operation is retried: attempts, time bounds, and the waits between attempts.

Why one type: a safe request to vCenter (``fleetupgrade.vcenter.retries``) and a webhook
delivery (``fleetupgrade.notify.send``) are retried alike, with exponential waits plus
jitter, bounded in attempts and in total time; only their numbers differ. Tests shrink the
numbers to keep real retries fast.
"""

from __future__ import annotations

import math
import random
from dataclasses import dataclass

__all__ = ["RetryPolicy"]


@dataclass(frozen=True, slots=True)
class RetryPolicy:
    """Bounds of the retries of one operation (seconds).

    The defaults suit a safe request to vCenter, whose attempts the HTTP request timeout
    bounds (so ``attempt_timeout`` is unbounded here); a webhook delivery uses
    ``fleetupgrade.notify.send.DELIVERY_POLICY``, which bounds each attempt itself.
    """

    attempts: int = 5
    total_timeout: float = 120.0
    wait_initial: float = 0.5
    wait_max: float = 10.0
    wait_jitter: float = 1.0
    attempt_timeout: float = math.inf

    def backoff(self, retry: int) -> float:
        """Wait before retry number ``retry`` (1 = the first retry): exponential + jitter."""
        base = min(self.wait_max, self.wait_initial * 2.0 ** (retry - 1))
        return base + random.uniform(0.0, self.wait_jitter)  # noqa: S311 (not crypto)
