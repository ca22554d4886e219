"""How a run ends in the process: final journal state, late signals, the summary, bugs.

Once the result is decided nothing may change the exit code: a late signal is ignored,
a console that went away is muted, and a bug leaves a crash report in the run directory.
"""

from __future__ import annotations

import signal
import sys
import threading
import traceback
from typing import Any, TextIO

import structlog

from fleetupgrade.errors import RunDirIOError
from fleetupgrade.journal.records import Phase
from fleetupgrade.journal.rundir import (
    RunDir,
)
from fleetupgrade.journal.store import Journal
from fleetupgrade.logs import (
    crash_log_path,
    is_console_gone,
    mute_stream,
    write_crash_report,
)
from fleetupgrade.outcomes import ExitCode

log = structlog.get_logger("fleetupgrade.cli")

__all__ = [
    "Handlers",
    "anything_fired",
    "detach_in_flight",
    "first_error",
    "ignore_late_signals",
    "internal_error",
    "is_final",
    "print_summary",
    "restore_signal_handlers",
    "signal_handlers",
]


def is_final(journal: Journal) -> bool:
    """Halted, finished or aborted with nothing in doubt: nothing will write it again."""
    try:
        result = journal.meta().get("result")
        return result not in (None, "stopped") and not any(
            r.in_doubt for r in journal.supervisors()
        )
    except RunDirIOError:
        return False


def detach_in_flight(journal: Journal) -> None:
    """After an I/O error: jobs that may be running are ``detached``, where the journal can."""
    try:
        for row in journal.supervisors():
            if row.phase in (Phase.INTENT, Phase.LAUNCHED):
                journal.mark_detached(
                    row.key, "the run directory failed; --resume asks vCenter first"
                )
    except RunDirIOError:
        pass  # the journal is what failed: --resume settles the rows from vCenter


def anything_fired(journal: Journal) -> bool:
    """Whether any create may have been sent (then an early error must not mark it aborted)."""
    return any(r.attempts > 0 or r.phase is not Phase.PENDING for r in journal.supervisors())


def internal_error(exc: Exception, run_dir: RunDir) -> int:
    """A bug: the message, the events log and a crash report in the run directory (exit 70)."""
    text = traceback.format_exc()
    log.error("internal_error", reason=f"{type(exc).__name__}: {exc}")
    crash = crash_log_path(run_dir.path, run_dir.path.parent)
    try:
        write_crash_report(crash, text)
        where = f"details in {crash}"
    except OSError:
        where = "no crash report could be written"
    print_summary(
        f"internal error: {type(exc).__name__}: {exc} (events log: {run_dir.events_file}; {where})",
        sys.stderr,
    )
    return ExitCode.INTERNAL


LATE_SIGNALS = (signal.SIGTERM, signal.SIGHUP, signal.SIGINT)


Handlers = dict[signal.Signals, Any]


def signal_handlers() -> Handlers:
    """The current handlers of the stop signals (to give them back to in-process callers)."""
    return {s: signal.getsignal(s) for s in LATE_SIGNALS}


def restore_signal_handlers(handlers: Handlers) -> None:
    """Give the stop signals' handlers back (an in-process caller keeps its own)."""
    if threading.current_thread() is threading.main_thread():
        for s, handler in handlers.items():
            signal.signal(s, handler)


def ignore_late_signals() -> None:
    """The result is decided: a SIGTERM/SIGHUP/SIGINT from now on cannot change the exit code.

    Called as soon as the runner returns (its own signal listener is gone then), so the
    report writing, the summary and the exit all keep the result's code.
    """
    if threading.current_thread() is threading.main_thread():
        for s in LATE_SIGNALS:
            signal.signal(s, signal.SIG_IGN)


def print_summary(text: str, out: TextIO) -> None:
    """Print; a console that went away (closed pipe, lost terminal) is not an error."""
    try:
        print(text, file=out, flush=True)
    except OSError as exc:
        if not is_console_gone(exc):
            raise
        mute_stream(out)


def first_error(group: BaseExceptionGroup[BaseException]) -> BaseException:
    """The first leaf of a task group's exception group: the error to report."""
    for exc in group.exceptions:
        if isinstance(exc, BaseExceptionGroup):
            return first_error(exc)
        return exc
    return group
