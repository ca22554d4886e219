"""The per-plan lock: who holds it, a readable refusal, waiting for it, owner-only file."""

from __future__ import annotations

import re
import socket
import threading
import time
from pathlib import Path

import pytest

from fleetupgrade.errors import LockHeld
from fleetupgrade.journal.lock import Holder, PlanLock, lock_holder, lock_path
from tests.journal.builders import LockHolderProcess

RUN_ID = "20261205T220001Z-q4-3f9a"


def test_no_lock_file_means_no_holder_and_creates_nothing(tmp_path: Path) -> None:
    """Probing a plan nobody ever locked answers None and leaves the runs dir untouched."""
    assert lock_holder(tmp_path, "q4") is None
    assert list(tmp_path.iterdir()) == []


def test_holder_of_another_process_until_it_is_killed(tmp_path: Path) -> None:
    """The probe names the holding process and its run; after kill -9 nobody holds it."""
    holder = LockHolderProcess(tmp_path, "q4", RUN_ID)
    try:
        found = lock_holder(tmp_path, "q4")
        assert found is not None
        assert (found.pid, found.run_id, found.host) == (holder.pid, RUN_ID, socket.gethostname())
        assert lock_holder(tmp_path, "q4") == found  # probing does not disturb the holder
    finally:
        holder.kill()
    assert lock_holder(tmp_path, "q4") is None


def test_refusal_is_a_sentence_naming_the_holder(tmp_path: Path) -> None:
    """A second acquire fails with a sentence (pid, host, since …mmmZ, run id), not JSON."""
    first = PlanLock(tmp_path, "q4")
    first.acquire(RUN_ID)
    try:
        with pytest.raises(LockHeld) as caught:
            PlanLock(tmp_path, "q4").acquire("20261205T230000Z-q4-beef")
    finally:
        first.release()
    message = str(caught.value)
    pattern = (
        r"^another run of plan q4 is in progress: held by pid \d+ on host \S+ "
        r"since \d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z \(run 20261205T220001Z-q4-3f9a\)$"
    )
    assert re.match(pattern, message), message
    assert "{" not in message


def test_acquire_waits_for_a_release_within_its_wait(tmp_path: Path) -> None:
    """``acquire(wait=…)`` polls until the holder releases, then takes the lock."""
    first = PlanLock(tmp_path, "q4")
    first.acquire(RUN_ID)
    releaser = threading.Timer(0.3, first.release)
    releaser.start()
    second = PlanLock(tmp_path, "q4")
    try:
        second.acquire("20261205T230000Z-q4-beef", wait=5)
        holder = lock_holder(tmp_path, "q4")
        assert holder is not None
        assert holder.run_id == "20261205T230000Z-q4-beef"
    finally:
        releaser.join()
        second.release()


def test_acquire_gives_up_after_its_wait(tmp_path: Path) -> None:
    """A lock held for longer than ``wait`` is refused after about ``wait`` seconds."""
    first = PlanLock(tmp_path, "q4")
    first.acquire(RUN_ID)
    started = time.monotonic()
    try:
        with pytest.raises(LockHeld):
            PlanLock(tmp_path, "q4").acquire("20261205T230000Z-q4-beef", wait=0.3)
    finally:
        first.release()
    assert 0.3 <= time.monotonic() - started < 2


def test_lock_file_is_owner_only_and_record_cleared_on_release(tmp_path: Path) -> None:
    """The lock file is 0600; a released lock has no holder and an empty record."""
    lock = PlanLock(tmp_path / "runs", "q4")
    lock.acquire(RUN_ID)
    path = lock_path(tmp_path / "runs", "q4")
    assert path.stat().st_mode & 0o777 == 0o600
    assert (tmp_path / "runs").stat().st_mode & 0o777 == 0o700
    lock.release()
    assert lock_holder(tmp_path / "runs", "q4") is None
    assert path.read_text(encoding="utf-8") == ""


def test_holder_description_without_a_record() -> None:
    """A holder that wrote no record yet is described, never shown as raw text."""
    assert Holder().describe() == "held by a process that has not written its holder record yet"
