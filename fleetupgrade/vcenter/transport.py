"""HTTP requests to one vCenter: one attempt each, paced, guarded, bounded, counted.

Why: everything that is about *sending* (not about vCenter's API) lives here, so the
client reads like the wire contract. This module

* owns the one ``aiohttp.ClientSession`` of a vCenter: TLS per :mod:`.tls` (one SSL context
  per trust configuration, shared by every client), no cookies, a connection pool of
  ``max_connections`` (the engine uses two per vCenter, see :mod:`.endpoint`);
* caps concurrent requests (an anyio ``CapacityLimiter`` of ``max_connections``), paces
  request starts (:mod:`.pacer`, ``max_requests_per_second``) and stops sending to a
  failing vCenter for a while (:mod:`.breaker`);
* bounds each attempt by ``request_timeout`` (connect + send + whole answer);
* translates aiohttp/ssl/OS errors at the edge into
  :class:`~fleetupgrade.errors.VCenterUnreachable` / ``TLSVerificationError``, and tells
  failures before the request left (:func:`request_not_sent`) from the others;
* reads vCenter's clock from each answer's ``Date`` header (:mod:`.vclock`);
* counts requests, retries, errors, renewals, pacer waits and breaker openings for the
  report, and logs ``http_request`` (debug) for the first request to the vCenter and then
  only for requests that failed (no answer, 429, 5xx) or were slow (at least
  :data:`SLOW_REQUEST_SECONDS`): one event per request was a large share of a fleet run's
  CPU, and the per-vCenter counters are in the report. It never logs headers or bodies:
  they carry credentials and the session id.

It never repeats a request: retrying is the caller's decision (:mod:`.retries`), because
only the caller knows whether repeating is safe.
"""

from __future__ import annotations

import asyncio.sslproto
import ssl
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any
from urllib.parse import quote, urlencode

import aiohttp
import anyio
import structlog
import yarl

from fleetupgrade.errors import TLSVerificationError, VCenterClosed, VCenterUnreachable
from fleetupgrade.vcenter.breaker import CircuitBreaker, CircuitOpen, Result
from fleetupgrade.vcenter.endpoint import VCenterEndpoint
from fleetupgrade.vcenter.pacer import TokenBucket
from fleetupgrade.vcenter.tls import shared_ssl_context, tls_failure_message
from fleetupgrade.vcenter.vclock import VCenterClock

__all__ = [
    "RETRY_STATUSES",
    "Call",
    "Counters",
    "Response",
    "Transport",
    "encode_path",
    "request_not_sent",
]

_log = structlog.get_logger()

RETRY_STATUSES = frozenset({502, 503, 504})
PACER_BURST_SECONDS = 0.25
"""A quarter second's worth of requests may leave at once (a cycle's creates together);
the average stays at ``max_requests_per_second``."""
POOL_KEEPALIVE_SECONDS = 5.0  # an idle connection closes after this long
SLOW_REQUEST_SECONDS = 1.0  # a request at least this long is logged
SSL_READ_BUFFER = 64 * 1024
"""Bytes of asyncio's read buffer per TLS connection (its default: 256 KiB).

asyncio allocates this buffer for every TLS connection whatever the answer sizes, and a
fleet holds a connection or two to each of hundreds of vCenters: at 256 KiB the buffers
alone were the largest share of a 500-vCenter run's memory. aiohttp offers no setting for
it (its ``read_bufsize`` sizes its own stream buffer), so the class default is lowered once
for the process; an answer larger than the buffer is simply read in several chunks.
"""
if getattr(asyncio.sslproto.SSLProtocol, "max_size", 0) > SSL_READ_BUFFER:
    asyncio.sslproto.SSLProtocol.max_size = SSL_READ_BUFFER


@dataclass(frozen=True, slots=True)
class Call:
    """One vCenter API call as the client means it: what to send and what to call it.

    ``operation`` names the call in errors and logs; ``expected`` lists error statuses that
    are a normal answer for it (not counted as errors).
    """

    method: str
    path: str
    operation: str
    query: Sequence[tuple[str, str]] = ()
    json_body: Any = None
    expected: frozenset[int] = frozenset()


@dataclass(frozen=True, slots=True)
class Counters:
    """Per-vCenter figures for the report.

    ``requests``: HTTP attempts sent; ``retries``: attempts that repeated a failed one;
    ``errors``: attempts that got no answer or an error answer the operation did not
    expect; ``renewals``: logins after the session expired; ``paced_waits``: requests
    that waited for the pacer; ``breaker_opens``: times the circuit breaker opened.
    """

    requests: int = 0
    retries: int = 0
    errors: int = 0
    renewals: int = 0
    paced_waits: int = 0
    breaker_opens: int = 0


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


def request_not_sent(error: VCenterUnreachable) -> bool:
    """Tell whether the failure happened before the request could reach vCenter."""
    return isinstance(error.__cause__, aiohttp.ClientConnectorError | CircuitOpen)


def encode_path(*segments: str) -> str:
    """Build ``/api/...`` from segments, each percent-encoded (ids may hold ``/ ? # %``)."""
    return "/" + "/".join(quote(segment, safe="") for segment in segments)


class Transport:
    """Sends requests to one vCenter; see the module docstring."""

    def __init__(self, endpoint: VCenterEndpoint) -> None:
        self._endpoint = endpoint
        self._http: aiohttp.ClientSession | None = None
        self._limiter = anyio.CapacityLimiter(endpoint.max_connections)
        rate = endpoint.max_requests_per_second
        self._pacer = TokenBucket(rate, burst=max(1.0, rate * PACER_BURST_SECONDS))
        self._breaker = CircuitBreaker(
            endpoint.name,
            threshold=endpoint.breaker_threshold,
            cooldown=endpoint.breaker_cooldown,
        )
        self.clock = VCenterClock()
        self._requests = self._retries = self._errors = self._renewals = 0

    @property
    def counters(self) -> Counters:
        """A snapshot of the counters."""
        return Counters(
            self._requests,
            self._retries,
            self._errors,
            self._renewals,
            self._pacer.waits,
            self._breaker.opens,
        )

    @property
    def breaker(self) -> CircuitBreaker:
        """The circuit breaker of this vCenter."""
        return self._breaker

    def note_renewal(self) -> None:
        """Count a re-login."""
        self._renewals += 1

    def note_retry(self) -> None:
        """Count an attempt that repeats a failed one."""
        self._retries += 1

    async def open(self) -> None:
        """Create the HTTP session; needs a running event loop."""
        context: ssl.SSLContext | bool = False
        if self._endpoint.uses_tls:
            context = shared_ssl_context(self._endpoint.ca_file, self._endpoint.thumbprint_digest)
        # Each TLS connection holds a few hundred KiB of buffers and a fleet has hundreds
        # of vCenters: idle connections close soon, so a vCenter between rounds or waves
        # keeps none.
        limit = self._endpoint.max_connections
        connector = aiohttp.TCPConnector(
            ssl=context,
            limit=limit,
            limit_per_host=limit,
            keepalive_timeout=POOL_KEEPALIVE_SECONDS,
        )
        self._http = aiohttp.ClientSession(
            connector=connector,
            cookie_jar=aiohttp.DummyCookieJar(),  # the session id travels in a header only
            timeout=aiohttp.ClientTimeout(total=None),  # anyio bounds each attempt
            headers={"Accept": "application/json"},
            trust_env=False,
        )

    async def drop_connections(self) -> None:
        """Close every pooled connection now; later requests use a fresh pool.

        For a vCenter the run will not need for a while (its wave is over): its idle TLS
        connections would otherwise hold their buffers until the keep-alive expires, while
        the next wave's vCenters open theirs. The fresh pool is in place before the old one
        closes: a read caught in the old one fails as unreachable and is retried.
        """
        old = self._http
        if old is not None:
            await self.open()
            await old.close()

    async def aclose(self) -> None:
        """Close the HTTP session."""
        if self._http is not None:
            http, self._http = self._http, None
            await http.close()

    async def request(
        self,
        call: Call,
        *,
        headers: Mapping[str, str] | None = None,
        time_limit: float | None = None,
    ) -> Response:
        """Send one request once; return the answer whatever its status.

        Raises :class:`VCenterUnreachable` when no answer came (``request_not_sent`` tells
        whether it left). ``expected`` lists error statuses that are a normal answer for
        this operation (not counted as errors); ``time_limit`` replaces ``request_timeout``.
        """
        method, path, operation = call.method, call.path, call.operation
        self._open_session(operation)
        query, json_body, expected = call.query, call.json_body, call.expected
        url = self._endpoint.api_base + path
        if query:
            url += "?" + urlencode(list(query), quote_via=quote, safe="")
        try:
            probe = await self._breaker.wait_turn()
        except CircuitOpen as exc:
            self._errors += 1
            raise VCenterUnreachable(self._endpoint.name, f"{operation}: {exc}") from exc
        result, reason = Result.NEUTRAL, ""
        try:
            await self._pacer.wait_for_token()
            response = await self._send(
                self._open_session(operation), method, yarl.URL(url, encoded=True), path,
                operation, json_body, headers, time_limit,
            )  # fmt: skip
        except TLSVerificationError:
            raise
        except VCenterUnreachable as exc:
            result, reason = Result.TRANSIENT_FAILURE, str(exc)
            raise
        else:
            if response.status in RETRY_STATUSES:
                result, reason = Result.TRANSIENT_FAILURE, f"{operation}: HTTP {response.status}"
            else:
                result = Result.SUCCESS
        finally:
            self._breaker.record(result, probe=probe, reason=reason)
        if response.status >= 400 and response.status not in expected:
            self._errors += 1
        return response

    def _open_session(self, operation: str) -> aiohttp.ClientSession:
        """The HTTP session to send on; the client was closed (or never opened) if none."""
        if self._http is None:
            raise VCenterClosed(self._endpoint.name, f"{operation}: its client is closed")
        return self._http

    async def _send(
        self,
        http: aiohttp.ClientSession,
        method: str,
        url: yarl.URL,
        path: str,
        operation: str,
        json_body: Any,
        headers: Mapping[str, str] | None,
        time_limit: float | None,
    ) -> Response:
        limit = self._endpoint.request_timeout if time_limit is None else time_limit
        async with self._limiter:
            self._requests += 1
            started = anyio.current_time()
            status: int | None = None
            try:
                with anyio.fail_after(limit):
                    async with http.request(
                        method, url, json=json_body, headers=headers, allow_redirects=False
                    ) as answer:
                        body = await answer.read()
                        self.clock.observe(answer.headers.get("Date"), datetime.now(UTC))
                        status = answer.status
                        return Response(status, answer.headers.get("Content-Type"), body)
            except TimeoutError as exc:
                self._errors += 1
                raise VCenterUnreachable(
                    self._endpoint.name,
                    f"{operation}: no answer within {limit:g}s (request_timeout)",
                ) from exc
            except (aiohttp.ClientError, OSError) as exc:
                self._errors += 1
                raise self._translate(operation, exc) from exc
            except RuntimeError as exc:
                if not http.closed:
                    raise
                # The pool was closed under the request (its wave ended): not vCenter's
                # doing, and a retry goes out on the fresh pool, if the run kept one.
                raise VCenterUnreachable(
                    self._endpoint.name, f"{operation}: its connections were closed meanwhile"
                ) from exc
            finally:
                took = anyio.current_time() - started
                if (
                    status is None
                    or status == 429
                    or status >= 500
                    or took >= SLOW_REQUEST_SECONDS
                    or self._requests == 1
                ):
                    _log.debug(
                        "http_request",
                        vcenter=self._endpoint.name,
                        method=method,
                        path=path,
                        status=status,
                        duration_ms=round(took * 1000, 1),
                    )

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
