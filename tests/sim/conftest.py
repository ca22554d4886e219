"""Fixtures of the simulator tests: serve scenarios over real HTTPS on 127.0.0.1."""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import AsyncExitStack

import pytest

from tests.sim.helpers import Served, serve

Launch = Callable[..., Awaitable[Served]]


@pytest.fixture
async def launch() -> AsyncIterator[Launch]:
    """Start simulators for one test (logged in on ``vc`` unless login=False); stopped after."""
    async with AsyncExitStack() as stack:

        async def make(toml: str, *, login: bool = True, **options: object) -> Served:
            served = await stack.enter_async_context(serve(toml, **options))
            if login and "vc" in served.sim.vcenter_urls:
                await served.vc().login()
            return served

        yield make
