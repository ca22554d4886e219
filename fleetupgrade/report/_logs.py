"""The run's logs as tables: decisions, history, notifications and vCenter traffic.

The terminal, Markdown and HTML reports show these four logs with the same columns and
the same cells; this module is the one place that says which, so the renderings cannot
drift apart. Each renderer only styles a cell by its column's :class:`Kind` (escaping,
badges, alignment) and lays out the table in its own medium.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

from fleetupgrade.report._format import describe_culprits, human_time, one_line
from fleetupgrade.report.model import Report

__all__ = ["Column", "Kind", "LogTable", "log_tables"]


Kind = Literal["text", "number", "key", "code", "verdict", "status"]
"""What a column holds, which decides how a renderer styles its cells: ``number`` a count
(right-aligned where a renderer aligns), ``key`` an identifier such as a rule or an event
(a terminal table keeps it whole), ``code`` a machine string such as a URL (monospace),
``verdict`` a decision's verdict (marked when it halted its wave), ``status`` a delivery's
status (marked when it failed)."""


@dataclass(frozen=True, slots=True)
class Column:
    """One column: its header, what it holds, and a shorter header for 100 columns."""

    header: str
    kind: Kind = "text"
    short: str | None = None

    @property
    def short_header(self) -> str:
        """The header a narrow terminal table shows."""
        return self.short or self.header


@dataclass(frozen=True, slots=True)
class LogTable:
    """One non-empty log: ``key`` names it (an HTML id), ``rows`` hold one-line text."""

    key: str
    title: str
    columns: tuple[Column, ...]
    rows: list[tuple[str, ...]]


_DECISIONS = (
    Column("At"),
    Column("Wave"),
    Column("Rule", "key"),
    Column("Errors", "number", "Err"),
    Column("Failures", "number", "Fail"),
    Column("Size", "number"),
    Column("Limit", "number"),
    Column("Verdict", "verdict"),
    Column("Culprits"),
)
_HISTORY = (Column("At"), Column("Event", "key"), Column("Wave"), Column("By"), Column("Reason"))
_NOTIFICATIONS = (
    Column("At"),
    Column("Target", "code"),
    Column("Event"),
    Column("Status", "status"),
    Column("Attempts", "number"),
)
_VCENTERS = (
    Column("vCenter"),
    Column("URL", "code"),
    Column("Requests", "number"),
    Column("Retries", "number"),
    Column("Errors", "number"),
    Column("Paced waits", "number", "Paced"),
    Column("Breaker opens", "number", "Breaker"),
)


def _rows(cells: Sequence[Sequence[str | None]]) -> list[tuple[str, ...]]:
    """Every cell as one line of clean text (None as empty)."""
    return [tuple(one_line(cell) for cell in row) for row in cells]


def log_tables(report: Report) -> list[LogTable]:
    """The report's logs that have entries, in the order every rendering shows them."""
    tables = [
        LogTable(
            "decisions",
            "Decisions",
            _DECISIONS,
            _rows(
                [
                    (
                        human_time(d.at),
                        d.wave,
                        d.rule,
                        str(d.errors),
                        str(d.failures),
                        str(d.size),
                        f"{d.limit:g}",
                        d.verdict,
                        describe_culprits(d.culprits),
                    )
                    for d in report.decisions
                ]
            ),
        ),
        LogTable(
            "history",
            "History",
            _HISTORY,
            _rows([(human_time(h.at), h.event, h.wave, h.by, h.reason) for h in report.history]),
        ),
        LogTable(
            "notifications",
            "Notifications",
            _NOTIFICATIONS,
            _rows(
                [
                    (human_time(n.at), n.target, n.event, n.status, str(n.attempts))
                    for n in report.notifications
                ]
            ),
        ),
        LogTable(
            "vcenters",
            "vCenters",
            _VCENTERS,
            _rows(
                [
                    (
                        vc.name,
                        vc.url,
                        str(vc.requests),
                        str(vc.retries),
                        str(vc.errors),
                        str(vc.paced_waits),
                        str(vc.breaker_opens),
                    )
                    for vc in report.vcenters
                ]
            ),
        ),
    ]
    return [table for table in tables if table.rows]
