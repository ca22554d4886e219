"""Secrets never reach a log: masking by key first, by registered text as a last resort.

Passwords, session ids, Authorization headers and webhook URLs must not appear in any log,
report or error message (docs/design.md, "Logs"). The rule that does the work is *by key*:
a value logged under a sensitive key (``password``, ``token``, ``authorization``,
``session_id``, ``vmware-api-session-id``, ``cookie``, ``webhook_url`` …) is replaced by
``***`` whatever it is, at any depth. Inline credentials in free text
(``Authorization: Basic …``, ``password=…``) are masked too.

The last resort is text masking of :func:`register_secret`'s values wherever they appear.
It only applies to secrets of at least :data:`MIN_SECRET_LENGTH` characters: a short
password such as ``vmware`` or ``x`` would otherwise mangle task ids
(``…:com.vmware.vcenter…``) and host names, and masking must never alter other text.
A short secret is still protected by the key rule, which is how secrets are logged (never
in free text).
"""

from __future__ import annotations

import functools
import re
import threading
from collections.abc import Mapping
from datetime import date, datetime
from typing import Any

from fleetupgrade.timefmt import format_instant

__all__ = [
    "MASK",
    "MIN_SECRET_LENGTH",
    "is_sensitive_key",
    "redact",
    "redact_text",
    "register_secret",
    "register_secret_url",
]

MASK = "***"
MIN_SECRET_LENGTH = 8
_SENSITIVE_PARTS = (
    "password",
    "passwd",
    "secret",
    "token",
    "authorization",
    "cookie",
    "api_key",
    "webhook",
)
_SENSITIVE_KEYS = frozenset(
    {"session", "session_id", "sessionid", "vmware_api_session_id", "credentials", "pwd"}
)
# "Authorization: Basic abc", "vmware-api-session-id=abc", "password: abc" …
_INLINE_SECRET = re.compile(
    r"(?i)\b(authorization|proxy-authorization|vmware-api-session-id|session[_-]?id|"
    r"password|passwd|secret|token|cookie)(\"?'?\s*[:=]\s*\"?'?)"
    r"((?:basic|bearer|negotiate)\s+)?([^\s\"',;&}\]]+)"
)
# A bare "Bearer abc123…" / "Basic YWRt…": only a credential-looking token (it has a digit),
# so prose such as "Basic connectivity check" is left alone.
_SCHEME_SECRET = re.compile(r"\b(Basic|Bearer)\s+(?=[A-Za-z._~+/=-]*\d)([A-Za-z0-9._~+/=-]{8,})")


def is_sensitive_key(key: object) -> bool:
    """Whether a value logged under ``key`` is a secret (masked whatever it is)."""
    return _is_sensitive_name(str(key))


@functools.lru_cache(maxsize=4096)  # log keys are a small, fixed vocabulary
def _is_sensitive_name(key: str) -> bool:
    name = key.lower().replace("-", "_")
    return name in _SENSITIVE_KEYS or any(part in name for part in _SENSITIVE_PARTS)


class _Secrets:
    """Registered secret strings, masked longest first (thread safe)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._values: set[str] = set()
        self.pattern: re.Pattern[str] | None = None

    def add(self, value: str) -> None:
        with self._lock:
            if len(value) < MIN_SECRET_LENGTH or value in self._values:
                return
            self._values.add(value)
            ordered = sorted(self._values, key=lambda v: (-len(v), v))
            self.pattern = re.compile("|".join(re.escape(v) for v in ordered))
            redact_text.cache_clear()  # a text masked before may hold the new secret


_SECRETS = _Secrets()


def register_secret(value: str) -> None:
    """Mask ``value`` (a password, a session token) wherever it would appear in log text.

    Values shorter than :data:`MIN_SECRET_LENGTH` are ignored: masking them would alter
    ordinary text, and the key rule already keeps them out of logs.
    """
    _SECRETS.add(value)


def register_secret_url(url: str) -> None:
    """Mask a webhook URL's full text (its path usually *is* the credential)."""
    _SECRETS.add(url.strip())


@functools.lru_cache(maxsize=8192)  # run ids, names and labels recur in every event
def redact_text(text: str) -> str:
    """``text`` with registered secrets and inline credentials masked."""
    pattern = _SECRETS.pattern
    if pattern is not None:
        text = pattern.sub(MASK, text)
    if ":" in text or "=" in text:  # the inline form needs one of them
        text = _INLINE_SECRET.sub(lambda m: f"{m[1]}{m[2]}{m[3] or ''}{MASK}", text)
    if "Basic" in text or "Bearer" in text:
        text = _SCHEME_SECRET.sub(lambda m: f"{m[1]} {MASK}", text)
    return text


def redact(value: Any) -> Any:
    """A copy of ``value`` safe to log: sensitive keys masked, strings scrubbed.

    Values that are not JSON-like become their (scrubbed) text, so an object whose
    ``repr`` shows a secret cannot leak it.
    """
    if value is None or isinstance(value, bool | int | float):
        return value
    if isinstance(value, str):
        return redact_text(value)
    if isinstance(value, Mapping):
        return {
            str(k): MASK if is_sensitive_key(k) and v is not None else redact(v)
            for k, v in value.items()
        }
    if isinstance(value, list | tuple | set | frozenset):
        return [redact(item) for item in value]
    if isinstance(value, bytes):
        return redact_text(value.decode("utf-8", "replace"))
    if isinstance(value, datetime):
        return format_instant(value) if value.tzinfo else value.isoformat()
    if isinstance(value, date):
        return value.isoformat()
    return redact_text(str(value))
