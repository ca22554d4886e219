"""API sessions of one vCenter (docs/wire.md, Sessions): tokens, lifetimes and the per-user cap.

A session ends on delete, at its absolute expiry (``session_ttl`` after creation), or when
idle for ``session_idle_timeout``; both are simulated time and read from the vCenter's
current faults at every check, so changing them at run time applies to live sessions.
"""

from __future__ import annotations

import base64
import binascii
import secrets
from dataclasses import dataclass

from fleetupgrade.sim.clock import SimClock


@dataclass(slots=True)
class Session:
    """One live session: who owns it and when it was created and last used."""

    token: str
    username: str
    created_at: float
    last_accessed: float


@dataclass(frozen=True, slots=True)
class Lifetime:
    """How long sessions live, in simulated seconds (``None``: no limit)."""

    ttl: float | None
    idle: float | None

    def expired(self, session: Session, now: float) -> bool:
        """The session has reached its absolute or idle expiry."""
        if self.ttl is not None and now >= session.created_at + self.ttl:
            return True
        return self.idle is not None and now >= session.last_accessed + self.idle


class SessionStore:
    """The sessions of one vCenter; tokens are random secrets (never derived from the seed)."""

    def __init__(self, clock: SimClock) -> None:
        self._clock = clock
        self._sessions: dict[str, Session] = {}

    def count_for(self, username: str, lifetime: Lifetime) -> int:
        """Live sessions of one user (expired ones are dropped first)."""
        self.purge(lifetime)
        return sum(1 for s in self._sessions.values() if s.username == username)

    def create(self, username: str) -> Session:
        """Open a session for an authenticated user (the caller enforced the cap)."""
        now = self._clock.now()
        session = Session(secrets.token_hex(16), username, now, now)
        self._sessions[session.token] = session
        return session

    def lookup(self, token: str | None, lifetime: Lifetime) -> Session | None:
        """The live session for ``token``, refreshing its last access; ``None`` if none."""
        if not token:
            return None
        session = self._sessions.get(token)
        if session is None:
            return None
        now = self._clock.now()
        if lifetime.expired(session, now):
            del self._sessions[token]
            return None
        session.last_accessed = now
        return session

    def delete(self, token: str) -> None:
        """End a session (logout)."""
        self._sessions.pop(token, None)

    def purge(self, lifetime: Lifetime) -> int:
        """Drop expired sessions; returns how many are live."""
        now = self._clock.now()
        for token in [t for t, s in self._sessions.items() if lifetime.expired(s, now)]:
            del self._sessions[token]
        return len(self._sessions)


def parse_basic(authorization: str | None) -> tuple[str, str] | None:
    """``Basic base64(user:password)`` → ``(user, password)``; ``None`` if malformed."""
    scheme, _, encoded = (authorization or "").partition(" ")
    if scheme.lower() != "basic":
        return None
    try:
        decoded = base64.b64decode(encoded.strip(), validate=True).decode("utf-8")
    except (binascii.Error, UnicodeDecodeError):
        return None
    username, sep, password = decoded.partition(":")
    return (username, password) if sep else None


def display_user(username: str) -> str:
    r"""``administrator@vsphere.local`` → ``VSPHERE.LOCAL\Administrator`` (Session.Info)."""
    if "@" not in username:
        return username
    name, domain = username.rsplit("@", 1)
    return f"{domain.upper()}\\{name[:1].upper()}{name[1:]}"
