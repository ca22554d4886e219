"""The state of a run as ``fleetupgrade status`` reports it: plain data and its exit code.

The journal says what happened; the plan's lock says whether a process is still at it.
A run without a final result whose lock nobody holds is *interrupted* (killed, or its
machine went away), not running: saying "running" there would make an operator wait for
ever. Rendering lives in :mod:`fleetupgrade.cli.status`.

Exit codes (docs/design.md, Exit codes): 0 succeeded, 1 finished with failures, 3 halted,
4 stopped or interrupted, 5 running or waiting, 2 no such run or a damaged journal.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from fleetupgrade.errors import RunError
from fleetupgrade.journal.lock import Holder, lock_holder
from fleetupgrade.journal.readonly import is_final_view, read_run, run_result
from fleetupgrade.journal.rundir import JOURNAL_FILE, parse_run_id
from fleetupgrade.journal.views import RunView
from fleetupgrade.outcomes import ExitCode, Outcome, WaveStatus
from fleetupgrade.timefmt import format_instant

__all__ = [
    "ACTIVE",
    "InFlight",
    "RunStatus",
    "Waiting",
    "WaveState",
    "latest_run_dir",
    "run_status",
]

ACTIVE = 5  # status exit code of a run that is running or waiting

_FINAL_CODES = {
    "succeeded": ExitCode.OK,
    "completed_with_failures": ExitCode.FAILURES,
    "halted": ExitCode.HALTED,
    "stopped": ExitCode.STOPPED,
}


def instant(value: object) -> str | None:
    """Any stored instant (datetime or ISO text) in the one ``…mmmZ`` spelling."""
    if value is None:
        return None
    if isinstance(value, datetime):
        return format_instant(value)
    if isinstance(value, str):
        try:
            parsed = datetime.fromisoformat(value)
        except ValueError:
            return value
        return format_instant(parsed) if parsed.tzinfo is not None else value
    return str(value)


@dataclass(frozen=True, slots=True)
class Waiting:
    """What an active run waits for (window, pause, approval) and until when, if known."""

    kind: str
    until: str | None = None
    wave: str | None = None  # the wave awaiting approval
    by: str | None = None  # who paused the run


@dataclass(frozen=True, slots=True)
class WaveState:
    """One wave's counts: ``not_started`` and ``detached`` are apart from ``done``."""

    name: str
    status: str
    done: int
    in_flight: int
    detached: int
    not_started: int
    pending: int
    outcomes: dict[str, int]
    precheck_errors: int
    upgrade_failures: int
    started_at: str | None
    finished_at: str | None


@dataclass(frozen=True, slots=True)
class InFlight:
    """A Supervisor whose job may be running on vCenter now (or is in doubt)."""

    supervisor: str
    wave: str
    phase: str
    task_id: str | None
    progress: int | None
    since: str | None


@dataclass(frozen=True, slots=True)
class RunStatus:
    """Everything ``status`` shows about one run."""

    run_dir: Path
    run_id: str
    plan: str | None
    mode: str | None
    started_at: str | None
    finished_at: str | None
    result: str
    code: int
    recorded_exit_code: int | None
    holder: Holder | None
    waiting: Waiting | None
    in_doubt: int
    hint: str | None
    totals: dict[str, int]
    waves: tuple[WaveState, ...] = field(default=())
    in_flight: tuple[InFlight, ...] = field(default=())

    @property
    def active(self) -> bool:
        """Running or waiting: ``--watch`` keeps redrawing."""
        return self.code == ACTIVE

    def to_json(self) -> dict[str, Any]:
        """The ``--format json`` document."""
        holder = self.holder
        return {
            "run_id": self.run_id,
            "run_dir": str(self.run_dir),
            "plan": self.plan,
            "mode": self.mode,
            "started_at": self.started_at,
            "finished_at": self.finished_at,
            "result": self.result,
            "status_exit_code": self.code,
            "exit_code": self.recorded_exit_code,
            "holder": None
            if holder is None
            else {
                "pid": holder.pid,
                "host": holder.host,
                "run_id": holder.run_id,
                "since": holder.since,
            },
            "waiting": None
            if self.waiting is None
            else {
                "kind": self.waiting.kind,
                "until": self.waiting.until,
                **{k: v for k, v in (("wave", self.waiting.wave), ("by", self.waiting.by)) if v},
            },
            "in_doubt": self.in_doubt,
            "hint": self.hint,
            "totals": self.totals,
            "waves": [
                {
                    "name": w.name,
                    "status": w.status,
                    "done": w.done,
                    "in_flight": w.in_flight,
                    "detached": w.detached,
                    "not_started": w.not_started,
                    "pending": w.pending,
                    "outcomes": w.outcomes,
                    "precheck_errors": w.precheck_errors,
                    "upgrade_failures": w.upgrade_failures,
                    "started_at": w.started_at,
                    "finished_at": w.finished_at,
                }
                for w in self.waves
            ],
            "in_flight": [
                {
                    "supervisor": item.supervisor,
                    "wave": item.wave,
                    "phase": item.phase,
                    "task_id": item.task_id,
                    "progress": item.progress,
                    "since": item.since,
                }
                for item in self.in_flight
            ],
        }


def latest_run_dir(runs_dir: Path) -> Path:
    """The newest run directory (run ids sort by start time)."""
    runs = (
        sorted(
            (p for p in runs_dir.iterdir() if parse_run_id(p.name) or (p / JOURNAL_FILE).is_file()),
            key=lambda p: p.name,
        )
        if runs_dir.is_dir()
        else []
    )
    if not runs:
        raise RunError(f"no run found in {runs_dir}")
    return runs[-1]


def _wave_states(view: RunView) -> tuple[WaveState, ...]:
    states = []
    for wave in view.waves:
        rows = wave.supervisors
        done, flying = len(wave.done), len(wave.in_flight)
        detached = sum(r.outcome is Outcome.DETACHED for r in rows)
        not_started = sum(r.outcome is Outcome.NOT_STARTED for r in rows)
        counts = wave.counts
        states.append(
            WaveState(
                name=wave.record.name,
                status=wave.status_word,
                done=done,
                in_flight=flying,
                detached=detached,
                not_started=not_started,
                pending=len(rows) - done - flying - detached - not_started,
                outcomes=dict(sorted(Counter(r.outcome.value for r in rows if r.outcome).items())),
                precheck_errors=counts.precheck_errors,
                upgrade_failures=counts.failures,
                started_at=instant(wave.record.started_at),
                finished_at=instant(wave.record.finished_at),
            )
        )
    return tuple(states)


def _waiting(view: RunView) -> Waiting | None:
    """What the run says it waits for (meta ``waiting``), or an approval its waves show."""
    raw = view.meta.get("waiting")
    if isinstance(raw, dict) and isinstance(raw.get("kind"), str):
        wave, by = raw.get("wave"), raw.get("by")
        return Waiting(
            kind=raw["kind"],
            until=instant(raw.get("until")),
            wave=wave if isinstance(wave, str) else None,
            by=by if isinstance(by, str) else None,
        )
    for wave in view.waves:
        if wave.record.status is WaveStatus.AWAITING_APPROVAL:
            return Waiting(kind="approval", wave=wave.record.name)
    return None


def _resume_hint(view: RunView, run_dir: Path) -> str | None:
    if view.meta.get("mode") not in (None, "run"):
        return None
    plan = view.meta.get("plan_path")
    return f"fleetupgrade run {plan if isinstance(plan, str) else 'PLAN'} --resume {run_dir}"


def _state(
    view: RunView, run_id: str, plan: str | None, runs_dir: Path
) -> tuple[str, int, Holder | None, Waiting | None]:
    """Result word, status exit code, holder and what an active run waits for."""
    result = run_result(view)
    if result is not None and is_final_view(view):
        recorded = view.meta.get("exit_code")
        default = recorded if isinstance(recorded, int) else ExitCode.FAILURES
        return result, _FINAL_CODES.get(result, default), None, None
    holder = lock_holder(runs_dir, plan) if plan else None
    if holder is not None and holder.run_id in (run_id, None):
        waiting = _waiting(view)
        return ("waiting" if waiting else "running"), ACTIVE, holder, waiting
    # Stopped on purpose, or (no result, or a result with Supervisors still in doubt)
    # left behind by a process that is gone.
    return ("stopped" if result == "stopped" else "interrupted"), ExitCode.STOPPED, None, None


def _text(value: object) -> str | None:
    return value if isinstance(value, str) and value else None


def run_status(run_dir: Path) -> RunStatus:
    """The state of one run; raises for no such run (RunError) or a damaged journal."""
    if not run_dir.is_dir():
        raise RunError(f"no such run directory: {run_dir}")
    if not (run_dir / JOURNAL_FILE).is_file():
        raise RunError(f"{run_dir} is not a run directory (no {JOURNAL_FILE})")
    view = read_run(run_dir / JOURNAL_FILE)
    meta = view.meta
    run_id = _text(meta.get("run_id")) or run_dir.name
    parsed = parse_run_id(run_dir.name)
    plan = _text(meta.get("plan_name")) or (parsed.plan if parsed else None)
    result, code, holder, waiting = _state(view, run_id, plan, run_dir.parent)
    recorded = meta.get("exit_code")
    return RunStatus(
        run_dir=run_dir,
        run_id=run_id,
        plan=plan,
        mode=_text(meta.get("mode")),
        started_at=instant(meta.get("started_at")),
        finished_at=instant(meta.get("finished_at")),
        result=result,
        code=code,
        recorded_exit_code=recorded if isinstance(recorded, int) else None,
        holder=holder,
        waiting=waiting,
        in_doubt=sum(r.in_doubt for r in view.supervisors),
        hint=_resume_hint(view, run_dir) if code == ExitCode.STOPPED else None,
        totals=view.totals(),
        waves=_wave_states(view),
        in_flight=tuple(
            InFlight(
                supervisor=r.label,
                wave=r.wave,
                phase=r.phase.value if r.outcome is None else r.outcome.value,
                task_id=r.task_id,
                progress=r.progress,
                since=instant(r.started_at or r.intent_at),
            )
            for r in view.supervisors
            if r.in_doubt
        ),
    )
