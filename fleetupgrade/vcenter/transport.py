"""HTTP requests to one vCenter: limits, timeouts, retries, counters, error translation.

Why: everything that is about *sending* (not about vCenter's API) lives here, so the
client reads like the wire contract. This module

* owns the one ``aiohttp.ClientSession`` of a vCenter (TLS per :mod:`.tls`, no cookies);
* caps concurrent requests (``max_connections``, an anyio ``CapacityLimiter``) and
  optionally paces them (``max_requests_per_second``);
* bounds each attempt by ``request_timeout`` (connect + send + whole answer);
* translates aiohttp/ssl/OS errors at the edge into
  :class:`~fleetupgrade.errors.VCenterUnreachable` / ``TLSVerificationError``;
* retries — only when the caller says the request is safe to repeat — on connection
  errors, timeouts and 502/503/504, with exponential backoff and jitter (stamina),
  bounded in attempts and total time; ``stamina.set_testing`` turns the waits off;
* counts requests, retries and errors for the report, and logs ``http_request`` (debug)
  and ``http_retry``. It never logs headers or bodies: they carry credentials and the
  session id.
"""

from __future__ import annotations

import ssl
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote, urlencode

import aiohttp
import anyio
import stamina
import structlog
import yarl

from fleetupgrade.errors import TLSVerificationError, VCenterUnreachable
from fleetupgrade.vcenter.endpoint import VCenterEndpoint
from fleetupgrade.vcenter.tls import make_ssl_context, tls_failure_message

__all__ = ["Counters", "Response", "RetryPolicy", "Transport", "request_not_sent"]

_log = structlog.get_logger()

RETRY_STATUSES = frozenset({502, 503, 504})


@dataclass(frozen=True, slots=True)
class RetryPolicy:
    """Bounds of the retries of one safe request (waits in seconds)."""

    attempts: int = 5
    total_timeout: float = 120.0
    wait_initial: float = 0.5
    wait_max: float = 10.0
    wait_jitter: float = 1.0


@dataclass(frozen=True, slots=True)
class Counters:
    """Per-vCenter figures for the report.

    ``requests``: HTTP attempts sent; ``retries``: attempts that repeated a failed one;
    ``errors``: attempts that got no answer or an error answer the operation did not
    expect; ``renewals``: logins after the session expired.
    """

    requests: int = 0
    retries: int = 0
    errors: int = 0
    renewals: int = 0


@dataclass(frozen=True, slots=True)
class Response:
    """A complete HTTP answer (the body is read within the request's timeout)."""

    status: int
    content_type: str | None
    body: bytes

    @property
    def ok(self) -> bool:
        """True for 2xx."""
        return 200 <= self.status < 300


class _RetryableAnswer(Exception):  # internal control flow, never escapes
    def __init__(self, response: Response) -> None:
        self.response = response


def _retryable(exc: Exception) -> bool:
    if isinstance(exc, _RetryableAnswer):
        return True
    return isinstance(exc, VCenterUnreachable) and not isinstance(exc, TLSVerificationError)


def request_not_sent(error: VCenterUnreachable) -> bool:
    """Tell whether the failure happened before the request could reach vCenter."""
    return isinstance(error.__cause__, aiohttp.ClientConnectorError)


def encode_path(*segments: str) -> str:
    """Build ``/api/...`` from segments, each percent-encoded (ids may hold ``/ ? # %``)."""
    return "/" + "/".join(quote(segment, safe="") for segment in segments)


class _Pacer:
    """Spaces request starts at least ``1 / per_second`` apart."""

    def __init__(self, per_second: float) -> None:
        self._interval = 1.0 / per_second
        self._next = 0.0
        self._lock = anyio.Lock()

    async def wait_turn(self) -> None:
        async with self._lock:
            now = anyio.current_time()
            slot = max(now, self._next)
            self._next = slot + self._interval
        if slot > now:
            await anyio.sleep(slot - now)


class Transport:
    """Sends requests to one vCenter; see the module docstring."""

    def __init__(self, endpoint: VCenterEndpoint, retry: RetryPolicy) -> None:
        self._endpoint = endpoint
        self._retry = retry
        self._http: aiohttp.ClientSession | None = None
        self._limiter = anyio.CapacityLimiter(endpoint.max_connections)
        rate = endpoint.max_requests_per_second
        self._pacer = _Pacer(rate) if rate is not None else None
        self._requests = self._retries = self._errors = self._renewals = 0

    @property
    def counters(self) -> Counters:
        """A snapshot of the counters."""
        return Counters(self._requests, self._retries, self._errors, self._renewals)

    def note_renewal(self) -> None:
        """Count a re-login."""
        self._renewals += 1

    async def open(self) -> None:
        """Create the HTTP session (TLS context included); needs a running event loop."""
        context: ssl.SSLContext | bool = False
        if self._endpoint.uses_tls:
            context = make_ssl_context(self._endpoint.ca_file, self._endpoint.thumbprint_digest)
        connector = aiohttp.TCPConnector(ssl=context, limit=self._endpoint.max_connections)
        self._http = aiohttp.ClientSession(
            connector=connector,
            cookie_jar=aiohttp.DummyCookieJar(),  # the session id travels in a header only
            timeout=aiohttp.ClientTimeout(total=None),  # anyio bounds each attempt
            headers={"Accept": "application/json"},
            trust_env=False,
        )

    async def aclose(self) -> None:
        """Close the HTTP session."""
        if self._http is not None:
            http, self._http = self._http, None
            await http.close()

    async def request(
        self,
        method: str,
        path: str,
        *,
        operation: str,
        retry: bool,
        query: Sequence[tuple[str, str]] = (),
        json_body: Any = None,
        headers: Mapping[str, str] | None = None,
        expected: frozenset[int] = frozenset(),
    ) -> Response:
        """Send one request; with ``retry``, repeat it on transient failures.

        Returns the answer whatever its status (the last one after retries); raises
        :class:`VCenterUnreachable` when no answer came. ``expected`` lists error
        statuses that are a normal answer for this operation (not counted as errors).
        """
        url = self._endpoint.api_base + path
        if query:
            url += "?" + urlencode(list(query), quote_via=quote, safe="")
        send: dict[str, Any] = {
            "method": method,
            "url": yarl.URL(url, encoded=True),
            "path": path,
            "operation": operation,
            "json_body": json_body,
            "headers": headers,
            "expected": expected,
        }
        if not retry:
            return await self._send_once(attempt=1, **send)
        return await self._send_retrying(send)

    async def _send_retrying(self, send: dict[str, Any]) -> Response:
        policy = self._retry
        reason = ""
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
                    if attempt.num > 1:
                        self._retries += 1
                        _log.info(
                            "http_retry",
                            vcenter=self._endpoint.name,
                            method=send["method"],
                            path=send["path"],
                            operation=send["operation"],
                            attempt=attempt.num,
                            reason=reason,
                        )
                    try:
                        response = await self._send_once(attempt=attempt.num, **send)
                    except VCenterUnreachable as exc:
                        reason = str(exc)
                        raise
                    if response.status in RETRY_STATUSES:
                        reason = f"HTTP {response.status}"
                        raise _RetryableAnswer(response)  # noqa: TRY301
                    return response
        except _RetryableAnswer as exhausted:
            return exhausted.response
        raise AssertionError("stamina ended without an attempt")  # pragma: no cover

    async def _send_once(
        self,
        *,
        method: str,
        url: yarl.URL,
        path: str,
        operation: str,
        json_body: Any,
        headers: Mapping[str, str] | None,
        expected: frozenset[int],
        attempt: int,
    ) -> Response:
        if self._http is None:
            raise RuntimeError("VCenterClient used outside 'async with'")
        if self._pacer is not None:
            await self._pacer.wait_turn()
        async with self._limiter:
            self._requests += 1
            started = anyio.current_time()
            status: int | None = None
            try:
                with anyio.fail_after(self._endpoint.request_timeout):
                    async with self._http.request(
                        method, url, json=json_body, headers=headers
                    ) as answer:
                        body = await answer.read()
                        response = Response(answer.status, answer.headers.get("Content-Type"), body)
                        status = response.status
            except TimeoutError as exc:
                self._errors += 1
                raise VCenterUnreachable(
                    self._endpoint.name,
                    f"{operation}: no answer within {self._endpoint.request_timeout:g}s "
                    "(request_timeout)",
                ) from exc
            except (aiohttp.ClientError, OSError) as exc:
                self._errors += 1
                raise self._translate(operation, exc) from exc
            finally:
                _log.debug(
                    "http_request",
                    vcenter=self._endpoint.name,
                    method=method,
                    path=path,
                    status=status,
                    duration_ms=round((anyio.current_time() - started) * 1000, 1),
                    attempt=attempt,
                )
        if response.status >= 400 and response.status not in expected:
            self._errors += 1
        return response

    def _translate(self, operation: str, exc: BaseException) -> VCenterUnreachable:
        name, host = self._endpoint.name, self._endpoint.host
        if isinstance(exc, aiohttp.ClientConnectorCertificateError):
            return TLSVerificationError(name, tls_failure_message(exc.certificate_error, host))
        if isinstance(exc, aiohttp.ClientSSLError | ssl.SSLError):
            cause = exc.os_error if isinstance(exc, aiohttp.ClientConnectorError) else exc
            return TLSVerificationError(name, tls_failure_message(cause, host))
        if isinstance(exc, aiohttp.ClientConnectorError):
            why = exc.os_error.strerror or exc.os_error.__class__.__name__
            return VCenterUnreachable(
                name, f"{operation}: cannot connect to {exc.host}:{exc.port} ({why})"
            )
        if isinstance(exc, aiohttp.ServerDisconnectedError):
            return VCenterUnreachable(name, f"{operation}: connection closed before the answer")
        if isinstance(exc, aiohttp.ClientPayloadError):
            return VCenterUnreachable(name, f"{operation}: answer cut off")
        return VCenterUnreachable(
            name, f"{operation}: connection failed ({exc.__class__.__name__})"
        )
