"""How to reach one vCenter: URL, credentials, TLS trust and request limits.

Why a frozen dataclass of its own: it is the one value the engine builds from a plan
and hands to :class:`~fleetupgrade.vcenter.client.VCenterClient`; it is validated when
built, so a bad URL or thumbprint fails before anything is sent, and its ``repr`` never
shows the password.
"""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit

from fleetupgrade.errors import UsernameError
from fleetupgrade.hosts import is_loopback_host
from fleetupgrade.vcenter.tls import parse_thumbprint

__all__ = ["ENGINE_CONNECTIONS", "VCenterEndpoint"]


def _is_control(char: str) -> bool:
    return unicodedata.category(char) == "Cc"


DEFAULT_BREAKER_COOLDOWN = 30.0
"""Seconds an open circuit breaker holds requests back."""
ENGINE_CONNECTIONS = 2
"""Connections (and concurrent requests) per vCenter the engine uses.

Requests are paced (20 a second by default) and a round's reads are one bulk call each,
so two connections keep a create going while a bulk read is in flight; every further
TLS connection costs a few hundred KiB of buffers, times hundreds of vCenters.
"""
DEFAULT_SETTLE_DELAY = 3.0
"""Seconds after a create before its outcome is read back from vCenter."""


@dataclass(frozen=True, slots=True)
class VCenterEndpoint:
    """One vCenter as the client sees it.

    ``url`` is the base URL (``https://vc.example``); the client appends ``/api/…``.
    ``http://`` is accepted for loopback hosts only (the simulator's ``--http`` mode),
    so credentials never cross a network in clear text. ``tls_thumbprint`` pins the
    certificate (``sha256:AB:CD:…``, see :mod:`fleetupgrade.vcenter.tls` for the trust
    rules). ``max_connections`` caps concurrent HTTP requests to this vCenter and sizes
    its connection pool (the engine passes :data:`ENGINE_CONNECTIONS`);
    ``max_requests_per_second`` paces them (token bucket, 0 = off); after
    ``breaker_threshold`` consecutive transient failures requests wait
    ``breaker_cooldown`` seconds (0 = no breaker); ``settle_delay`` is how long after a
    create whose answer was lost vCenter is re-read (a job takes a moment to show).

    A username holding ``:`` or a control character cannot travel in HTTP Basic
    authentication: it is refused here with :class:`~fleetupgrade.errors.UsernameError`
    (never sent, never shown: the message names the vCenter only).
    """

    name: str
    url: str
    username: str
    password: str = field(repr=False)
    ca_file: Path | None = None
    tls_thumbprint: str | None = None
    request_timeout: float = 60.0
    max_connections: int = ENGINE_CONNECTIONS
    max_requests_per_second: float = 20.0
    breaker_threshold: int = 5
    breaker_cooldown: float = DEFAULT_BREAKER_COOLDOWN
    settle_delay: float = DEFAULT_SETTLE_DELAY

    def __post_init__(self) -> None:
        """Reject what can never work, with a message naming the vCenter and the field."""
        parts = urlsplit(self.url)
        where = f"vCenter {self.name}"
        if parts.scheme not in ("https", "http") or not parts.hostname:
            raise ValueError(f"{where}: url must be https://host[:port], got {self.url!r}")
        if parts.scheme == "http" and not is_loopback_host(parts.hostname):
            raise ValueError(
                f"{where}: plain http:// is only allowed on loopback (the simulator); use https://"
            )
        if parts.query or parts.fragment or parts.username or parts.password:
            raise ValueError(f"{where}: url must not carry a query, fragment or credentials")
        if ":" in self.username or any(_is_control(char) for char in self.username):
            raise UsernameError(
                f"{where}: the username contains ':' or a control character, which HTTP "
                "Basic authentication cannot carry; check username / username_env"
            )
        if self.tls_thumbprint is not None:
            try:
                parse_thumbprint(self.tls_thumbprint)
            except ValueError as exc:
                raise ValueError(f"{where}: {exc}") from None
        if not self.request_timeout > 0:
            raise ValueError(f"{where}: request_timeout must be positive")
        if self.max_connections < 1:
            raise ValueError(f"{where}: max_connections must be at least 1")
        if not self.max_requests_per_second >= 0:
            raise ValueError(f"{where}: max_requests_per_second must be >= 0 (0 = no pacing)")
        if self.breaker_threshold < 0:
            raise ValueError(f"{where}: breaker_threshold must be >= 0 (0 = no breaker)")
        if not self.breaker_cooldown >= 0:
            raise ValueError(f"{where}: breaker_cooldown must be >= 0")
        if not self.settle_delay >= 0:
            raise ValueError(f"{where}: settle_delay must be >= 0")

    @property
    def uses_tls(self) -> bool:
        """True for ``https://`` URLs."""
        return urlsplit(self.url).scheme == "https"

    @property
    def host(self) -> str:
        """The host name of the URL (for messages)."""
        return urlsplit(self.url).hostname or ""

    @property
    def api_base(self) -> str:
        """The base URL without a trailing slash; operation paths start with ``/api``."""
        return self.url.rstrip("/")

    @property
    def thumbprint_digest(self) -> bytes | None:
        """The pinned SHA-256 digest, if any."""
        return None if self.tls_thumbprint is None else parse_thumbprint(self.tls_thumbprint)
