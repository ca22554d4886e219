"""``--include`` / ``--exclude`` files: CSV lists of Supervisors that narrow ``plan new``.

A header row names the columns: ``vcenter`` and ``id`` or ``name`` (or both); other columns
are ignored, so an ``inventory --format csv`` file, filtered in a spreadsheet, works as is
(its rows of unreachable vCenters, those with an ``error``, are skipped). A row with an
``id`` matches that id; a row with only a ``name`` matches by name. Every problem is
reported at once with its line (exit 2); a row that matches no Supervisor is not an error
(the Supervisor may be gone) but is reported by ``plan new`` as a warning.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

from fleetupgrade.errors import Issue, PlanError
from fleetupgrade.inventory.model import SupervisorRow

__all__ = ["Selector", "SelectorFile", "load_selectors"]


@dataclass(frozen=True, slots=True)
class Selector:
    """One row of a selection file."""

    line: int
    vcenter: str
    id: str | None
    name: str | None

    @property
    def label(self) -> str:
        """``vcenter/id`` or ``vcenter/name``."""
        return f"{self.vcenter}/{self.id or self.name}"


@dataclass(frozen=True, slots=True)
class SelectorFile:
    """A parsed selection file (looked up by key: fleets have tens of thousands of rows)."""

    path: str
    selectors: tuple[Selector, ...]
    _by_key: dict[tuple[str, str, str], Selector] = field(
        init=False, repr=False, compare=False, default_factory=dict
    )

    def __post_init__(self) -> None:
        """Index the rows: the first row of a key wins (it is the one reported)."""
        for selector in self.selectors:
            self._by_key.setdefault(_key(selector), selector)

    def match(self, row: SupervisorRow) -> Selector | None:
        """The first row of the file that designates ``row`` (by id, else by name)."""
        by_id = self._by_key.get(("id", row.vcenter, row.id))
        by_name = self._by_key.get(("name", row.vcenter, row.name))
        found = [s for s in (by_id, by_name) if s is not None]
        return min(found, key=lambda s: s.line) if found else None

    def unmatched(self, rows: Iterable[SupervisorRow]) -> list[Selector]:
        """Rows of the file that designate no Supervisor of ``rows``."""
        keys: set[tuple[str, str, str]] = set()
        for row in rows:
            keys.add(("id", row.vcenter, row.id))
            keys.add(("name", row.vcenter, row.name))
        return [s for s in self.selectors if _key(s) not in keys]


def _key(selector: Selector) -> tuple[str, str, str]:
    if selector.id:
        return ("id", selector.vcenter, selector.id)
    return ("name", selector.vcenter, selector.name or "")


def load_selectors(path: Path) -> SelectorFile:
    """Parse a selection file; PlanError lists every problem with its line."""
    source = str(path)
    try:
        text = path.read_text(encoding="utf-8-sig")
    except (OSError, UnicodeDecodeError) as exc:
        reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else str(exc)
        raise PlanError(source, [Issue("", f"cannot read the file: {reason}")]) from None
    reader = csv.DictReader(io.StringIO(text, newline=""), strict=True)
    try:
        header = [h.strip().lower() for h in reader.fieldnames or []]
    except csv.Error as exc:
        raise PlanError(source, [Issue("line 1", f"CSV error: {exc}")]) from None
    if "vcenter" not in header or not ({"id", "name"} & set(header)):
        raise PlanError(
            source,
            [Issue("line 1", "the header row must name a vcenter column and an id or name column")],
        )
    reader.fieldnames = header
    issues: list[Issue] = []
    selectors: list[Selector] = []
    line = 1
    try:
        for record in reader:
            line = reader.line_num
            cells = {
                key: (value or "").strip() for key, value in record.items() if isinstance(key, str)
            }
            if cells.get("error") or not any(cells.values()):
                continue  # an unreachable vCenter's row of an inventory CSV, or a blank row
            vcenter, id_, name = (
                cells.get("vcenter", ""),
                cells.get("id", ""),
                cells.get("name", ""),
            )
            if not vcenter:
                issues.append(Issue(f"line {line}", "vcenter is empty"))
            elif not (id_ or name):
                issues.append(Issue(f"line {line}", "needs an id or a name"))
            else:
                selectors.append(Selector(line, vcenter, id_ or None, name or None))
    except csv.Error as exc:
        issues.append(Issue(f"line {line + 1}", f"CSV error: {exc}"))  # the row after the last good
    if issues:
        raise PlanError(source, issues)
    return SelectorFile(source, tuple(selectors))
