"""The one vCenter API session of a client: login once, renew once, logout on close.

Why: vCenter caps sessions per user, so every concurrent caller of a client shares one
session. The first caller logs in under an anyio lock (twenty callers at once log in
once). A login answered 503 (vCenter's session cap reached) or lost is retried like a
read; if it never succeeds the error is :class:`~fleetupgrade.errors.VCenterUnreachable`.
A 401 on a call renews the session once for everyone who saw the same expired token
(``session_renewed``). Once vCenter has refused the credentials they are not tried
again: repeating a wrong password would lock the account. Logout on close is bounded by
its own short deadline (``LOGOUT_TIMEOUT``, not ``request_timeout``) so a client closed
while vCenter is slow still frees its session. The session id is a secret: it lives only
in this object and in request headers, never in logs, messages or reprs.
"""

from __future__ import annotations

import base64
from dataclasses import replace

import anyio
import structlog

from fleetupgrade.errors import AuthenticationError, VCenterError
from fleetupgrade.vcenter.answers import parse_string, raise_for_status
from fleetupgrade.vcenter.endpoint import VCenterEndpoint
from fleetupgrade.vcenter.retries import RetryPolicy, check_transient, retry_safe
from fleetupgrade.vcenter.transport import Call, Response, Transport

__all__ = ["LOGOUT_TIMEOUT", "SESSION_HEADER", "ApiSession"]

_log = structlog.get_logger()

SESSION_HEADER = "vmware-api-session-id"
LOGOUT_TIMEOUT = 5.0


def _basic_authorization(endpoint: VCenterEndpoint) -> str:
    credentials = f"{endpoint.username}:{endpoint.password}".encode()
    return "Basic " + base64.b64encode(credentials).decode("ascii")


class ApiSession:
    """Holds the session id of one vCenter and sends authenticated requests with it."""

    def __init__(
        self, endpoint: VCenterEndpoint, transport: Transport, policy: RetryPolicy
    ) -> None:
        self._endpoint = endpoint
        self._transport = transport
        self._policy = policy
        self._lock = anyio.Lock()
        self._token: str | None = None
        self._credentials_refused = False
        self._log = _log.bind(vcenter=endpoint.name)

    def __repr__(self) -> str:
        """Never the session id."""
        state = "logged in" if self._token is not None else "not logged in"
        return f"<ApiSession {self._endpoint.name} {state}>"

    @property
    def logged_in(self) -> bool:
        """True while a session id is held."""
        return self._token is not None

    async def token(self) -> str:
        """Return the session id, logging in first if there is none."""
        if self._token is not None:
            return self._token
        async with self._lock:
            if self._token is None:
                self._token = await self._login()
            return self._token

    async def renew(self, stale: str, *, retrying: bool = True) -> None:
        """Log in again after ``stale`` was refused, unless another caller already did.

        ``retrying=False`` makes one login attempt (the caller retries the whole call).
        """
        async with self._lock:
            if self._token is not None and self._token != stale:
                return
            self._token = None
            self._token = await (self._login() if retrying else self._login_once())
            self._transport.note_renewal()
            self._log.info("session_renewed")

    async def _login(self) -> str:
        # A lost login answer costs at most an idle session; vCenter's 503 for its
        # session cap is transient: both are retried, then VCenterUnreachable.
        return await retry_safe(
            self._transport,
            self._policy,
            self._login_once,
            vcenter=self._endpoint.name,
            method="POST",
            route="/api/session",
        )

    async def _login_once(self) -> str:
        operation = "login"
        if self._credentials_refused:
            raise self._credentials_error()
        response = await self._transport.request(
            Call("POST", "/api/session", operation, expected=frozenset({401})),
            headers={
                "Authorization": _basic_authorization(self._endpoint),
                "vmware-use-header-authn": "true",
            },
        )
        if response.status == 401:
            self._credentials_refused = True
            raise self._credentials_error()
        check_transient(self._endpoint.name, operation, response)
        raise_for_status(self._endpoint.name, response, operation)
        token = parse_string(self._endpoint.name, response, operation, "session id")
        self._log.debug("session_created")
        return token

    def _credentials_error(self) -> AuthenticationError:
        name = self._endpoint.name
        return AuthenticationError(
            name,
            f"login refused for user {self._endpoint.username!r}: "
            f"check username/password for vCenter {name}",
        )

    async def call(self, call: Call) -> Response:
        """Send an authenticated request once; after a 401, renew the session and send again.

        Only for requests that are safe to repeat (the caller retries transient failures).
        """
        token = await self.token()
        for attempt in (1, 2):
            renewable = replace(call, expected=call.expected | {401}) if attempt == 1 else call
            response = await self._transport.request(renewable, headers={SESSION_HEADER: token})
            if response.status != 401 or attempt == 2:
                break
            await self.renew(token, retrying=False)
            token = await self.token()
        return response

    async def close(self) -> None:
        """Delete the session, best effort, within LOGOUT_TIMEOUT; the caller shields."""
        token, self._token = self._token, None
        if token is None:
            return
        with anyio.move_on_after(LOGOUT_TIMEOUT) as scope:
            try:
                await self._transport.request(
                    Call("DELETE", "/api/session", "logout"),
                    headers={SESSION_HEADER: token},
                    time_limit=LOGOUT_TIMEOUT,
                )
            except VCenterError as exc:
                self._log.debug("logout_failed", reason=str(exc))
        if scope.cancelled_caught:
            self._log.debug("logout_failed", reason=f"no answer within {LOGOUT_TIMEOUT:g}s")
