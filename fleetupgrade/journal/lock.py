"""The per-plan lock: one run of a plan at a time, and a way to ask who holds it.

The lock is an ``flock`` on ``RUNS_DIR/.<plan>.lock``. The kernel releases it when the
holder dies, so a crashed run never leaves a stale lock behind; the file's text (the
*holder record*: pid, host, run id, since when) is only a description, never the proof:
a record left by a killed run is ignored because nobody holds the flock any more.

``status`` uses :func:`lock_holder` to tell a running run (its process holds the lock)
from an interrupted one (nobody does). The probe takes the lock, shared, for an instant on
its own open file description and releases it at once; :meth:`PlanLock.acquire` retries
once after a short grace so that such a probe never makes a starting run give up.
"""

from __future__ import annotations

import fcntl
import json
import os
import socket
import time
from dataclasses import dataclass
from pathlib import Path

from fleetupgrade.errors import LockHeld, RunError
from fleetupgrade.timefmt import format_instant, utcnow

__all__ = ["Holder", "PlanLock", "lock_holder", "lock_path"]

POLL_INTERVAL = 0.2  # seconds between attempts while waiting for a held lock
PROBE_GRACE = 0.05  # a status probe holds the lock for microseconds; retry once after this


def lock_path(runs_dir: Path, plan_name: str) -> Path:
    """Where the lock of one plan lives inside a runs directory."""
    return runs_dir / f".{plan_name}.lock"


@dataclass(frozen=True, slots=True)
class Holder:
    """Who holds a plan's lock, as its holder record says (fields unknown are None)."""

    pid: int | None = None
    host: str | None = None
    run_id: str | None = None
    since: str | None = None

    def describe(self) -> str:
        """``held by pid 12537 on host vm since … (run …)`` for messages."""
        if self.pid is None and self.host is None and self.run_id is None:
            return "held by a process that has not written its holder record yet"
        parts = ["held by"]
        parts.append(f"pid {self.pid}" if self.pid is not None else "an unknown process")
        if self.host:
            parts.append(f"on host {self.host}")
        if self.since:
            parts.append(f"since {self.since}")
        if self.run_id:
            parts.append(f"(run {self.run_id})")
        return " ".join(parts)


def _read_holder(fd: int) -> Holder:
    """Parse the holder record; a missing or garbled one yields an all-unknown Holder."""
    try:
        raw = os.pread(fd, 4096, 0).decode("utf-8", errors="replace").strip()
        data = json.loads(raw) if raw else {}
    except (OSError, ValueError):
        return Holder()
    if not isinstance(data, dict):
        return Holder()
    pid = data.get("pid")
    host, run_id, since = data.get("host"), data.get("run_id"), data.get("since")
    return Holder(
        pid=pid if isinstance(pid, int) else None,
        host=host if isinstance(host, str) else None,
        run_id=run_id if isinstance(run_id, str) else None,
        since=since if isinstance(since, str) else None,
    )


def lock_holder(runs_dir: Path, plan_name: str) -> Holder | None:
    """Who holds this plan's lock now, or None when no process does.

    Read-only towards the runs directory: a missing lock file means nobody holds it, and
    nothing is created.
    """
    path = lock_path(runs_dir, plan_name)
    try:
        fd = os.open(path, os.O_RDONLY | os.O_CLOEXEC)
    except FileNotFoundError:
        return None
    except OSError as exc:
        raise RunError(f"cannot read the lock {path}: {exc.strerror or exc}") from exc
    try:
        try:
            # Shared is enough to conflict with the holder's exclusive lock, and needs no
            # write access to the file.
            fcntl.flock(fd, fcntl.LOCK_SH | fcntl.LOCK_NB)
        except BlockingIOError:
            return _read_holder(fd)
        fcntl.flock(fd, fcntl.LOCK_UN)
        return None
    finally:
        os.close(fd)


class PlanLock:
    """An exclusive, crash-safe lock on one plan name inside a runs directory."""

    def __init__(self, runs_dir: Path, plan_name: str) -> None:
        self.plan_name = plan_name
        self.path = lock_path(runs_dir, plan_name)
        self._fd: int | None = None

    @property
    def held(self) -> bool:
        """Whether this object holds the lock now."""
        return self._fd is not None

    def acquire(self, run_id: str, *, wait: float = 0) -> None:
        """Take the lock, waiting up to ``wait`` seconds, or raise :class:`LockHeld`.

        The message of :class:`LockHeld` is a sentence naming the holder (pid, host, since
        when, run id). The lock file is created 0600 (its directory 0700 when we make it).
        """
        if self._fd is not None:
            raise RuntimeError("PlanLock.acquire called twice")
        self.path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600)
        deadline = time.monotonic() + max(wait, PROBE_GRACE)
        while True:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    holder = _read_holder(fd)
                    os.close(fd)
                    raise LockHeld(
                        f"another run of plan {self.plan_name} is in progress: {holder.describe()}"
                    ) from None
                time.sleep(min(POLL_INTERVAL, remaining))
        record = {
            "pid": os.getpid(),
            "host": socket.gethostname(),
            "run_id": run_id,
            "since": format_instant(utcnow()),
        }
        os.ftruncate(fd, 0)
        os.pwrite(fd, json.dumps(record).encode("utf-8"), 0)
        self._fd = fd

    def release(self) -> None:
        """Let the next run of this plan start (idempotent)."""
        if self._fd is not None:
            fd, self._fd = self._fd, None
            try:
                os.ftruncate(fd, 0)
            finally:
                fcntl.flock(fd, fcntl.LOCK_UN)
                os.close(fd)
