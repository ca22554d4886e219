"""Operator commands to a running run: approve, reject, pause, continue, abort.

Each is a row in the run's journal (who, when, why), written from any shell that can open
the run directory; the run acts on it within about a second and records it in its history
(docs/design.md, "Control commands"). A command to a finished or unknown run exits 2, and
so do ``pause``, ``continue`` and ``abort`` to a run no process is running (stopped or
interrupted): there is nothing to act on them, and a stale ``abort`` must not end the next
``--resume``. ``approve`` and ``reject`` of such a run are kept for its resume.

Without RUN_DIR the newest unfinished run in ``--runs-dir`` is meant.
"""

from __future__ import annotations

import getpass
import os
import socket
import sys
from collections.abc import Callable
from pathlib import Path

import click

from fleetupgrade.errors import JournalUnreadable, RunError
from fleetupgrade.journal.records import Phase
from fleetupgrade.journal.rundir import JOURNAL_FILE, is_final
from fleetupgrade.journal.status import ACTIVE, run_status
from fleetupgrade.journal.store import Journal
from fleetupgrade.outcomes import ExitCode

__all__ = ["commands", "latest_unfinished_run", "send_control"]

_DIR = click.Path(file_okay=False, path_type=Path)
Guard = Callable[[Callable[[], int]], int]


def _who(by: str | None) -> str:
    if by:
        return by
    try:
        user = getpass.getuser()
    except (KeyError, OSError):
        user = str(os.getuid())
    return f"{user}@{socket.gethostname()}"


def latest_unfinished_run(runs_dir: Path) -> Path:
    """The newest run directory in ``runs_dir`` that is not finished (run ids sort by time)."""
    candidates = (
        sorted(
            (p for p in runs_dir.iterdir() if (p / JOURNAL_FILE).is_file()),
            key=lambda p: p.name,
            reverse=True,
        )
        if runs_dir.is_dir()
        else []
    )
    for candidate in candidates:
        try:
            if not is_final(candidate):
                return candidate
        except JournalUnreadable:
            continue  # a damaged run is nobody's target by default
    raise RunError(f"no unfinished run found in {runs_dir}: name the run directory")


def send_control(
    run_dir: Path | None,
    runs_dir: Path,
    command: str,
    *,
    wave: str | None = None,
    by: str | None = None,
    reason: str | None = None,
) -> int:
    """Write one control row into a run's journal; exit 0, or raise RunError (exit 2)."""
    target = run_dir if run_dir is not None else latest_unfinished_run(runs_dir)
    if not (target / JOURNAL_FILE).is_file():
        raise RunError(f"{target} is not a run directory (no {JOURNAL_FILE})")
    if is_final(target):
        raise RunError(f"run {target.name} is finished: there is nothing to {command}")
    state = run_status(target)
    later = state.code != ACTIVE
    if later and command in ("pause", "continue", "abort"):
        raise RunError(
            f"run {target.name} is not running ({state.result}): there is nothing to "
            f"{command}; `fleetupgrade run PLAN --resume {target}` continues it"
        )
    journal = Journal(target / JOURNAL_FILE)
    try:
        if wave is not None:
            waves = {w.name: w for w in journal.waves()}
            if wave not in waves:
                known = ", ".join(waves) or "none"
                raise RunError(f"run {target.name} has no wave {wave!r} (waves: {known})")
            record = waves[wave]
            if command in ("approve", "reject") and (
                record.started_at is not None
                or all(r.phase is Phase.DONE for r in journal.supervisors(wave))
            ):
                now = record.status.value if record.status else "over"
                raise RunError(
                    f"wave {wave} of run {target.name} has already started ({now}): "
                    f"there is nothing to {command}"
                )
        journal.add_control(command, wave=wave, by=_who(by), reason=reason)
    finally:
        journal.close()
    click.echo(
        f"{command} sent to run {target.name}"
        + (f" (wave {wave})" if wave else "")
        + ("; it takes effect when the run is resumed" if later else "")
    )
    return ExitCode.OK


def commands(guarded: Guard) -> list[click.Command]:
    """The five control commands, wired to the CLI's error guard."""

    def run_dir_options(fn: Callable[..., None]) -> Callable[..., None]:
        fn = click.option("--runs-dir", type=_DIR, default=Path("runs"), show_default=True)(fn)
        fn = click.option("--by", default=None, help="Who (default: user@host).")(fn)
        return click.argument("run_dir", required=False, type=_DIR)(fn)

    @click.command()
    @run_dir_options
    @click.option("--wave", required=True, help="The wave waiting for approval.")
    def approve(run_dir: Path | None, runs_dir: Path, by: str | None, wave: str) -> None:
        """Let a wave waiting for approval start."""
        sys.exit(guarded(lambda: send_control(run_dir, runs_dir, "approve", wave=wave, by=by)))

    @click.command()
    @run_dir_options
    @click.option("--wave", required=True, help="The wave waiting for approval.")
    @click.option("--reason", required=True, help="Why (recorded in the report).")
    def reject(
        run_dir: Path | None, runs_dir: Path, by: str | None, wave: str, reason: str
    ) -> None:
        """Halt a wave waiting for approval (the run ends with exit 3)."""
        sys.exit(
            guarded(
                lambda: send_control(run_dir, runs_dir, "reject", wave=wave, by=by, reason=reason)
            )
        )

    @click.command()
    @run_dir_options
    def pause(run_dir: Path | None, runs_dir: Path, by: str | None) -> None:
        """No new upgrade jobs until ``continue``; jobs in flight are still watched."""
        sys.exit(guarded(lambda: send_control(run_dir, runs_dir, "pause", by=by)))

    @click.command(name="continue")
    @run_dir_options
    def continue_(run_dir: Path | None, runs_dir: Path, by: str | None) -> None:
        """Let a paused run launch again."""
        sys.exit(guarded(lambda: send_control(run_dir, runs_dir, "continue", by=by)))

    @click.command()
    @run_dir_options
    @click.option("--reason", required=True, help="Why (recorded in the report).")
    def abort(run_dir: Path | None, runs_dir: Path, by: str | None, reason: str) -> None:
        """Stop the run as a first SIGTERM would: detach in-flight jobs, report, exit 4."""
        sys.exit(guarded(lambda: send_control(run_dir, runs_dir, "abort", by=by, reason=reason)))

    return [approve, reject, pause, continue_, abort]
