"""Live progress: drawn with rich on a terminal only, silent everywhere else."""

from __future__ import annotations

import io
from datetime import UTC, datetime

import pytest
from rich.console import Console

from fleetupgrade.cli.live import (
    LiveProgress,
    ProgressSnapshot,
    SupervisorProgress,
    WaveProgress,
    render_progress,
)
from fleetupgrade.cli.progress_feed import clock_line
from fleetupgrade.journal.views import RunView

SNAPSHOT = ProgressSnapshot(
    waves=(
        WaveProgress("canary", 3, 0, 0, "completed"),
        WaveProgress("main", 4, 2, 12, "running"),
    ),
    vcenters=(("vc-east", 2), ("vc-west", 1)),
    in_flight=(
        SupervisorProgress("sv-prod-01", 42, "upgrading"),
        SupervisorProgress("sv-prod-02", None, "prechecks"),
        SupervisorProgress("sv-[bold]odd[/bold]", 100.0, "upgrading"),
    ),
)


def _console(*, terminal: bool) -> tuple[Console, io.StringIO]:
    buffer = io.StringIO()
    return Console(file=buffer, force_terminal=terminal, width=100, color_system=None), buffer


def test_renders_waves_vcenters_and_jobs() -> None:
    """The display lists each wave's counts, busy vCenters and each in-flight job."""
    console, buffer = _console(terminal=True)
    console.print(render_progress(SNAPSHOT))
    out = buffer.getvalue()
    for needle in ("canary", "completed", "main", "running", "12", "vc-east 2, vc-west 1",
                   "sv-prod-01", "42", "prechecks", "sv-[bold]odd[/bold]"):  # fmt: skip
        assert needle in out


def test_live_progress_draws_on_a_terminal() -> None:
    """On a terminal the snapshot is drawn; leaving the context stops the display."""
    console, buffer = _console(terminal=True)
    with LiveProgress(enabled=True, console=console) as live:
        assert live.active
        live.update(SNAPSHOT)
    assert "sv-prod-01" in buffer.getvalue()


@pytest.mark.parametrize(("enabled", "terminal"), [(False, True), (True, False), (False, False)])
def test_live_progress_is_silent_otherwise(enabled: bool, terminal: bool) -> None:
    """Disabled, or stderr not a terminal: nothing is written at all."""
    console, buffer = _console(terminal=terminal)
    with LiveProgress(enabled=enabled, console=console) as live:
        assert not live.active
        live.update(SNAPSHOT)
    assert buffer.getvalue() == ""


def test_many_jobs_are_capped() -> None:
    """A big fleet shows the first jobs and how many more there are, not thousands of rows."""
    many = ProgressSnapshot(
        waves=(WaveProgress("all", 0, 500, 0, "running"),),
        vcenters=tuple((f"vc-{n:03d}", 1) for n in range(40)),
        in_flight=tuple(SupervisorProgress(f"sv-{n}", n % 100, "upgrading") for n in range(500)),
    )
    console, buffer = _console(terminal=True)
    console.print(render_progress(many))
    out = buffer.getvalue()
    assert "and 485 more" in out
    assert "+28 more" in out
    assert len(out.splitlines()) < 30


def test_snapshot_is_frozen() -> None:
    """Snapshots are immutable values the engine can hand across tasks."""
    with pytest.raises(AttributeError):
        SNAPSHOT.waves[0].done = 5  # type: ignore[misc]


def _view(meta: dict[str, object]) -> RunView:
    return RunView(meta=meta, waves=(), decisions=(), history=(), notifications=(), vcenters=())


def test_clock_line_shows_elapsed_window_and_countdown() -> None:
    """The live display says how long the run took, what the window has left, and the wait."""
    now = datetime(2026, 12, 5, 22, 30, tzinfo=UTC)
    view = _view(
        {
            "started_at": "2026-12-05T22:00:00+00:00",
            "waiting": {
                "kind": "pause_after",
                "wave": "canary",
                "until": "2026-12-05T22:45:00.000Z",
            },
        }
    )
    line = clock_line(view, window_end=datetime(2026, 12, 6, 4, 0, tzinfo=UTC), now=now)
    assert line == "elapsed 30m · window closes in 5h30m · soaking after wave canary: 15m left"


def test_clock_line_for_an_approval_without_window() -> None:
    """Waiting for an approval is named with its wave; no window, no window part."""
    now = datetime(2026, 12, 5, 22, 0, 5, tzinfo=UTC)
    view = _view(
        {"started_at": "2026-12-05T22:00:00+00:00", "waiting": {"kind": "approval", "wave": "east"}}
    )
    assert (
        clock_line(view, window_end=None, now=now)
        == "elapsed 5s · waiting for approval of wave east"
    )
