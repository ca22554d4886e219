"""``fleetupgrade status``: the live or final state of a run, read from its journal.

It opens the journal read-only (WAL lets it read while the run writes), so an operator
can look at a run in progress from another shell without disturbing it.
"""

from __future__ import annotations

import json
import sqlite3
from collections import Counter
from pathlib import Path
from typing import Any, TextIO

from fleetupgrade.errors import RunError
from fleetupgrade.journal.rundir import JOURNAL_FILE
from fleetupgrade.journal.store import Journal, Phase
from fleetupgrade.outcomes import ExitCode


def latest_run_dir(runs_dir: Path) -> Path:
    """The newest run directory (run ids sort by start time)."""
    runs = (
        sorted(p for p in runs_dir.glob("*") if (p / JOURNAL_FILE).is_file())
        if runs_dir.is_dir()
        else []
    )
    if not runs:
        raise RunError(f"no run found in {runs_dir}")
    return runs[-1]


def run_status(run_dir: Path) -> dict[str, Any]:
    """The state of one run as plain data."""
    if not (run_dir / JOURNAL_FILE).is_file():
        raise RunError(f"{run_dir} is not a run directory (no {JOURNAL_FILE})")
    try:
        journal = Journal(run_dir / JOURNAL_FILE, readonly=True)
        try:
            meta = journal.meta()
            waves = journal.waves()
            rows = journal.supervisors()
        finally:
            journal.close()
    except sqlite3.Error as exc:
        raise RunError(f"cannot read {run_dir / JOURNAL_FILE}: {exc}") from exc
    wave_states = []
    for wave in waves:
        mine = [r for r in rows if r.wave == wave.name]
        in_flight = [
            r for r in mine if r.outcome is None and r.phase in (Phase.INTENT, Phase.LAUNCHED)
        ]
        done = [r for r in mine if r.outcome is not None]
        wave_states.append(
            {
                "name": wave.name,
                "status": wave.status.value
                if wave.status
                else ("running" if wave.started_at else "pending"),
                "done": len(done),
                "in_flight": len(in_flight),
                "pending": len(mine) - len(done) - len(in_flight),
                "outcomes": dict(
                    sorted(Counter(r.outcome.value for r in done if r.outcome).items())
                ),
                "precheck_errors": wave.precheck_errors,
            }
        )
    return {
        "run_id": meta.get("run_id"),
        "plan": meta.get("plan_name"),
        "mode": meta.get("mode"),
        "started_at": meta.get("started_at"),
        "finished_at": meta.get("finished_at"),
        "result": meta.get("result") or "running",
        "exit_code": meta.get("exit_code"),
        "waves": wave_states,
        "in_flight": [
            {"supervisor": r.label, "task_id": r.task_id, "progress": r.progress}
            for r in rows
            if r.outcome is None and r.phase in (Phase.INTENT, Phase.LAUNCHED)
        ],
    }


def render_status(status: dict[str, Any]) -> str:
    """The state of a run for a terminal."""
    lines = [
        f"run {status['run_id']} (plan {status['plan']}, {status['mode']})",
        f"started {status['started_at']}, result: {status['result']}"
        + (f", exit code {status['exit_code']}" if status["exit_code"] is not None else ""),
    ]
    for wave in status["waves"]:
        counts = ", ".join(f"{k} {v}" for k, v in wave["outcomes"].items()) or "-"
        lines.append(
            f"  wave {wave['name']}: {wave['status']}; {wave['done']} done, "
            f"{wave['in_flight']} in flight, {wave['pending']} pending ({counts})"
        )
    if status["in_flight"]:
        lines.append("in flight:")
        for item in status["in_flight"]:
            progress = "-" if item["progress"] is None else f"{item['progress']}%"
            lines.append(f"  {item['supervisor']}  {progress}  task {item['task_id'] or '?'}")
    return "\n".join(lines)


def status_command(run_dir: Path | None, *, runs_dir: Path, fmt: str, out: TextIO) -> int:
    """Print a run's state; exit 0 when it could be read."""
    target = run_dir if run_dir is not None else latest_run_dir(runs_dir)
    status = run_status(target)
    out.write((json.dumps(status, indent=2) if fmt == "json" else render_status(status)) + "\n")
    return ExitCode.OK
