"""Posting one notification: one attempt, and the bounded retries around it.

Why: a webhook that is down, slow or rate-limiting must never hold up or fail a run, and
a flaky one should still get its message. So each delivery is retried on 5xx, 429,
timeouts and connection errors with exponential backoff and jitter, bounded both in
attempts and in total time (the total bound also cuts an attempt in flight); a 4xx other
than 429, a redirect or a TLS failure is final. ``Retry-After`` (seconds) is honoured
when it fits in the time left. The retry loop is written out rather than delegated
because its total deadline must also cancel the attempt in flight.

TLS is always verified: system CAs plus the optional ``ca_file``. Proxies come from the
usual environment variables (``https_proxy``, ``no_proxy``) for non-loopback targets.
Nothing here ever puts the URL (a secret) into a detail, a log line or an exception.
"""

from __future__ import annotations

import ssl
import urllib.request
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

import aiohttp
import anyio
import structlog
import yarl

from fleetupgrade.notify.payload import Delivery
from fleetupgrade.notify.target import NotifyTarget, NotifyTargetError, is_loopback_host
from fleetupgrade.retry_policy import RetryPolicy

__all__ = [
    "DELIVERY_POLICY",
    "AttemptResult",
    "Outcome",
    "deliver",
    "make_tls_context",
    "open_http",
    "post_once",
]

_log = structlog.get_logger()

_SNIPPET = 120  # characters of an error answer's body kept in the detail


DELIVERY_POLICY = RetryPolicy(
    attempts=4,
    attempt_timeout=10.0,
    total_timeout=30.0,
    wait_initial=0.5,
    wait_max=5.0,
    wait_jitter=0.5,
)
"""Bounds of one delivery: a webhook gets fewer, shorter tries than vCenter (a run never
waits for it; each attempt is bounded here, not by an HTTP timeout)."""


@dataclass(frozen=True, slots=True)
class AttemptResult:
    """What one POST got: a status (``None`` when no answer), whether to retry, why."""

    status_code: int | None
    retryable: bool
    detail: str
    retry_after: float | None = None

    @property
    def ok(self) -> bool:
        """True for a 2xx answer."""
        return self.status_code is not None and 200 <= self.status_code < 300


@dataclass(frozen=True, slots=True)
class Outcome:
    """The end of one delivery: delivered or failed, after how many attempts, why."""

    status: Literal["delivered", "failed"]
    attempts: int
    detail: str
    status_code: int | None


class Progress:
    """Attempts made so far by one delivery (read when it is abandoned mid-way)."""

    __slots__ = ("attempts",)

    def __init__(self) -> None:
        self.attempts = 0


def make_tls_context(ca_file: Path | None) -> ssl.SSLContext:
    """Verified TLS: the system CAs plus ``ca_file``; an unreadable file is a clear error."""
    context = ssl.create_default_context(ssl.Purpose.SERVER_AUTH)
    if ca_file is not None:
        try:
            context.load_verify_locations(cafile=str(ca_file))
        except (OSError, ssl.SSLError) as exc:
            ssl_problem = isinstance(exc, ssl.SSLError)
            why = "not a PEM CA bundle" if ssl_problem else (exc.strerror or "unreadable")
            raise NotifyTargetError(
                f"notification ca_file {ca_file}: cannot be used ({why})"
            ) from exc
    return context


def open_http(context: ssl.SSLContext) -> aiohttp.ClientSession:
    """The HTTP session of the notifier: verified TLS, no cookies, no redirects followed."""
    return aiohttp.ClientSession(
        connector=aiohttp.TCPConnector(ssl=context),
        cookie_jar=aiohttp.DummyCookieJar(),
        timeout=aiohttp.ClientTimeout(total=None),  # the caller bounds every attempt
        trust_env=False,  # proxies are chosen per target below; no .netrc credentials
    )


def _proxy_for(url: yarl.URL) -> str | None:
    host = url.host or ""
    if is_loopback_host(host) or bool(urllib.request.proxy_bypass(host)):
        return None
    return urllib.request.getproxies().get(url.scheme)


def _retry_after(value: str | None) -> float | None:
    """``Retry-After`` in seconds (the HTTP-date form is ignored), or ``None``."""
    if value is None:
        return None
    try:
        seconds = float(value)
    except ValueError:
        return None
    return seconds if seconds >= 0 else None


def _snippet(body: bytes, url: yarl.URL) -> str:
    text = " ".join(body[: _SNIPPET * 4].decode("utf-8", "replace").split())
    for secret in (str(url), url.raw_path_qs, url.raw_path):
        if len(secret) > 1:
            text = text.replace(secret, "***")
    return text[:_SNIPPET]


def _describe_error(exc: BaseException) -> tuple[str, bool]:
    """A URL-free explanation of a failed attempt, and whether a retry may help."""
    if isinstance(exc, aiohttp.ClientConnectorCertificateError):
        cert = exc.certificate_error
        why = getattr(cert, "verify_message", None) or cert.__class__.__name__
        return f"TLS certificate not trusted ({why}); set ca_file or fix the receiver", False
    if isinstance(exc, aiohttp.ClientSSLError | ssl.SSLError):
        return "TLS handshake failed", False
    if isinstance(exc, aiohttp.ClientConnectorError):
        why = exc.os_error.strerror or exc.os_error.__class__.__name__
        return f"cannot connect ({why})", True
    if isinstance(exc, aiohttp.ServerDisconnectedError):
        return "connection closed before the answer", True
    if isinstance(exc, aiohttp.ClientPayloadError):
        return "answer cut off", True
    return f"connection failed ({exc.__class__.__name__})", True


async def post_once(
    http: aiohttp.ClientSession, target: NotifyTarget, delivery: Delivery
) -> AttemptResult:
    """POST the delivery once; the caller bounds the time it may take."""
    url = yarl.URL(target.url)
    try:
        async with http.post(
            url,
            data=delivery.body,
            headers=dict(delivery.headers),
            allow_redirects=False,
            proxy=_proxy_for(url),
        ) as answer:
            body = await answer.read()
            status = answer.status
            retry_after = _retry_after(answer.headers.get("Retry-After"))
    except (aiohttp.ClientError, OSError) as exc:
        detail, retryable = _describe_error(exc)
        return AttemptResult(None, retryable, detail)
    except Exception as exc:  # a webhook must never take an upgrade run down with it
        return AttemptResult(None, False, f"unexpected error ({exc.__class__.__name__})")
    if 200 <= status < 300:
        return AttemptResult(status, False, f"HTTP {status}")
    retryable = status == 429 or status >= 500
    snippet = _snippet(body, url)
    detail = f"HTTP {status}" + (f": {snippet}" if snippet else "")
    if 300 <= status < 400:
        detail = f"HTTP {status} (redirects are not followed)"
    return AttemptResult(status, retryable, detail, retry_after if retryable else None)


async def deliver(
    http: aiohttp.ClientSession,
    target: NotifyTarget,
    delivery: Delivery,
    policy: RetryPolicy,
    progress: Progress,
) -> Outcome:
    """Post with retries until a final answer, the attempts run out or time is up."""
    deadline = anyio.current_time() + policy.total_timeout
    with anyio.move_on_after(policy.total_timeout) as total:
        while True:
            progress.attempts += 1
            last = AttemptResult(None, True, "no answer")  # if the total bound cuts this attempt
            with anyio.move_on_after(policy.attempt_timeout) as scope:
                last = await post_once(http, target, delivery)
            if scope.cancelled_caught:
                last = AttemptResult(None, True, f"no answer within {policy.attempt_timeout:g}s")
            if last.ok:
                return Outcome("delivered", progress.attempts, last.detail, last.status_code)
            if not last.retryable:
                return Outcome("failed", progress.attempts, last.detail, last.status_code)
            if progress.attempts >= policy.attempts:
                break
            wait = policy.backoff(progress.attempts)
            if last.retry_after is not None:
                wait = max(wait, last.retry_after)
            if anyio.current_time() + wait >= deadline:
                break
            _log.info(
                "notification_retry",
                target=target.name,
                notify_event=delivery.event,
                attempt=progress.attempts + 1,
                reason=last.detail,
            )
            await anyio.sleep(wait)
    detail = last.detail
    if total.cancelled_caught:
        detail = f"{detail}; gave up after {policy.total_timeout:g}s in all"
    elif progress.attempts >= policy.attempts:
        detail = f"{detail}; gave up after {progress.attempts} attempts"
    else:
        detail = f"{detail}; no time left for another attempt within {policy.total_timeout:g}s"
    return Outcome("failed", progress.attempts, detail, last.status_code)
