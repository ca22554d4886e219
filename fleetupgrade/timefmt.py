"""The one time format of reports, logs, status and the journal's readers.

Operators compare instants across events.jsonl, report.json and ``status``; one spelling
(RFC 3339, UTC, milliseconds, ``Z``) everywhere makes that a plain string comparison.
"""

from __future__ import annotations

from datetime import UTC, datetime

__all__ = ["format_instant", "utcnow"]


def utcnow() -> datetime:
    """The run's clock: aware UTC."""
    return datetime.now(UTC)


def format_instant(value: datetime) -> str:
    """RFC 3339 UTC with milliseconds and ``Z``."""
    return value.astimezone(UTC).replace(tzinfo=None).isoformat(timespec="milliseconds") + "Z"
