"""Structured logging: one pipeline, configured once at the entry point, redacted before output.

* :func:`configure_logging` / :func:`close_logging` / :func:`reset_logging` — the pipeline
  (structlog into the standard library's handlers) with the events file and stderr;
* :func:`set_console_sink` — lets a live display take the console's warning lines;
* :func:`events_log_failure` — whether the events file stopped being written;
* :func:`register_secret`, :func:`register_secret_url`, :func:`redact`,
  :func:`redact_text` — secrets never reach a log, report or message;
* :func:`crash_log_path`, :func:`write_crash_report` — where an internal error's
  traceback goes;
* :func:`mute_stream` — silence a dead stdout/stderr so the exit status stays the run's.

The contract (keys, levels, secrets) is docs/design.md, "Logs".
"""

from __future__ import annotations

from fleetupgrade.logs.crash import crash_log_path, write_crash_report
from fleetupgrade.logs.redaction import (
    MASK,
    MIN_SECRET_LENGTH,
    redact,
    redact_text,
    register_secret,
    register_secret_url,
)
from fleetupgrade.logs.setup import (
    CONTEXT_KEYS,
    LEVELS,
    close_logging,
    configure_logging,
    events_log_failure,
    reset_logging,
    set_console_sink,
)
from fleetupgrade.logs.sinks import ConsoleSink, is_console_gone, mute_stream

__all__ = [
    "CONTEXT_KEYS",
    "LEVELS",
    "MASK",
    "MIN_SECRET_LENGTH",
    "ConsoleSink",
    "close_logging",
    "configure_logging",
    "crash_log_path",
    "events_log_failure",
    "is_console_gone",
    "mute_stream",
    "redact",
    "redact_text",
    "register_secret",
    "register_secret_url",
    "reset_logging",
    "set_console_sink",
    "write_crash_report",
]
