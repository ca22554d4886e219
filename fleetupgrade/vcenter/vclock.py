"""vCenter's clock as seen from here: an offset estimated from the HTTP ``Date`` header.

Why: deciding whether a task "started after our create" compares vCenter's task
``start_time`` (vCenter's clock) with the instant we sent the create (our clock). The two
clocks may disagree by minutes (NTP broken on either side), so the comparison must never
depend on them agreeing. Every answer of vCenter carries ``Date`` (RFC 9110, one-second
resolution); each one updates the offset ``vcenter_time - our_time``, and instants of ours
are converted to vCenter's clock with it. The estimate is good to about a second (the
header's resolution plus the request's latency), which the reconciliation margin absorbs.
An answer without a usable ``Date`` leaves the estimate unchanged; with no estimate at all,
start times cannot be placed and the caller must not use them (:meth:`to_vcenter` is None).

A past instant is converted with the estimate taken nearest to it: a few samples (at most
one per second, bounded) are kept, because a clock that drifts (or a simulator whose
clock runs faster than real time) makes the latest offset wrong for an earlier instant.
"""

from __future__ import annotations

from collections import deque
from datetime import UTC, datetime, timedelta
from email.utils import parsedate_to_datetime

__all__ = ["VCenterClock", "parse_http_date"]


def parse_http_date(value: str | None) -> datetime | None:
    """An HTTP ``Date`` value as an aware UTC datetime; None when absent or unreadable."""
    if not value:
        return None
    try:
        parsed = parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError):
        return None
    if parsed.tzinfo is None:  # "-0000" per RFC 5322: UTC with unknown local zone
        parsed = parsed.replace(tzinfo=UTC)
    return parsed.astimezone(UTC)


SAMPLES = 256
_SAMPLE_SPACING = timedelta(seconds=1)


class VCenterClock:
    """Estimates of ``vCenter's clock - ours``, the latest and a few earlier ones."""

    __slots__ = ("_latest", "_samples")

    def __init__(self) -> None:
        self._latest: timedelta | None = None
        self._samples: deque[tuple[datetime, timedelta]] = deque(maxlen=SAMPLES)

    @property
    def offset(self) -> timedelta | None:
        """The offset of vCenter's clock from ours; None until an answer carried ``Date``."""
        return self._latest

    def observe(self, date_header: str | None, received_at: datetime) -> None:
        """Update the estimate from one answer's ``Date`` (``received_at``: our clock)."""
        vcenter_time = parse_http_date(date_header)
        if vcenter_time is None:
            return
        self._latest = vcenter_time - received_at
        # The first sample of each second is kept: an earlier estimate errs toward an
        # earlier cutoff, i.e. toward finding a job rather than missing one.
        if not self._samples or received_at - self._samples[-1][0] >= _SAMPLE_SPACING:
            self._samples.append((received_at, self._latest))

    def to_vcenter(self, ours: datetime) -> datetime | None:
        """Our instant ``ours`` on vCenter's clock (nearest estimate); None without any."""
        samples = self._samples
        if not samples:
            return None
        latest_at, latest = samples[-1]
        if ours >= latest_at:  # samples are kept in time order: the last one is nearest
            return ours + latest
        _, offset = min(samples, key=lambda sample: abs(sample[0] - ours))
        return ours + offset
