"""Suite-wide configuration: anyio on asyncio (aiohttp needs it), no real backoff sleeps."""

from __future__ import annotations

import os

import pytest

# The machine sets CA bundle variables for requests; tests bring their own CAs.
for _var in ("REQUESTS_CA_BUNDLE", "CURL_CA_BUNDLE"):
    os.environ.pop(_var, None)


@pytest.fixture
def anyio_backend() -> str:
    """aiohttp runs on asyncio only."""
    return "asyncio"
