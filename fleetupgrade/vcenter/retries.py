"""Bounded retries of requests that are safe to repeat (reads, login, prechecks run).

Why: a blip of vCenter (a 503, a reset connection, a timeout, a truncated or garbled
answer) must never become a Supervisor's outcome. One attempt = send + read + parse, so a
malformed answer is retried like a dropped one. Waits grow exponentially with jitter
(stamina), bounded in attempts and total time; ``stamina.set_testing`` turns the waits off
in tests. Each repeat logs ``http_retry`` (``vcenter``, ``method``, ``route``, ``attempt``,
``reason``); stamina's own retry log is silenced once at import so that line is the only
one. When the attempts run out the last failure is raised; a 502/503/504 answer then
becomes :class:`~fleetupgrade.errors.VCenterUnreachable` (vCenter could not serve us),
never an API refusal. Creates never come here: a lost create is reconciled, not repeated.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import TypeVar

import stamina
import structlog

from fleetupgrade.errors import (
    MalformedResponse,
    TLSVerificationError,
    VCenterUnreachable,
)
from fleetupgrade.retry_policy import RetryPolicy
from fleetupgrade.vcenter.errors_map import parse_error_answer
from fleetupgrade.vcenter.transport import RETRY_STATUSES, Response, Transport

__all__ = ["RetryPolicy", "TransientAnswer", "check_transient", "retry_safe"]

_log = structlog.get_logger()

# Our http_retry event replaces stamina's own log line (once, for the whole process).
stamina.instrumentation.set_on_retry_hooks([])

T = TypeVar("T")


class TransientAnswer(Exception):
    """A 502/503/504 answer: vCenter or a proxy in front of it is briefly unable to serve."""

    def __init__(self, vcenter: str, operation: str, response: Response) -> None:
        answer = parse_error_answer(response.status, response.content_type, response.body)
        detail = "; ".join(answer.messages)
        self.vcenter = vcenter
        self.reason = f"HTTP {answer.status} ({answer.error_type})" + (
            f": {detail}" if detail else ""
        )
        self.operation = operation
        super().__init__(self.reason)


def check_transient(vcenter: str, operation: str, response: Response) -> Response:
    """Raise :class:`TransientAnswer` for a 502/503/504 answer; return it otherwise."""
    if response.status in RETRY_STATUSES:
        raise TransientAnswer(vcenter, operation, response)
    return response


def _retryable(exc: Exception) -> bool:
    if isinstance(exc, TransientAnswer | MalformedResponse):
        return True
    return isinstance(exc, VCenterUnreachable) and not isinstance(exc, TLSVerificationError)


def _reason(exc: BaseException) -> str:
    if isinstance(exc, TransientAnswer):
        return exc.reason
    return str(exc)


async def retry_safe(
    transport: Transport,
    policy: RetryPolicy,
    attempt_once: Callable[[], Awaitable[T]],
    *,
    vcenter: str,
    method: str,
    route: str,
) -> T:
    """Run ``attempt_once`` until it returns, retrying transient failures within ``policy``.

    The first attempt runs directly: nearly every request succeeds at once, and building
    stamina's retry machinery for each of them cost more CPU than the request itself at
    fleet scale. A retryable first failure enters stamina's loop as its (already failed)
    first attempt, so attempts, waits and ``stamina.set_testing`` behave as before.
    """
    try:
        return await attempt_once()
    except Exception as exc:
        if not _retryable(exc):
            raise
        first: BaseException = exc
    last: BaseException | None = None
    try:
        async for attempt in stamina.retry_context(
            on=_retryable,
            attempts=policy.attempts,
            timeout=policy.total_timeout,
            wait_initial=policy.wait_initial,
            wait_max=policy.wait_max,
            wait_jitter=policy.wait_jitter,
        ):
            with attempt:
                if attempt.num == 1:
                    last = first
                    raise first
                if attempt.num > 1:
                    transport.note_retry()
                    _log.info(
                        "http_retry",
                        vcenter=vcenter,
                        method=method,
                        route=route,
                        attempt=attempt.num,
                        reason=_reason(last) if last is not None else "",
                    )
                try:
                    return await attempt_once()
                except Exception as exc:
                    last = exc
                    raise
    except TransientAnswer as exhausted:
        raise VCenterUnreachable(
            vcenter, f"{exhausted.operation}: {exhausted.reason}, after retries"
        ) from exhausted
    raise AssertionError("stamina ended without an attempt")  # pragma: no cover
