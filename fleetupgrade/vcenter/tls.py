"""TLS for vCenter connections: always verified, optionally pinned to one certificate.

Why: vCenters often present certificates from their own CA (VMCA). Operators either add
that CA (``ca_file``) or pin the certificate's SHA-256 thumbprint (``tls_thumbprint``, the
form vSphere shows: ``sha256:AB:CD:…``). There is deliberately no way to turn
verification off.

Trust rules (the operator-facing summary belongs in the README):

* no thumbprint: the chain must lead to a system CA or one in ``ca_file``, and the
  certificate must match the URL's host name;
* thumbprint and ``ca_file``: both: the chain and host name *and* the exact certificate;
* thumbprint only: the exact certificate is the trust anchor (as in ``govc``); chain and
  host name are not consulted, because only that one certificate is accepted.

The pin is checked on every new connection right after the handshake, before a single
request byte (such as the login's credentials) is sent: the check runs inside the
handshake of a custom :class:`ssl.SSLObject`, which asyncio uses for every connection.
"""

from __future__ import annotations

import hashlib
import re
import ssl
from pathlib import Path

__all__ = [
    "ThumbprintMismatch",
    "format_thumbprint",
    "make_ssl_context",
    "parse_thumbprint",
    "shared_ssl_context",
    "tls_failure_message",
]

_THUMBPRINT = re.compile(r"sha256:((?:[0-9a-f]{2}:){31}[0-9a-f]{2})", re.IGNORECASE)

# OpenSSL X509_V_ERR_* codes we explain specifically.
_UNTRUSTED_CODES = frozenset({2, 18, 19, 20, 21, 27})
_EXPIRED_CODES = frozenset({9, 10})
_HOSTNAME_CODES = frozenset({62, 64})  # host name, IP address mismatch


def parse_thumbprint(text: str) -> bytes:
    """``sha256:AB:CD:…`` (32 colon-separated hex bytes, any case) → the 32 digest bytes."""
    match = _THUMBPRINT.fullmatch(text.strip())
    if match is None:
        raise ValueError(
            "tls_thumbprint must look like 'sha256:AB:CD:…' "
            "(the SHA-256 of the certificate: 32 hex bytes separated by colons)"
        )
    return bytes.fromhex(match.group(1).replace(":", ""))


def format_thumbprint(digest: bytes) -> str:
    """32 digest bytes → ``sha256:AB:CD:…`` (upper case, as vSphere shows it)."""
    return "sha256:" + ":".join(f"{byte:02X}" for byte in digest)


class ThumbprintMismatch(ssl.SSLCertVerificationError):
    """The server's certificate is not the pinned one."""

    def __init__(self, expected: bytes, actual: bytes) -> None:
        self.expected = format_thumbprint(expected)
        self.actual = format_thumbprint(actual)
        super().__init__(f"certificate thumbprint {self.actual} is not {self.expected}")


class _PinnedSSLObject(ssl.SSLObject):
    """An SSLObject that checks the pinned thumbprint when its handshake completes."""

    pinned: bytes = b""

    def do_handshake(self) -> None:
        super().do_handshake()  # raises SSLWantReadError until the handshake is done
        der = self.getpeercert(binary_form=True)
        actual = hashlib.sha256(der or b"").digest()
        if actual != self.pinned:
            raise ThumbprintMismatch(self.pinned, actual)


def make_ssl_context(ca_file: Path | None, thumbprint: bytes | None) -> ssl.SSLContext:
    """Build an SSL context following the trust rules of this module's docstring."""
    context = ssl.create_default_context(ssl.Purpose.SERVER_AUTH)
    if ca_file is not None:
        context.load_verify_locations(cafile=str(ca_file))
    if thumbprint is not None:
        digest = thumbprint

        class _Pinned(_PinnedSSLObject):
            pinned = digest

        context.sslobject_class = _Pinned
        if ca_file is None:
            # The pin is the trust anchor; the exact certificate is required instead.
            context.check_hostname = False
            context.verify_mode = ssl.CERT_NONE
    return context


_CONTEXTS: dict[tuple[str | None, bytes | None], ssl.SSLContext] = {}
_CONTEXTS_MAX = 64


def shared_ssl_context(ca_file: Path | None, thumbprint: bytes | None) -> ssl.SSLContext:
    """The SSL context of one trust configuration, built once and shared by every client.

    Why: building a context loads the system CA store (tens of milliseconds and a few MB);
    a fleet of hundreds of vCenters usually has a handful of distinct trust settings. The
    cache is keyed by the CA file's resolved path and the pinned digest, and bounded (the
    oldest entry goes first) so a pathological plan cannot grow it without limit.
    """
    key = (str(ca_file.resolve()) if ca_file is not None else None, thumbprint)
    context = _CONTEXTS.get(key)
    if context is None:
        context = make_ssl_context(ca_file, thumbprint)
        if len(_CONTEXTS) >= _CONTEXTS_MAX:
            del _CONTEXTS[next(iter(_CONTEXTS))]
        _CONTEXTS[key] = context
    return context


def tls_failure_message(error: BaseException, host: str) -> str:
    """Explain a TLS failure and say what to configure (never includes secrets)."""
    if isinstance(error, ThumbprintMismatch):
        return (
            f"TLS certificate thumbprint mismatch: expected {error.expected}, "
            f"the server presented {error.actual}; if the certificate was replaced on "
            "purpose, update tls_thumbprint (otherwise someone may be intercepting)"
        )
    if isinstance(error, ssl.SSLCertVerificationError):
        code = error.verify_code
        reason = error.verify_message or str(error)
        if code in _HOSTNAME_CODES:
            return (
                f"TLS certificate does not match the host name {host!r} ({reason}); use the "
                "host name the certificate was issued for in url, or pin it with tls_thumbprint"
            )
        if code in _EXPIRED_CODES:
            return f"TLS certificate is not valid now ({reason}); renew the vCenter certificate"
        if code in _UNTRUSTED_CODES:
            return (
                f"TLS certificate is not issued by a trusted CA ({reason}); set ca_file to "
                "the vCenter's CA bundle (e.g. its VMCA root) or tls_thumbprint to the "
                "certificate's SHA-256 thumbprint"
            )
        return f"TLS certificate verification failed ({reason}); check ca_file / tls_thumbprint"
    return f"TLS handshake failed ({error}); check that the url is the vCenter's HTTPS endpoint"
