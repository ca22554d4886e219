r"""Credentials inside URL-like text, masked before any message shows it.

An operator who pastes ``https://admin:hunter2@vc`` into a plan (in ``url``, or by mistake
in any other field) must not find the password in a terminal, a CI log or a JSON report.
Every message built from plan text goes through :func:`mask_userinfo`. It is deliberately
generous: it masks userinfo after any ``scheme:`` followed by slashes *or backslashes*
(``https:/…``, ``https:\\…``), and even after a bare ``scheme:`` (``https:user:pw@host``),
because what a typo looks like cannot be known in advance.
"""

from __future__ import annotations

import re

__all__ = ["mask_userinfo"]

# scheme ":" then any slashes/backslashes, then userinfo up to the LAST "@" of the
# authority (a password may contain "@"); the authority ends at / \ whitespace ? #.
_USERINFO = re.compile(
    r"(?P<head>[A-Za-z][A-Za-z0-9+.\-]*:[/\\]*)(?P<userinfo>[^/\\\s?#@]*(?:@[^/\\\s?#@]*)*)@"
)


def mask_userinfo(text: str) -> str:
    """``text`` with the userinfo of every URL-like part replaced by ``***``."""
    return _USERINFO.sub(lambda m: f"{m['head']}***@", text)
