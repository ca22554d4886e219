"""URLs in a plan (vCenters, notification targets): what is wrong, never what they hold.

A vCenter URL and a webhook URL are both checked here so they follow one rule: https,
plain http only to a loopback address (the simulator, an SSH tunnel), no credentials, no
whitespace, a real port. A webhook URL is itself a secret (whoever has it can post), so
its messages never quote it; a vCenter URL is quoted only with its userinfo masked.
"""

from __future__ import annotations

import ipaddress
from urllib.parse import SplitResult, urlsplit

from fleetupgrade.redact_urls import mask_userinfo

__all__ = ["is_loopback", "url_problem"]


def is_loopback(host: str) -> bool:
    """127.0.0.0/8, ::1 or ``localhost``: the only hosts plain http may reach."""
    if host.lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def _split(url: str) -> tuple[SplitResult | None, str | None]:
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError as exc:
        return None, f"not a valid URL: {exc}"
    if port == 0:
        return None, "not a valid URL: port 0 cannot be connected to"
    return parts, None


def url_problem(url: str, *, allow_query: bool = False, quote: bool = False) -> str | None:
    """What is wrong with a URL (None: nothing).

    The text quotes the URL only with ``quote`` (a vCenter URL, userinfo masked); a
    webhook URL is never quoted.
    """
    if any(ch.isspace() or not ch.isprintable() for ch in url):
        return "a URL must not contain spaces or control characters (percent-encode them)"
    parts, problem = _split(url)
    if parts is None:
        return problem
    if "@" in parts.netloc:
        return (
            "a URL must not carry credentials (user@ or user:password@): "
            "secrets never live in a plan"
        )
    if parts.scheme.lower() not in ("https", "http") or not parts.hostname:
        shown = mask_userinfo(repr(url)) if quote else "expected https://host[:port][/path]"
        return f"not an https URL: {shown}"
    if not allow_query and (parts.query or parts.fragment):
        return "no query or fragment: the client appends /api/… to the URL"
    if parts.fragment:
        return "no fragment: it is never sent to the server"
    if parts.scheme.lower() == "http" and not is_loopback(parts.hostname):
        return "plain http is allowed only to a loopback address: use https"
    return None
