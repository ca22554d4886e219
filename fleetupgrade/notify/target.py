"""Who is notified, about what, and what became of each notification.

Why: the plan names webhook targets (``[[notify]]``); the engine hands them here as
:class:`NotifyTarget` values. A webhook URL is a secret (a Slack URL *is* the credential),
so it lives only in the ``url`` field, never in a ``repr``, an error message or a log line:
everything else names a target by its ``name``, a safe label such as
``notify[0] (SLACK_WEBHOOK_URL)``.

A target's URL is checked when the target is built: ``https`` anywhere, plain ``http``
only to loopback (``127.0.0.0/8``, ``::1``, ``localhost``), because a webhook body tells
whoever reads the wire which Supervisors are being upgraded and when.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Literal

import yarl

from fleetupgrade.errors import FleetUpgradeError
from fleetupgrade.hosts import is_loopback_host
from fleetupgrade.outcomes import DEFAULT_NOTIFY_EVENTS, NOTIFY_EVENTS

__all__ = [
    "DEFAULT_EVENTS",
    "EVENTS",
    "NotificationResult",
    "NotifyTarget",
    "NotifyTargetError",
    "RunInfo",
    "is_loopback_host",
    "url_problem",
]

EVENTS: frozenset[str] = frozenset(NOTIFY_EVENTS) | {"test"}
"""Every event a target can subscribe to: the plan's ``[[notify]] events`` values, plus
``test``, which ``notify-test`` sends to every target whatever it subscribes to."""

DEFAULT_EVENTS: frozenset[str] = frozenset(DEFAULT_NOTIFY_EVENTS)
"""The events of a ``[[notify]]`` target that lists none: the ones a human acts on."""

Status = Literal["delivered", "failed", "dropped"]


class NotifyTargetError(FleetUpgradeError):
    """A notification target cannot be used (its URL is refused); names the target only."""


def url_problem(url: str) -> str | None:
    """Why ``url`` cannot be a webhook target, or ``None``; the text never repeats the URL."""
    try:
        parsed = yarl.URL(url)
    except (ValueError, TypeError):
        return "the webhook URL is not a valid URL"
    scheme = (parsed.scheme or "").lower()
    host = parsed.host
    if scheme not in ("https", "http") or not host:
        return "the webhook URL must be an absolute https:// URL"
    if scheme == "http" and not is_loopback_host(host):
        return (
            "plain http is allowed only to loopback (127.0.0.0/8, ::1, localhost); "
            "use an https:// webhook URL"
        )
    return None


@dataclass(frozen=True, slots=True)
class NotifyTarget:
    """One webhook: where to post, which events, in which format, signed with which secret.

    ``url`` and ``secret`` are excluded from ``repr``; ``name`` is what logs and reports
    show. Building a target whose URL is refused raises :class:`NotifyTargetError`.
    """

    name: str
    url: str = field(repr=False)
    events: frozenset[str] = DEFAULT_EVENTS
    format: Literal["json", "slack"] = "json"
    secret: bytes | None = field(default=None, repr=False)

    def __post_init__(self) -> None:
        problem = url_problem(self.url)
        if problem is not None:
            raise NotifyTargetError(f"{self.name}: {problem}")
        if self.format not in ("json", "slack"):
            raise NotifyTargetError(f"{self.name}: format must be 'json' or 'slack'")
        unknown = sorted(set(self.events) - EVENTS)
        if unknown:
            raise NotifyTargetError(
                f"{self.name}: unknown event(s) {', '.join(unknown)}; "
                f"known: {', '.join(sorted(EVENTS))}"
            )


@dataclass(frozen=True, slots=True)
class RunInfo:
    """What every notification of one run carries besides its own event.

    ``run_id`` is None for ``notify-test``, which is no run.
    """

    run_id: str | None
    plan: str
    simulated: bool = False
    report_path: Path | str | None = None


@dataclass(frozen=True, slots=True)
class NotificationResult:
    """The final fate of one notification, for the report's ``notifications`` list.

    ``status``: ``delivered`` (a 2xx answer), ``failed`` (retries exhausted or a final
    refusal), ``dropped`` (never finished: the queue was full or the run ended first).
    ``detail`` explains it without the URL.
    """

    at: datetime
    target: str
    event: str
    status: Status
    attempts: int
    detail: str
