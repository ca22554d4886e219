"""Live progress on a terminal: waves, in-flight jobs per vCenter, each job's percentage.

An operator watching a run at the console wants to see it move; a scheduler, a pipe or a
log collector must get nothing but log lines. So :class:`LiveProgress` draws with ``rich``
on stderr only when it is enabled *and* stderr is a terminal, and is a no-op otherwise.
While it draws, rich redirects stderr writes above the display, so console log lines
still appear (the CLI uses console logs when progress is on).

The engine builds a :class:`ProgressSnapshot` (plain frozen data) and calls
:meth:`LiveProgress.update`; :func:`render_progress` is pure, so it can be tested alone.
"""

from __future__ import annotations

from dataclasses import dataclass
from types import TracebackType

from rich.console import Console, Group, RenderableType
from rich.live import Live
from rich.progress_bar import ProgressBar
from rich.table import Table
from rich.text import Text

__all__ = ["LiveProgress", "ProgressSnapshot", "SupervisorProgress", "WaveProgress"]

MAX_IN_FLIGHT_ROWS = 15
MAX_VCENTERS = 12


@dataclass(frozen=True, slots=True)
class WaveProgress:
    """One wave: Supervisors done, in flight and pending, and its status word."""

    name: str
    done: int
    in_flight: int
    pending: int
    status: str


@dataclass(frozen=True, slots=True)
class SupervisorProgress:
    """One in-flight Supervisor: its label, job percentage (if known) and phase."""

    label: str
    percent: int | float | None
    phase: str


@dataclass(frozen=True, slots=True)
class ProgressSnapshot:
    """Everything the display shows at one instant."""

    waves: tuple[WaveProgress, ...]
    vcenters: tuple[tuple[str, int], ...]
    in_flight: tuple[SupervisorProgress, ...]
    clock: str = ""  # "elapsed 12m3s · window closes in 1h4m · waiting for approval of east"


def _waves(snapshot: ProgressSnapshot) -> Table:
    table = Table(title="Waves", title_justify="left", expand=False, box=None, pad_edge=False)
    for column in ("wave", "status", "", "done", "in flight", "pending"):
        table.add_column(column, justify="right" if column in ("done", "in flight") else "left")
    for wave in snapshot.waves:
        total = wave.done + wave.in_flight + wave.pending
        bar = ProgressBar(total=max(total, 1), completed=wave.done, width=24)
        table.add_row(
            Text(wave.name),
            Text(wave.status),
            bar,
            str(wave.done),
            str(wave.in_flight),
            str(wave.pending),
        )
    return table


def _jobs(snapshot: ProgressSnapshot) -> Table:
    shown = snapshot.in_flight[:MAX_IN_FLIGHT_ROWS]
    table = Table(title="In flight", title_justify="left", box=None, pad_edge=False)
    table.add_column("Supervisor")
    table.add_column("phase")
    table.add_column("")
    table.add_column("%", justify="right")
    for job in shown:
        percent = None if job.percent is None else max(0.0, min(100.0, float(job.percent)))
        table.add_row(
            Text(job.label),
            Text(job.phase),
            ProgressBar(total=100, completed=percent or 0, width=20, pulse=percent is None),
            "" if percent is None else f"{percent:.0f}",
        )
    hidden = len(snapshot.in_flight) - len(shown)
    if hidden > 0:
        table.add_row(Text(f"… and {hidden} more", style="dim"), "", "", "")
    return table


def render_progress(snapshot: ProgressSnapshot) -> RenderableType:
    """The display for one snapshot (a rich renderable)."""
    parts: list[RenderableType] = [_waves(snapshot)]
    if snapshot.clock:
        parts.insert(0, Text(snapshot.clock, style="bold"))
    busy = sorted(snapshot.vcenters, key=lambda item: (-item[1], item[0]))
    if busy:
        shown = ", ".join(f"{name} {count}" for name, count in busy[:MAX_VCENTERS])
        more = f", +{len(busy) - MAX_VCENTERS} more" if len(busy) > MAX_VCENTERS else ""
        parts.append(Text(f"in flight per vCenter: {shown}{more}"))
    if snapshot.in_flight:
        parts.append(_jobs(snapshot))
    return Group(*parts)


class LiveProgress:
    """Redraw the latest snapshot on stderr a few times a second; inert off a terminal."""

    def __init__(self, enabled: bool, *, console: Console | None = None) -> None:
        self._console = console if console is not None else Console(stderr=True)
        self.active = enabled and self._console.is_terminal
        self._live: Live | None = None

    def __enter__(self) -> LiveProgress:
        if self.active:
            self._live = Live(
                Text("starting…"),
                console=self._console,
                refresh_per_second=4,
                transient=True,
                redirect_stdout=False,
                redirect_stderr=True,
            )
            self._live.__enter__()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if self._live is not None:
            live, self._live = self._live, None
            live.__exit__(exc_type, exc, tb)

    def print_log_line(self, line: str) -> None:
        """Show a warning line above the display (console colours kept, no markup read)."""
        self._console.print(Text.from_ansi(line.rstrip("\n")))

    def update(self, snapshot: ProgressSnapshot) -> None:
        """Show ``snapshot`` from the next refresh on (cheap; call it as often as you like)."""
        if self._live is not None:
            self._live.update(render_progress(snapshot))
