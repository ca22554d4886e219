"""The run's notifier: events go out in the background, in order, and never hold the run up.

Why: an operator wants to hear that a wave halted or waits for approval, but a webhook
that is slow, down or refusing must not delay or fail an upgrade run. So
:meth:`Notifier.emit` is a plain function that only queues; one background task per
target posts its queue in order (a slow target does not hold up the others), with the
bounded retries of :mod:`.send`. Each queue is bounded: when it is full the *oldest*
pending notification is dropped (the newest, such as ``run_finished``, says the most).

Leaving the ``async with`` block gives pending deliveries ``drain_timeout`` seconds, then
abandons them; so a dead receiver costs the run at most that bound at exit. Every
notification's fate (``delivered``, ``failed``, ``dropped``) is handed to ``on_result``
(the engine journals it for the report's ``notifications``). Log events, with fixed keys
``target`` (the target's safe name, never its URL), ``notify_event``, ``attempts`` and
``reason``: ``notification_delivered`` (info), ``notification_retry`` (info),
``notification_failed`` and ``notification_dropped`` (warning).
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Literal, Unpack

import aiohttp
import anyio
import structlog
from anyio.abc import TaskGroup

from fleetupgrade.async_resource import AsyncResource
from fleetupgrade.emit import EventFields
from fleetupgrade.logs import register_secret
from fleetupgrade.notify.payload import Delivery, EventData, build_delivery
from fleetupgrade.notify.send import (
    DELIVERY_POLICY,
    Outcome,
    Progress,
    deliver,
    make_tls_context,
    open_http,
)
from fleetupgrade.notify.target import EVENTS, NotificationResult, NotifyTarget, RunInfo
from fleetupgrade.retry_policy import RetryPolicy
from fleetupgrade.timefmt import utcnow

__all__ = ["Notifier", "register_target_secrets"]

_log = structlog.get_logger()

ResultCallback = Callable[[NotificationResult], None]
_MIN_MASKED_PATH = 16  # shorter URL paths are too generic to mask in every log line


def register_target_secrets(targets: Sequence[NotifyTarget]) -> None:
    """Have the log redaction mask each target's URL (and long URL path) and secret."""
    for target in targets:
        register_secret(target.url)
        path = target.url.split("://", 1)[-1].partition("/")[2]
        if len(path) >= _MIN_MASKED_PATH:
            register_secret("/" + path)
        if target.secret:
            register_secret(target.secret.decode("utf-8", "replace"))


class _Lane:
    """One target's queue and the delivery its worker is busy with."""

    __slots__ = ("current", "progress", "queue", "target", "wake")

    def __init__(self, target: NotifyTarget) -> None:
        self.target = target
        self.queue: deque[Delivery] = deque()
        self.wake = anyio.Event()
        self.current: Delivery | None = None
        self.progress = Progress()


class Notifier(AsyncResource):
    """Delivers a run's events to its webhook targets; see the module docstring.

    Construction checks everything that could be wrong with the configuration (each
    target's URL when the target was built, ``ca_file`` here) and raises
    :class:`~fleetupgrade.notify.target.NotifyTargetError`; after that nothing about
    notifications can fail the run. Call :meth:`emit` from the event loop's thread.
    ``on_result`` is called from that thread too and must not raise: an exception from it
    is a bug of the caller and propagates like any bug.
    ``policy`` bounds each delivery (attempts, per-attempt and total time, backoff);
    ``queue_size`` bounds each target's queue; ``drain_timeout`` bounds the wait for
    pending deliveries when the block is left.
    """

    def __init__(
        self,
        targets: Sequence[NotifyTarget],
        *,
        run_info: RunInfo,
        ca_file: Path | None = None,
        on_result: ResultCallback | None = None,
        policy: RetryPolicy | None = None,
        queue_size: int = 100,
        drain_timeout: float = 10.0,
    ) -> None:
        if queue_size < 1:
            raise ValueError("queue_size must be at least 1")
        register_target_secrets(targets)
        self._targets = tuple(targets)
        self._run = run_info
        self._tls = make_tls_context(ca_file)
        self._on_result = on_result
        self._policy = policy or DELIVERY_POLICY
        self._queue_size = queue_size
        self._drain_timeout = drain_timeout
        self._lanes: list[_Lane] = []
        self._http: aiohttp.ClientSession | None = None
        self._tg: TaskGroup | None = None
        self._state: Literal["new", "open", "closing", "closed"] = "new"
        self._busy = 0
        self._idle: anyio.Event | None = None

    def __repr__(self) -> str:
        names = ", ".join(target.name for target in self._targets)
        return f"<Notifier {self._state} [{names}]>"

    async def _open(self) -> None:
        if self._state != "new":
            raise RuntimeError("a Notifier is entered once")
        self._lanes = [_Lane(target) for target in self._targets]
        self._http = open_http(self._tls)
        self._tg = anyio.create_task_group()
        await self._tg.__aenter__()
        self._state = "open"
        self._busy = len(self._lanes)
        self._idle = anyio.Event()
        if not self._lanes:
            self._idle.set()
        for lane in self._lanes:
            self._tg.start_soon(self._work, lane, name=f"notify {lane.target.name}")

    async def _close(self, exc: BaseException | None) -> None:
        assert self._tg is not None
        assert self._http is not None
        assert self._idle is not None
        self._state = "closing"
        for lane in self._lanes:
            lane.wake.set()
        if not isinstance(exc, anyio.get_cancelled_exc_class()):
            with anyio.move_on_after(self._drain_timeout):
                await self._idle.wait()
        self._tg.cancel_scope.cancel()
        try:
            # Children are cancelled: this returns as soon as each has unwound.
            await self._tg.__aexit__(None, None, None)
        finally:
            self._state = "closed"
            with anyio.CancelScope(shield=True) as shield:
                shield.deadline = anyio.current_time() + 1.0
                await self._http.close()
            self._abandon_pending()

    def emit(self, event: str, **fields: Unpack[EventFields]) -> None:
        """Queue ``event`` for every target subscribed to it; never waits, never fails.

        Serves as the run's :class:`~fleetupgrade.emit.Emit`. Raises ``ValueError`` for an
        event name outside :data:`EVENTS` (a bug, not a delivery problem).
        """
        if event not in EVENTS:
            raise ValueError(f"unknown notification event {event!r}")
        chosen = [i for i, target in enumerate(self._targets) if event in target.events]
        if not chosen:
            return
        data = EventData(event, utcnow(), self._run, fields)
        for index in chosen:
            delivery = build_delivery(self._targets[index], data)
            if self._state != "open":
                self._report(delivery, "dropped", 0, f"notifier is {self._state}, not running")
                continue
            lane = self._lanes[index]
            if len(lane.queue) >= self._queue_size:
                oldest = lane.queue.popleft()
                self._report(
                    oldest, "dropped", 0, f"queue full ({self._queue_size} pending), oldest dropped"
                )
            lane.queue.append(delivery)
            lane.wake.set()

    async def _work(self, lane: _Lane) -> None:
        assert self._http is not None
        try:
            while True:
                while not lane.queue:
                    if self._state != "open":
                        return
                    await lane.wake.wait()
                    lane.wake = anyio.Event()
                delivery = lane.queue.popleft()
                lane.current, lane.progress = delivery, Progress()
                outcome = await deliver(
                    self._http, lane.target, delivery, self._policy, lane.progress
                )
                lane.current = None
                self._finish(delivery, outcome)
        finally:
            self._busy -= 1
            if self._busy == 0 and self._idle is not None:
                self._idle.set()

    def _finish(self, delivery: Delivery, outcome: Outcome) -> None:
        self._report(delivery, outcome.status, outcome.attempts, outcome.detail)

    def _abandon_pending(self) -> None:
        why = f"run ended before it was delivered (drain time {self._drain_timeout:g}s)"
        for lane in self._lanes:
            if lane.current is not None:
                self._report(lane.current, "dropped", lane.progress.attempts, why)
                lane.current = None
            while lane.queue:
                self._report(lane.queue.popleft(), "dropped", 0, why)

    def _report(
        self,
        delivery: Delivery,
        status: Literal["delivered", "failed", "dropped"],
        attempts: int,
        detail: str,
    ) -> None:
        keys = {
            "target": delivery.target,
            "notify_event": delivery.event,
            "attempts": attempts,
            "reason": detail,
        }
        if status == "delivered":
            _log.info("notification_delivered", **keys)
        elif status == "failed":
            _log.warning("notification_failed", **keys)
        else:
            _log.warning("notification_dropped", **keys)
        if self._on_result is not None:
            self._on_result(
                NotificationResult(
                    at=utcnow(),
                    target=delivery.target,
                    event=delivery.event,
                    status=status,
                    attempts=attempts,
                    detail=detail,
                )
            )
