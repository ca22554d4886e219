"""``fleetupgrade status``: print (or keep redrawing) the state of a run, exit with its code.

Once for scripts (``--format json`` gives one document; its ``result`` and
``status_exit_code`` are the contract), or ``--watch`` for an operator: a rich live view
on a terminal, plain repeated blocks (JSON lines with ``--format json``) on a pipe, until
the run is no longer running or waiting. The exit code is then that of the final state.
"""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import TextIO

from rich.console import Console
from rich.live import Live
from rich.text import Text

from fleetupgrade.errors import JournalUnreadable
from fleetupgrade.journal.status import RunStatus, latest_run_dir, run_status
from fleetupgrade.outcomes import ExitCode

__all__ = ["render_status", "status_command"]


def _state_line(status: RunStatus) -> str:
    line = f"result: {status.result}"
    if status.holder is not None:
        line += f" ({status.holder.describe()})"
    if status.waiting is not None:
        until = f" until {status.waiting.until}" if status.waiting.until else ""
        of = f" of wave {status.waiting.wave}" if status.waiting.wave else ""
        of += f" (by {status.waiting.by})" if status.waiting.by else ""
        line += f"; waiting for {status.waiting.kind}{of}{until}"
    if status.result == "interrupted":
        line += " (no process holds the run's lock)"
    if status.recorded_exit_code is not None and not status.active:
        line += f", exit code {status.recorded_exit_code}"
    return line


def render_status(status: RunStatus) -> str:
    """The state of a run for a terminal or a log, one block of plain text."""
    lines = [
        f"run {status.run_id} (plan {status.plan or '?'}, {status.mode or '?'})",
        f"directory {status.run_dir}",
        f"started {status.started_at or '-'}"
        + (f", finished {status.finished_at}" if status.finished_at else ""),
        _state_line(status),
    ]
    if status.in_doubt and not status.active:
        lines.append(f"{status.in_doubt} Supervisor(s) in doubt: --resume settles them first")
    if status.hint:
        lines.append(f"resume with: {status.hint}")
    for wave in status.waves:
        counts = ", ".join(f"{k} {v}" for k, v in wave.outcomes.items()) or "-"
        lines.append(
            f"  wave {wave.name}: {wave.status}; {wave.done} done, {wave.in_flight} in flight, "
            + (f"{wave.detached} detached, " if wave.detached else "")
            + f"{wave.not_started} not started, {wave.pending} pending ({counts})"
        )
    if status.in_flight:
        lines.append("in flight:" if status.active else "in doubt:")
        for item in status.in_flight:
            progress = "-" if item.progress is None else f"{item.progress}%"
            lines.append(
                f"  {item.supervisor}  {item.phase}  {progress}  task {item.task_id or '?'}"
                + (f"  since {item.since}" if item.since else "")
            )
    return "\n".join(lines)


def _damaged_document(run_dir: Path, error: JournalUnreadable) -> str:
    return json.dumps(
        {"run_dir": str(run_dir), "result": "damaged", "status_exit_code": 2, "error": str(error)}
    )


def _snapshot(target: Path, fmt: str, *, compact: bool) -> tuple[str, int, bool]:
    """Rendered text, exit code, and whether the run is still active."""
    try:
        status = run_status(target)
    except JournalUnreadable as exc:
        if fmt == "json":
            return _damaged_document(target, exc), ExitCode.USAGE, False
        return f"directory {target}\nresult: damaged ({exc})", ExitCode.USAGE, False
    if fmt == "json":
        text = json.dumps(status.to_json(), indent=None if compact else 2)
    else:
        text = render_status(status)
    return text, status.code, status.active


def status_command(
    run_dir: Path | None,
    *,
    runs_dir: Path,
    fmt: str,
    out: TextIO,
    watch: bool = False,
    interval: float = 5.0,
) -> int:
    """Print a run's state (``--watch``: until it ends) and return its status exit code."""
    target = run_dir if run_dir is not None else latest_run_dir(runs_dir)
    if not watch:
        text, code, _ = _snapshot(target, fmt, compact=False)
        out.write(text + "\n")
        return code
    if out.isatty() and fmt == "text":
        return _watch_live(target, out, interval)
    while True:
        text, code, active = _snapshot(target, fmt, compact=True)
        out.write(text + ("\n" if fmt == "json" else "\n\n"))
        out.flush()
        if not active:
            return code
        time.sleep(interval)


def _watch_live(target: Path, out: TextIO, interval: float) -> int:
    """Redraw in place on a terminal until the run ends."""
    console = Console(file=out)
    with Live(console=console, auto_refresh=False, transient=False) as live:
        while True:
            text, code, active = _snapshot(target, "text", compact=True)
            live.update(Text(text), refresh=True)
            if not active:
                return code
            time.sleep(interval)
