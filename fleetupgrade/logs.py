"""Structured logging: configured once at the entry point, redacted before any output.

Every event goes as one JSON object per line to the run's ``events.jsonl`` (the audit
trail: ``info`` and up always, ``debug`` too when the level asks for it) and to stderr,
as JSON lines or console text, at the chosen level. Keys follow DESIGN §5: ``timestamp``
(UTC, RFC 3339 with milliseconds), ``level``, ``event``, then the context bound with
``structlog.contextvars`` (``run_id``, ``wave``, ``vcenter``, ``supervisor``, …).

Passwords, session ids and Authorization headers must never reach a log, so the last step
before any output is a redaction pass: values of sensitive keys are masked wherever they
nest, ``Authorization:``/``Bearer``-style fragments in free text are masked, and every
string given to :func:`register_secret` is masked wherever it appears.

The events file is opened lazily: the run directory may not exist yet when logging is
configured, so lines are held in memory until it does (and written, creating the
directory, at :func:`close_logging` at the latest). stderr is looked up at each write, so
``rich`` live progress and test capture see the lines.
"""

from __future__ import annotations

import json
import re
import sys
import threading
from collections.abc import Mapping, MutableMapping
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any, Literal, TextIO

import structlog

from fleetupgrade.timefmt import format_instant

__all__ = ["close_logging", "configure_logging", "redact", "register_secret"]

MASK = "***"
LEVELS = {"debug": 10, "info": 20, "warning": 30, "error": 40, "critical": 50}
CONTEXT_KEYS = ("run_id", "wave", "vcenter", "supervisor", "task_id", "outcome", "reason")
_SENSITIVE_PARTS = ("password", "passwd", "secret", "token", "authorization", "cookie", "api_key")
_SENSITIVE_KEYS = frozenset(
    {"session", "session_id", "sessionid", "vmware_api_session_id", "credentials", "pwd"}
)
# "Authorization: Basic abc", "vmware-api-session-id=abc", "Bearer abc", "password: abc" …
_INLINE_SECRET = re.compile(
    r"(?i)\b(authorization|proxy-authorization|vmware-api-session-id|session[_-]?id|"
    r"password|passwd|secret|token|cookie)(\"?'?\s*[:=]\s*\"?'?)"
    r"((?:basic|bearer|negotiate)\s+)?([^\s\"',;&}\]]+)"
)
_SCHEME_SECRET = re.compile(r"(?i)\b(basic|bearer)\s+([A-Za-z0-9._~+/=-]{8,})")
_MAX_PENDING_LINES = 100_000


def _is_sensitive(key: object) -> bool:
    name = str(key).lower().replace("-", "_")
    return name in _SENSITIVE_KEYS or any(part in name for part in _SENSITIVE_PARTS)


class _Secrets:
    """Registered secret strings, masked longest first (thread safe)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._values: set[str] = set()
        self.pattern: re.Pattern[str] | None = None

    def add(self, value: str) -> None:
        with self._lock:
            if not value or value in self._values:
                return
            self._values.add(value)
            ordered = sorted(self._values, key=lambda v: (-len(v), v))
            self.pattern = re.compile("|".join(re.escape(v) for v in ordered))


_SECRETS = _Secrets()


def register_secret(value: str) -> None:
    """Mask ``value`` (a password, a session token) wherever it would appear in a log."""
    _SECRETS.add(value)


def redact_text(text: str) -> str:
    """``text`` with registered secrets and inline credentials masked."""
    pattern = _SECRETS.pattern
    if pattern is not None:
        text = pattern.sub(MASK, text)
    text = _INLINE_SECRET.sub(lambda m: f"{m[1]}{m[2]}{m[3] or ''}{MASK}", text)
    return _SCHEME_SECRET.sub(lambda m: f"{m[1]} {MASK}", text)


def redact(value: Any) -> Any:
    """A copy of ``value`` safe to log: sensitive keys masked, strings scrubbed.

    Values that are not JSON-like become their (scrubbed) text, so an object whose
    ``repr`` shows a secret cannot leak it.
    """
    if value is None or isinstance(value, bool | int | float):
        return value
    if isinstance(value, str):
        return redact_text(value)
    if isinstance(value, Mapping):
        return {
            str(k): MASK if _is_sensitive(k) and v is not None else redact(v)
            for k, v in value.items()
        }
    if isinstance(value, list | tuple | set | frozenset):
        return [redact(item) for item in value]
    if isinstance(value, bytes):
        return redact_text(value.decode("utf-8", "replace"))
    if isinstance(value, datetime):
        return format_instant(value) if value.tzinfo else value.isoformat()
    if isinstance(value, date):
        return value.isoformat()
    return redact_text(str(value))


def _redact_processor(_: Any, __: str, event_dict: MutableMapping[str, Any]) -> Any:
    return redact(event_dict)


def _add_timestamp(_: Any, __: str, event_dict: MutableMapping[str, Any]) -> Any:
    event_dict["timestamp"] = format_instant(datetime.now(UTC))
    return event_dict


def _ordered(event_dict: Mapping[str, Any]) -> dict[str, Any]:
    """Contract keys first (timestamp, level, event, context), then the rest as logged."""
    head = ("timestamp", "level", "event", *CONTEXT_KEYS)
    out = {k: event_dict[k] for k in head if k in event_dict}
    out.update((k, v) for k, v in event_dict.items() if k not in out)
    return out


class _Sinks:
    """Where rendered lines go: the events file (lazily opened) and stderr."""

    def __init__(self, events_file: Path | None, stderr_json: bool, stderr_level: int) -> None:
        self.lock = threading.Lock()
        self.events_file = events_file
        self.handle: TextIO | None = None
        self.pending: list[str] = []
        self.stderr_json = stderr_json
        self.stderr_level = stderr_level
        self.console = structlog.dev.ConsoleRenderer(colors=_stderr_is_tty())

    def write_event(self, line: str) -> None:
        if self.events_file is None:
            return
        if self.handle is None and not self._open(create=False):
            if len(self.pending) < _MAX_PENDING_LINES:
                self.pending.append(line)
            return
        assert self.handle is not None
        self.handle.write(line + "\n")

    def _open(self, *, create: bool) -> bool:
        assert self.events_file is not None
        if create:
            self.events_file.parent.mkdir(parents=True, exist_ok=True)
        elif not self.events_file.parent.is_dir():
            return False
        self.handle = self.events_file.open("a", encoding="utf-8", buffering=1)
        for line in self.pending:
            self.handle.write(line + "\n")
        self.pending.clear()
        return True

    def close(self) -> None:
        with self.lock:
            if self.handle is None and self.pending and self.events_file is not None:
                self._open(create=True)
            if self.handle is not None:
                self.handle.close()
                self.handle = None


def _stderr_is_tty() -> bool:
    try:
        return sys.stderr.isatty()
    except (AttributeError, ValueError):
        return False


_SINKS: _Sinks | None = None
_CONFIG_LOCK = threading.Lock()


def _dispatch(_: Any, __: str, event_dict: MutableMapping[str, Any]) -> Any:
    """Render once per sink and write; the event goes nowhere else."""
    sinks = _SINKS
    if sinks is not None:
        ordered = _ordered(event_dict)
        line = json.dumps(ordered, ensure_ascii=False, default=str)
        level = LEVELS.get(str(ordered.get("level", "info")), 20)
        with sinks.lock:
            if level >= LEVELS["info"] or level >= sinks.stderr_level:
                sinks.write_event(line)
            if level >= sinks.stderr_level:
                text = line if sinks.stderr_json else str(sinks.console(None, "", dict(ordered)))
                stream = sys.stderr
                stream.write(text + "\n")
                stream.flush()
    raise structlog.DropEvent


def configure_logging(
    *,
    events_file: Path | None,
    stderr_format: Literal["json", "console"] | None = None,
    level: str = "info",
) -> None:
    """Send every log event to ``events_file`` (JSON lines) and stderr, redacted.

    ``stderr_format=None`` picks console text on a TTY and JSON lines otherwise. Calling it
    again replaces the previous configuration (its events file is closed first).
    """
    global _SINKS  # noqa: PLW0603 - logging is process-wide by nature
    try:
        stderr_level = LEVELS[level.lower()]
    except KeyError:
        raise ValueError(f"unknown log level {level!r}: use one of {', '.join(LEVELS)}") from None
    if stderr_format is None:
        stderr_format = "console" if _stderr_is_tty() else "json"
    if stderr_format not in ("json", "console"):
        raise ValueError(f"unknown log format {stderr_format!r}: use json or console")
    with _CONFIG_LOCK:
        if _SINKS is not None:
            _SINKS.close()
        _SINKS = _Sinks(events_file, stderr_format == "json", stderr_level)
        structlog.configure(
            processors=[
                structlog.contextvars.merge_contextvars,
                structlog.processors.add_log_level,
                _add_timestamp,
                structlog.processors.StackInfoRenderer(),
                structlog.processors.format_exc_info,
                _redact_processor,
                _dispatch,
            ],
            wrapper_class=structlog.make_filtering_bound_logger(min(stderr_level, LEVELS["info"])),
            context_class=dict,
            logger_factory=structlog.ReturnLoggerFactory(),
            cache_logger_on_first_use=False,
        )


def close_logging() -> None:
    """Flush and close the events file (writing held lines); stderr logging goes on."""
    with _CONFIG_LOCK:
        if _SINKS is not None:
            _SINKS.close()
            _SINKS.events_file = None
