"""Whether a host name is this machine: loopback is where plain ``http`` may be used.

Why here: both the vCenter endpoint checks and the webhook targets allow plain ``http``
only to loopback (a test server, a local proxy), and must agree on what loopback is.
"""

from __future__ import annotations

import ipaddress

__all__ = ["is_loopback_host"]


def is_loopback_host(host: str) -> bool:
    """True for ``localhost``, ``127.0.0.0/8`` and ``::1`` (brackets and case ignored)."""
    name = host.strip("[]").lower()
    if name == "localhost":
        return True
    try:
        return ipaddress.ip_address(name).is_loopback
    except ValueError:
        return False
