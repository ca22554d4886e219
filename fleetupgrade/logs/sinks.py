"""The two places a log line goes: the run's events file, and the console.

They fail differently on purpose. ``events.jsonl`` is the audit trail: it is created 0600,
held in memory until the run directory exists, and keeps every event at every level.
The console is a convenience: a closed pipe (``fleetupgrade run … | head``), a full disk
behind a redirected stderr or a vanished terminal must never stop or fail a run
(docs/design.md, "Logs"). So :class:`ConsoleHandler` swallows its own write errors,
points the dead stream at ``/dev/null`` (so the interpreter's final flush cannot fail the
exit status either) and stays silent for the rest of the process.
"""

from __future__ import annotations

import contextlib
import errno
import logging
import os
import sys
import threading
from collections.abc import Callable
from pathlib import Path
from typing import IO, Any, TextIO

__all__ = ["ConsoleHandler", "ConsoleSink", "EventsFileHandler", "is_console_gone", "mute_stream"]

ConsoleSink = Callable[[str], None]
"""Receives one rendered console line (no newline), e.g. a live display's ``print``."""

_MAX_PENDING_LINES = 100_000
# Errors that mean "this console is gone" rather than "this program is wrong".
_CONSOLE_GONE = (OSError, ValueError)  # ValueError: write to a closed file object


def mute_stream(stream: IO[Any]) -> None:
    """Point ``stream``'s file descriptor at ``/dev/null`` so later writes and flushes succeed.

    Python flushes stdout and stderr at exit and turns a failure there into exit status
    120; after a pipe closed or a terminal vanished, muting the descriptor keeps the
    exit code the run's own. Streams without a descriptor (test capture) are left alone.
    """
    try:
        fd = stream.fileno()
    except (OSError, ValueError, AttributeError):
        return
    with contextlib.suppress(OSError):
        devnull = os.open(os.devnull, os.O_WRONLY)
        try:
            os.dup2(devnull, fd)
        finally:
            os.close(devnull)


class ConsoleHandler(logging.Handler):
    """Writes lines to the *current* ``sys.stderr`` (or a sink), and never raises.

    stderr is looked up at every write, so a live display or test capture that replaced
    it is honoured. When a sink is set (:meth:`set_sink`), lines of level warning and
    above go to it instead and lower ones are dropped: the live display shows progress
    itself, and the events file keeps everything anyway.
    """

    def __init__(self, level: int) -> None:
        super().__init__(level)
        self.broken: BaseException | None = None
        self._sink: ConsoleSink | None = None

    def set_sink(self, sink: ConsoleSink | None) -> None:
        """Hand lines of level warning and above to ``sink``; ``None`` restores stderr."""
        self._sink = sink

    def emit(self, record: logging.LogRecord) -> None:
        """Write one line; on the first failure of the console, go silent for good."""
        if self.broken is not None:
            return
        sink = self._sink
        if sink is not None and record.levelno < logging.WARNING:
            return
        stream: TextIO | None = None
        try:
            line = self.format(record)
            if sink is not None:
                sink(line)
                return
            stream = sys.stderr
            if stream is None:
                return
            stream.write(line + "\n")
            stream.flush()
        except _CONSOLE_GONE as exc:
            self._give_up(exc, stream)
        except RecursionError:  # pragma: no cover - as logging.StreamHandler does
            raise
        except Exception:  # a formatting bug must not stop the run either
            self.handleError(record)

    def handleError(self, record: logging.LogRecord) -> None:
        """Never print "--- Logging error ---" to a console that may be the broken thing."""
        self.broken = sys.exc_info()[1] or RuntimeError("console log failed")

    def _give_up(self, exc: BaseException, stream: TextIO | None) -> None:
        self.broken = exc
        if stream is not None and isinstance(exc, OSError):
            mute_stream(stream)


class EventsFileHandler(logging.Handler):
    """Appends each line to ``events.jsonl``: created 0600, opened once its directory exists.

    The run directory may not exist yet when logging is configured, so lines are held in
    memory until it does, and written (creating the directory) at :meth:`close` at the
    latest. A failing write is remembered in :attr:`failure` (the CLI can report it as an
    I/O error on the run directory) and no further line is attempted.
    """

    def __init__(self, path: Path) -> None:
        super().__init__(logging.NOTSET)
        self.path = path
        self.failure: OSError | None = None
        self._handle: TextIO | None = None
        self._pending: list[str] = []
        self._closed = False
        self._io_lock = threading.Lock()

    def emit(self, record: logging.LogRecord) -> None:
        """Write one JSON line (or hold it until the directory exists)."""
        line = self.format(record)
        with self._io_lock:
            if self.failure is not None or self._closed:
                return
            try:
                if self._handle is None and not self._open(create=False):
                    if len(self._pending) < _MAX_PENDING_LINES:
                        self._pending.append(line)
                    return
                assert self._handle is not None
                self._handle.write(line + "\n")
            except OSError as exc:
                self.failure = exc

    def _open(self, *, create: bool) -> bool:
        if create:
            self.path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
        elif not self.path.parent.is_dir():
            return False
        handle = open(  # noqa: SIM115 - held open for the run, closed in close()
            self.path,
            "a",
            encoding="utf-8",
            buffering=1,
            opener=lambda name, flags: os.open(name, flags, 0o600),
        )
        self._handle = handle
        for line in self._pending:
            handle.write(line + "\n")
        self._pending.clear()
        return True

    def flush(self) -> None:
        """Push buffered lines to the file (lines are written whole as they come)."""
        with self._io_lock:
            if self._handle is not None and self.failure is None:
                try:
                    self._handle.flush()
                except OSError as exc:
                    self.failure = exc

    def close(self) -> None:
        """Write held lines (creating the directory) and close the file."""
        with self._io_lock:
            if not self._closed:
                self._closed = True
                try:
                    if self._handle is None and self._pending and self.failure is None:
                        self._open(create=True)
                    if self._handle is not None:
                        self._handle.close()
                except OSError as exc:
                    self.failure = self.failure or exc
                self._handle = None
        super().close()


def is_console_gone(exc: BaseException) -> bool:
    """Whether ``exc`` says the console went away (closed pipe, lost terminal, full disk)."""
    return isinstance(exc, OSError) and exc.errno in (errno.EPIPE, errno.EIO, errno.ENOSPC)
