"""Webhook notifications of a run: JSON or Slack, signed, retried, never in the run's way.

The engine builds one :class:`NotifyTarget` per ``[[notify]]`` entry of the plan, opens
``async with Notifier(targets, run_info=...) as notifier`` for the run and calls
:meth:`Notifier.emit` as waves start, halt or wait for approval. ``notify-test`` calls
:func:`notify_test`. Payloads, headers, signatures and the retry policy are documented
for receivers in ``docs/notify.md``.
"""

from __future__ import annotations

from fleetupgrade.notify.check import (
    TestDelivery,
    notify_test,
    notify_test_exit_code,
    render_notify_test,
)
from fleetupgrade.notify.notifier import Notifier
from fleetupgrade.notify.payload import sign
from fleetupgrade.notify.send import DELIVERY_POLICY
from fleetupgrade.notify.target import (
    DEFAULT_EVENTS,
    EVENTS,
    NotificationResult,
    NotifyTarget,
    NotifyTargetError,
    RunInfo,
    url_problem,
)

__all__ = [
    "DEFAULT_EVENTS",
    "DELIVERY_POLICY",
    "EVENTS",
    "NotificationResult",
    "Notifier",
    "NotifyTarget",
    "NotifyTargetError",
    "RunInfo",
    "TestDelivery",
    "notify_test",
    "notify_test_exit_code",
    "render_notify_test",
    "sign",
    "url_problem",
]
