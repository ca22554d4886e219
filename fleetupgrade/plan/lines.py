"""Where in the TOML text a plan location is: ``waves[1].supervisors[0]`` → line 14.

``tomllib`` gives values without positions, so this small scanner walks the (already
parsed, hence valid) text once and records the line of every table header, key and array
element, under the same path the issues use. It is best-effort by design: a location it
cannot find falls back to its closest recorded parent, and any surprise in the text just
ends the scan (an issue then simply has no line). It never raises.
"""

from __future__ import annotations

import contextlib
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, replace
from typing import Any

from fleetupgrade.errors import Issue
from fleetupgrade.redact_urls import mask_userinfo

__all__ = ["LineIndex", "PlanIssue", "deep_nesting_line", "locate", "parse_location"]

Path = tuple[str | int, ...]

_BARE_KEY = re.compile(r"[A-Za-z0-9_-]+")
_LOCATION_PART = re.compile(r"([^.\[\]]+)|\[(\d+)\]")
_SCALAR_END = set(",]}#\n")
_WAVE_PREFIX = re.compile(r"^waves\[\d+\]")


def parse_location(location: str) -> Path:
    """``waves[1].supervisors[0].id`` → ``('waves', 1, 'supervisors', 0, 'id')``."""
    return tuple(int(index) if index else name for name, index in _LOCATION_PART.findall(location))


class _Scanner:
    """One pass over the text; ``lines`` maps each path seen to its 1-based line."""

    def __init__(self, text: str) -> None:
        self.text = text
        self.pos = 0
        self.lines: dict[Path, int] = {}
        self._line_starts = [0, *(i + 1 for i, ch in enumerate(text) if ch == "\n")]
        self._array_tables: dict[Path, int] = {}

    def line(self, pos: int | None = None) -> int:
        pos = self.pos if pos is None else pos
        low, high = 0, len(self._line_starts) - 1
        while low < high:  # last line start <= pos
            mid = (low + high + 1) // 2
            if self._line_starts[mid] <= pos:
                low = mid
            else:
                high = mid - 1
        return low + 1

    def peek(self, n: int = 1) -> str:
        return self.text[self.pos : self.pos + n]

    def skip_space(self, *, newlines: bool) -> None:
        while self.pos < len(self.text):
            ch = self.text[self.pos]
            if ch == "#":
                end = self.text.find("\n", self.pos)
                self.pos = len(self.text) if end < 0 else end
            elif ch in " \t\r" or (newlines and ch == "\n"):
                self.pos += 1
            else:
                return

    def string(self) -> str:
        for quote in ('"""', "'''"):
            if self.peek(3) == quote:
                end = self.text.find(quote, self.pos + 3)
                while quote == '"""' and end > 0 and self._escaped(end):
                    end = self.text.find(quote, end + 1)
                if end < 0:
                    raise ValueError
                while self.text[end + 3 : end + 4] == quote[0]:  # """a"""" ends one later
                    end += 1
                value = self.text[self.pos + 3 : end]
                self.pos = end + 3
                return value
        quote = self.text[self.pos]
        end = self.text.find(quote, self.pos + 1)
        while quote == '"' and end > 0 and self._escaped(end):
            end = self.text.find(quote, end + 1)
        if end < 0:
            raise ValueError
        value = self.text[self.pos + 1 : end]
        self.pos = end + 1
        return value

    def _escaped(self, end: int) -> bool:
        backslashes = 0
        while self.text[end - 1 - backslashes] == "\\":
            backslashes += 1
        return backslashes % 2 == 1

    def key(self) -> list[str]:
        parts = []
        while True:
            self.skip_space(newlines=False)
            if self.peek() in ('"', "'"):
                parts.append(self.string())
            else:
                match = _BARE_KEY.match(self.text, self.pos)
                if match is None:
                    raise ValueError
                parts.append(match.group())
                self.pos = match.end()
            self.skip_space(newlines=False)
            if self.peek() != ".":
                return parts
            self.pos += 1

    def header(self) -> Path:
        """``[a.b]`` or ``[[a.b]]``: the table's path, array-of-tables indices included."""
        double = self.peek(2) == "[["
        self.pos += 2 if double else 1
        names = self.key()
        self.pos += 2 if double else 1
        path: Path = ()
        for name in names:
            path = (*path, name)
            if path in self._array_tables and (not double or path != (*names,)):
                path = (*path, self._array_tables[path])
        if double:
            flat = (*path,)
            index = self._array_tables.get(flat, -1) + 1
            self._array_tables[flat] = index
            path = (*flat, index)
        return path

    def value(self, path: Path) -> None:
        ch = self.peek()
        if ch in ('"', "'"):
            self.string()
        elif ch == "[":
            self.pos += 1
            index = 0
            while True:
                self.skip_space(newlines=True)
                if self.peek() in ("]", ""):
                    self.pos += 1
                    return
                self.lines.setdefault((*path, index), self.line())
                self.value((*path, index))
                self.skip_space(newlines=True)
                if self.peek() == ",":
                    self.pos += 1
                index += 1
        elif ch == "{":
            self.pos += 1
            while True:
                self.skip_space(newlines=True)
                if self.peek() in ("}", ""):
                    self.pos += 1
                    return
                self.pair(path)
                self.skip_space(newlines=True)
                if self.peek() == ",":
                    self.pos += 1
        else:
            start = self.pos
            while self.pos < len(self.text) and self.text[self.pos] not in _SCALAR_END:
                self.pos += 1
            if self.pos == start:
                raise ValueError

    def pair(self, table: Path) -> None:
        line = self.line()
        path = (*table, *self.key())
        self.lines.setdefault(path, line)
        self.skip_space(newlines=False)
        if self.peek() != "=":
            raise ValueError
        self.pos += 1
        self.skip_space(newlines=False)
        self.value(path)

    def run(self) -> None:
        table: Path = ()
        while True:
            self.skip_space(newlines=True)
            if self.pos >= len(self.text):
                return
            if self.peek() == "[":
                line = self.line()
                table = self.header()
                self.lines.setdefault(table, line)
            else:
                self.pair(table)


class LineIndex:
    """The line of every table, key and array element of a plan's text."""

    def __init__(self, text: str) -> None:
        scanner = _Scanner(text.removeprefix("\ufeff"))
        # Best effort: what was recorded before a surprise stays usable.
        with contextlib.suppress(ValueError, IndexError, RecursionError):
            scanner.run()
        self._lines = scanner.lines

    def line_of(self, location: str) -> int | None:
        """The line of ``location``, else of its closest recorded parent (None: unknown)."""
        path = parse_location(location)
        while path:
            if path in self._lines:
                return self._lines[path]
            path = path[:-1]
        return None


def deep_nesting_line(text: str, limit: int = 100) -> int:
    """The line where brackets first nest deeper than ``limit`` (strings are skipped)."""
    depth, line, quote = 0, 1, ""
    for index, ch in enumerate(text):
        if ch == "\n":
            line += 1
        if quote:
            if ch == quote and text[index - 1] != "\\":
                quote = ""
        elif ch in "\"'":
            quote = ch
        elif ch in "[{":
            depth += 1
            if depth > limit:
                return line
        elif ch in "]}":
            depth = max(depth - 1, 0)
    return line


@dataclass(frozen=True, slots=True)
class PlanIssue(Issue):
    """An :class:`Issue` that also knows its TOML line and, inside a wave, the wave's name.

    ``str()`` reads ``line 14: wave "canary": supervisors: must not be empty``; the
    ``location`` stays the machine path (``waves[0].supervisors``).
    """

    line: int | None = None
    wave: str | None = None

    def __str__(self) -> str:
        if self.location.startswith("line "):  # a TOML syntax error: already a position
            return f"{self.location}: {self.message}"
        parts = [f"line {self.line}"] if self.line is not None else []
        where = self.location
        match = _WAVE_PREFIX.match(where)
        if self.wave is not None and match is not None:
            parts.append(f'wave "{self.wave}"')
            where = where[match.end() :].lstrip(".")
        if where:
            parts.append(where)
        return ": ".join([*parts, self.message])


def locate(issues: Iterable[Issue], text: str, data: Mapping[str, Any]) -> list[PlanIssue]:
    """Each issue with its line and wave name, and any credential in its message masked."""
    index = LineIndex(text)
    waves = data.get("waves")
    located = []
    for issue in issues:
        if isinstance(issue, PlanIssue):
            located.append(replace(issue, message=mask_userinfo(issue.message)))
            continue
        path = parse_location(issue.location)
        wave = None
        number = path[1] if len(path) >= 2 and path[0] == "waves" else None
        if isinstance(number, int) and isinstance(waves, list) and number < len(waves):
            entry = waves[number]
            name = entry.get("name") if isinstance(entry, dict) else None
            wave = name if isinstance(name, str) and name else None
        located.append(
            PlanIssue(
                issue.location,
                mask_userinfo(issue.message),
                issue.severity,
                line=index.line_of(issue.location) if issue.location else None,
                wave=wave,
            )
        )
    return located
