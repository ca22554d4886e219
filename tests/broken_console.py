"""Run a command whose console goes away: a reader that leaves, a full disk, a lost terminal.

``fleetupgrade run plan.toml 2>&1 | head -3`` is the everyday case: ``head`` reads three
lines and exits, and every later write to the pipe fails with EPIPE. These helpers
reproduce it (and its cousins ENOSPC and EIO) with a real subprocess, so tests can assert
that the command's exit code and files do not depend on its console.
"""

from __future__ import annotations

import os
import subprocess
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

__all__ = ["ReaderLeft", "run_reader_leaves", "run_with_dead_stderr"]


@dataclass(frozen=True, slots=True)
class ReaderLeft:
    """How the command ended, and the lines the reader saw before it left."""

    returncode: int
    head: tuple[str, ...]


def run_reader_leaves(
    argv: Sequence[str],
    *,
    lines: int = 3,
    merge_stdout: bool = True,
    env: Mapping[str, str] | None = None,
    cwd: Path | None = None,
    timeout: float = 60.0,
) -> ReaderLeft:
    """Run ``argv 2>&1 | head -LINES`` (or, without ``merge_stdout``, stderr alone to head).

    The reader closes its end after ``lines`` lines, as ``head`` does; stdout goes to
    /dev/null when it is not merged.
    """
    proc = subprocess.Popen(
        list(argv),
        stdout=subprocess.PIPE if merge_stdout else subprocess.DEVNULL,
        stderr=subprocess.STDOUT if merge_stdout else subprocess.PIPE,
        env=None if env is None else dict(env),
        cwd=cwd,
        text=True,
    )
    reader = proc.stdout if merge_stdout else proc.stderr
    assert reader is not None
    head = []
    for _ in range(lines):
        line = reader.readline()
        if not line:
            break
        head.append(line.rstrip("\n"))
    reader.close()
    return ReaderLeft(proc.wait(timeout=timeout), tuple(head))


def run_with_dead_stderr(
    argv: Sequence[str],
    kind: Literal["full", "hangup"],
    *,
    env: Mapping[str, str] | None = None,
    cwd: Path | None = None,
    timeout: float = 60.0,
) -> int:
    """Run ``argv`` with stderr on /dev/full (ENOSPC) or on a hung-up terminal (EIO).

    Returns the exit code; stdout goes to /dev/null.
    """
    if kind == "full":
        with open("/dev/full", "wb") as full:
            return subprocess.run(
                list(argv),
                stdout=subprocess.DEVNULL,
                stderr=full,
                env=None if env is None else dict(env),
                cwd=cwd,
                timeout=timeout,
                check=False,
            ).returncode
    master, terminal = os.openpty()
    os.close(master)  # the terminal is gone: writes to it fail with EIO, isatty() stays true
    try:
        return subprocess.run(
            list(argv),
            stdout=subprocess.DEVNULL,
            stderr=terminal,
            env=None if env is None else dict(env),
            cwd=cwd,
            timeout=timeout,
            check=False,
        ).returncode
    finally:
        os.close(terminal)
