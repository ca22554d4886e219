"""Run directories built through the journal's own writer, in any state a run can leave.

The engine is not needed to reach a state (interrupted mid-launch, halted, detached …):
the journal's named transitions write exactly the rows a run would.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from fleetupgrade.journal.records import SupervisorRecord, VCenterRecord, WaveRecord
from fleetupgrade.journal.rundir import RunDir, create_run_dir, private_files
from fleetupgrade.journal.store import Journal
from fleetupgrade.outcomes import Outcome, WaveStatus

STARTED = datetime(2026, 12, 5, 22, 0, 1, 123456, tzinfo=UTC)
PLAN_TEXT = 'version = 1\nname = "q4"\n'

# A Supervisor's state → the transitions that lead there (after initialise).
FINAL_OUTCOMES = {o.value for o in Outcome}


@dataclass(frozen=True)
class Wave:
    """A wave to write: its name, status and each Supervisor's state."""

    name: str
    states: Sequence[str]
    status: WaveStatus | None = None


def _drive(journal: Journal, key: str, state: str) -> None:
    if state == "pending":
        return
    if state == "not_started":
        journal.mark_not_started(key, "wave halted")
        return
    journal.mark_intent(key)
    if state == "intent":
        return
    journal.mark_launched(key, task_id=f"task-{key}", started_at=STARTED)
    if state == "launched":
        journal.set_progress(key, 40)
        return
    if state == "detached":
        journal.mark_detached(key, "run stopped")
        return
    assert state in FINAL_OUTCOMES, state
    journal.mark_done(key, Outcome(state), None)


def make_run(
    runs_dir: Path,
    *,
    plan: str = "q4",
    run_id: str | None = None,
    waves: Sequence[Wave] = (Wave("canary", ["upgraded"], WaveStatus.COMPLETED),),
    meta: Mapping[str, Any] | None = None,
) -> RunDir:
    """A run directory of ``plan`` whose journal holds these waves and this meta."""
    run_id = run_id or f"20261205T220001Z-{plan}-3f9a"
    run_dir = create_run_dir(runs_dir, run_id, PLAN_TEXT)
    with private_files():
        journal = Journal(run_dir.journal_file)
    try:
        facts = {
            "run_id": run_id,
            "plan_name": plan,
            "plan_sha256": "0" * 64,
            "mode": "run",
            "started_at": STARTED.isoformat(),
        }
        journal.set_meta(**{**facts, **(meta or {})})
        journal.initialise(
            [
                WaveRecord(position=i, name=w.name, threshold_kind="count", threshold_limit="0")
                for i, w in enumerate(waves)
            ],
            [
                SupervisorRecord(
                    key=f"{w.name}-{j}",
                    wave=w.name,
                    position=j,
                    vcenter="vc-east",
                    ref_id=f"supervisor-{w.name}-{j}",
                    ref_name=None,
                    to_version="9.1.0",
                )
                for w in waves
                for j in range(len(w.states))
            ],
            [VCenterRecord(name="vc-east", url="https://127.0.0.1:1")],
        )
        for wave in waves:
            if wave.status is not None:
                journal.set_wave_status(
                    wave.name,
                    wave.status,
                    started_at=STARTED,
                    finished_at=None
                    if wave.status in (WaveStatus.RUNNING, WaveStatus.AWAITING_APPROVAL)
                    else STARTED,
                )
            for j, state in enumerate(wave.states):
                _drive(journal, f"{wave.name}-{j}", state)
    finally:
        journal.close()
    return run_dir


def set_meta(run_dir: RunDir, **values: Any) -> None:
    """Record more run-level facts, as a run does when it finishes."""
    journal = Journal(run_dir.journal_file)
    try:
        journal.set_meta(**values)
    finally:
        journal.close()


_HOLDER = """
import sys
from pathlib import Path
from fleetupgrade.journal.lock import PlanLock
PlanLock(Path(sys.argv[1]), sys.argv[2]).acquire(sys.argv[3])
print("held", flush=True)
sys.stdin.read()
"""


class LockHolderProcess:
    """Another process holding a plan's lock for a run id, killable with SIGKILL."""

    def __init__(self, runs_dir: Path, plan: str, run_id: str) -> None:
        self.process = subprocess.Popen(
            [sys.executable, "-c", _HOLDER, str(runs_dir), plan, run_id],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
        )
        assert self.process.stdout is not None
        assert self.process.stdout.readline() == b"held\n"

    @property
    def pid(self) -> int:
        """The holder's process id."""
        return self.process.pid

    def kill(self) -> None:
        """Die as a crashed run does: no release, the kernel drops the lock."""
        if self.process.poll() is None:
            os.kill(self.process.pid, signal.SIGKILL)
        self.process.wait(10)
        for stream in (self.process.stdin, self.process.stdout):
            if stream is not None:
                stream.close()
