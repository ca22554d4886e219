"""Fixtures of the notification tests: a live HTTPS receiver, tiny delivery bounds."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from fleetupgrade.retry_policy import RetryPolicy
from tests.notify.receiver import Receiver, running_receiver

# Real retries, tiny waits: a whole retry sequence takes a few hundredths of a second.
FAST = RetryPolicy(
    attempts=4,
    attempt_timeout=2.0,
    total_timeout=5.0,
    wait_initial=0.01,
    wait_max=0.02,
    wait_jitter=0.01,
)


@pytest.fixture
async def receiver(tmp_path: Path) -> AsyncIterator[Receiver]:
    """A receiver listening on 127.0.0.1 over HTTPS, stopped after the test."""
    async with running_receiver(tmp_path) as running:
        yield running
