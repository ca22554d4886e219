"""One logging pipeline for the whole process, configured once at the entry point.

structlog builds each event (context from ``structlog.contextvars``, level, timestamp,
redaction) and hands it to the standard library's ``logging``, whose handlers render it:
:class:`~fleetupgrade.logs.sinks.EventsFileHandler` writes JSON lines to ``events.jsonl``
at every level, :class:`~fleetupgrade.logs.sinks.ConsoleHandler` writes JSON or console
text to stderr at the chosen level. Other libraries' loggers (aiohttp, asyncio) go through
the same handlers at warning and above, as ``library_log`` events; stamina's own retry
line is dropped (the client logs ``http_retry`` itself).

Keys follow docs/design.md, "Logs": ``timestamp`` (UTC, RFC 3339 with milliseconds),
``level``, ``event``, then the context keys in a fixed order, then the event's own data.
"""

from __future__ import annotations

import logging
import sys
import threading
from collections.abc import Mapping, MutableMapping
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Literal

import structlog
from structlog.stdlib import ProcessorFormatter

from fleetupgrade.logs.redaction import redact
from fleetupgrade.logs.sinks import ConsoleHandler, ConsoleSink, EventsFileHandler
from fleetupgrade.timefmt import format_instant

__all__ = [
    "CONTEXT_KEYS",
    "LEVELS",
    "close_logging",
    "configure_logging",
    "events_log_failure",
    "reset_logging",
    "set_console_sink",
]

LEVELS = {"debug": 10, "info": 20, "warning": 30, "error": 40, "critical": 50}
CONTEXT_KEYS = (
    "run_id",
    "wave",
    "vcenter",
    "supervisor",
    "task_id",
    "outcome",
    "result",
    "counts",
    "reason",
)
# Loggers of other libraries: what they may say, and at which level it gets through.
_FOREIGN_LEVELS = {"aiohttp": logging.WARNING, "asyncio": logging.WARNING}
_SILENCED = ("stamina",)  # retries are logged by our client as http_retry
_META_KEYS = ("_record", "_from_structlog")


def _add_timestamp(_: Any, __: str, event_dict: MutableMapping[str, Any]) -> Any:
    event_dict["timestamp"] = format_instant(datetime.now(UTC))
    return event_dict


def _add_record_timestamp(_: Any, __: str, event_dict: MutableMapping[str, Any]) -> Any:
    """A foreign record's own creation time: the same instant for every handler."""
    record = event_dict.get("_record")
    created = record.created if isinstance(record, logging.LogRecord) else None
    when = datetime.now(UTC) if created is None else datetime.fromtimestamp(created, UTC)
    event_dict["timestamp"] = format_instant(when)
    return event_dict


def _redact(_: Any, __: str, event_dict: MutableMapping[str, Any]) -> Any:
    meta = {k: event_dict[k] for k in _META_KEYS if k in event_dict}
    clean: dict[str, Any] = redact({k: v for k, v in event_dict.items() if k not in meta})
    clean.update(meta)
    return clean


def _as_library_log(_: Any, __: str, event_dict: MutableMapping[str, Any]) -> Any:
    """A foreign record becomes a ``library_log`` event: a snake_case name, fixed keys."""
    record = event_dict.get("_record")
    event_dict["message"] = event_dict.get("event", "")
    event_dict["event"] = "library_log"
    event_dict["logger"] = record.name if isinstance(record, logging.LogRecord) else "?"
    return event_dict


def _ordered(_: Any, __: str, event_dict: Mapping[str, Any]) -> Any:
    """Contract keys first (timestamp, level, event, context), then the rest as logged."""
    head = ("timestamp", "level", "event", *CONTEXT_KEYS)
    out = {k: event_dict[k] for k in head if k in event_dict}
    out.update((k, v) for k, v in event_dict.items() if k not in out)
    return out


class _ForeignFilter(logging.Filter):
    """Our events pass at any level; other libraries' records only at warning and up."""

    def filter(self, record: logging.LogRecord) -> bool:
        if hasattr(record, "_logger"):  # attached by ProcessorFormatter.wrap_for_formatter
            return True
        return record.levelno >= logging.WARNING and not record.name.startswith(_SILENCED)


def _formatter(renderer: Any) -> ProcessorFormatter:
    return ProcessorFormatter(
        processors=[ProcessorFormatter.remove_processors_meta, _ordered, renderer],
        foreign_pre_chain=[
            structlog.contextvars.merge_contextvars,
            structlog.processors.add_log_level,
            _add_record_timestamp,
            structlog.processors.format_exc_info,
            _as_library_log,
            _redact,
        ],
    )


def _json_renderer() -> Any:
    return structlog.processors.JSONRenderer(ensure_ascii=False, default=str)


def _stderr_is_tty() -> bool:
    try:
        return sys.stderr.isatty()
    except (AttributeError, ValueError):
        return False


class _State:
    """The handlers this module installed, so they can be replaced or removed."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.events: EventsFileHandler | None = None
        self.last_events: EventsFileHandler | None = None
        self.console: ConsoleHandler | None = None
        self.sink: ConsoleSink | None = None
        self.root_level: int | None = None
        self.saved_levels: dict[str, int] = {}

    def handlers(self) -> list[logging.Handler]:
        return [h for h in (self.events, self.console) if h is not None]


_STATE = _State()


def configure_logging(
    *,
    events_file: Path | None,
    stderr_format: Literal["json", "console"] | None = None,
    level: str = "info",
) -> None:
    """Send every log event to ``events_file`` (JSON lines, all levels) and stderr, redacted.

    stderr shows ``level`` and above; ``stderr_format=None`` picks console text on a TTY
    and JSON lines otherwise. Calling it again replaces the previous configuration (its
    events file is closed first).
    """
    try:
        stderr_level = LEVELS[level.lower()]
    except KeyError:
        raise ValueError(f"unknown log level {level!r}: use one of {', '.join(LEVELS)}") from None
    if stderr_format is None:
        stderr_format = "console" if _stderr_is_tty() else "json"
    if stderr_format not in ("json", "console"):
        raise ValueError(f"unknown log format {stderr_format!r}: use json or console")
    console_renderer = (
        _json_renderer()
        if stderr_format == "json"
        else structlog.dev.ConsoleRenderer(colors=_stderr_is_tty())
    )
    only_ours = _ForeignFilter()
    console = ConsoleHandler(stderr_level)
    console.setFormatter(_formatter(console_renderer))
    console.addFilter(only_ours)
    events = None
    if events_file is not None:
        events = EventsFileHandler(events_file)
        events.setFormatter(_formatter(_json_renderer()))
        events.addFilter(only_ours)
    with _STATE.lock:
        _uninstall()
        root = logging.getLogger()
        _STATE.root_level = root.level
        root.setLevel(logging.DEBUG)
        for name, foreign_level in _FOREIGN_LEVELS.items():
            _set_level(name, foreign_level)
        for name in _SILENCED:
            _set_level(name, logging.CRITICAL + 1)
        console.set_sink(_STATE.sink)
        _STATE.console, _STATE.events = console, events
        _STATE.last_events = events
        for handler in _STATE.handlers():
            root.addHandler(handler)
    structlog.configure(
        processors=[
            structlog.stdlib.filter_by_level,
            structlog.contextvars.merge_contextvars,
            structlog.processors.add_log_level,
            _add_timestamp,
            structlog.processors.StackInfoRenderer(),
            structlog.processors.format_exc_info,
            _redact,
            ProcessorFormatter.wrap_for_formatter,
        ],
        logger_factory=structlog.stdlib.LoggerFactory(),
        wrapper_class=structlog.stdlib.BoundLogger,
        context_class=dict,
        cache_logger_on_first_use=False,
    )


def _set_level(name: str, level: int) -> None:
    logger = logging.getLogger(name)
    _STATE.saved_levels.setdefault(name, logger.level)
    logger.setLevel(level)


def _uninstall() -> None:
    """Remove and close this module's handlers; restore the levels it changed."""
    root = logging.getLogger()
    for handler in _STATE.handlers():
        root.removeHandler(handler)
        handler.close()
    _STATE.events = _STATE.console = None
    if _STATE.root_level is not None:
        root.setLevel(_STATE.root_level)
        _STATE.root_level = None
    for name, level in _STATE.saved_levels.items():
        logging.getLogger(name).setLevel(level)
    _STATE.saved_levels.clear()


def close_logging() -> None:
    """Flush and close the events file (writing held lines); stderr logging goes on."""
    with _STATE.lock:
        events = _STATE.events
        if events is not None:
            logging.getLogger().removeHandler(events)
            events.close()
            _STATE.events = None


def reset_logging() -> None:
    """Undo :func:`configure_logging` entirely (handlers, levels, structlog defaults)."""
    with _STATE.lock:
        _uninstall()
        _STATE.sink = None
        _STATE.last_events = None
    structlog.reset_defaults()


def set_console_sink(sink: ConsoleSink | None) -> None:
    """While ``sink`` is set, console lines of level warning and up go to it, others nowhere.

    A live display calls it with its console's print function when it starts drawing
    and with ``None`` when it stops, so warnings appear above its panel instead of
    tearing it; the events file is unaffected. A failing sink is treated like a broken
    stderr: the console goes silent, the run goes on.
    """
    with _STATE.lock:
        _STATE.sink = sink
        if _STATE.console is not None:
            _STATE.console.set_sink(sink)


def events_log_failure() -> OSError | None:
    """The error that stopped writes to the latest events file (even once closed), if any.

    Logging never raises into the run; the CLI asks this at the end and reports a failed
    events file as an I/O error on the run directory.
    """
    events = _STATE.last_events
    return None if events is None else events.failure
