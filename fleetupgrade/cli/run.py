"""The ``run`` command: from a plan path and options to an exit code.

This is where the run directory, the plan lock, credentials, logging, notifications and
the event loop are put together, in an order that makes the exit codes true
(docs/design.md, "Exit codes"): the lock first (75 wins over everything but a bug and an
I/O error), then everything that can be wrong before anything is fired (2), then the run
itself (4, 3, 1, 0).
"""

from __future__ import annotations

import os
import sys
from collections.abc import AsyncIterator, Mapping
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import TextIO

import anyio
import structlog

from fleetupgrade import __version__
from fleetupgrade.cli.live import LiveProgress
from fleetupgrade.cli.progress_feed import progress_snapshot
from fleetupgrade.cli.run_end import (
    anything_fired,
    detach_in_flight,
    first_error,
    ignore_late_signals,
    internal_error,
    is_final,
    print_summary,
    restore_signal_handlers,
    signal_handlers,
)
from fleetupgrade.cli.run_setup import (
    Mode,
    RunOptions,
    check_resumable,
    endpoints_from_plan,
    notify_targets,
    operator,
    warn_open_password_files,
)
from fleetupgrade.errors import FleetUpgradeError, RunDirIOError, RunError
from fleetupgrade.journal.lock import PlanLock
from fleetupgrade.journal.records import NotificationRecord
from fleetupgrade.journal.reporting import build_report
from fleetupgrade.journal.rundir import (
    RunDir,
    create_run_dir,
    find_run_to_resume,
    new_run_id,
    private_files,
    unfinished_runs,
)
from fleetupgrade.journal.store import Journal
from fleetupgrade.journal.views import load_view
from fleetupgrade.logs import (
    close_logging,
    configure_logging,
    events_log_failure,
    set_console_sink,
)
from fleetupgrade.notify import NotificationResult, Notifier, NotifyTarget, RunInfo
from fleetupgrade.outcomes import ExitCode, RunResult
from fleetupgrade.plan import Plan, load_plan
from fleetupgrade.report.errors import ReportError
from fleetupgrade.report.files import write_report_files, write_report_json
from fleetupgrade.report.model import Report
from fleetupgrade.report.summary import render_summary
from fleetupgrade.rollout.dryrun import DryRun
from fleetupgrade.rollout.fleet import VCenterHandle
from fleetupgrade.rollout.runner import Runner
from fleetupgrade.rollout.settings import RunSettings, initialise_journal
from fleetupgrade.timefmt import utcnow
from fleetupgrade.vcenter import VCenterEndpoint

log = structlog.get_logger("fleetupgrade.cli")

__all__ = ["RunOptions", "endpoints_from_plan", "run_command"]


__all__ = ["RunOptions", "endpoints_from_plan", "run_command"]


@dataclass(frozen=True, slots=True)
class _Job:
    """One run to carry out: the plan, its run directory, the options and the fleet."""

    plan: Plan
    run_dir: RunDir
    options: RunOptions
    mode: Mode
    endpoints: Mapping[str, VCenterEndpoint] | None
    targets: list[NotifyTarget]


def run_command(plan_path: Path, options: RunOptions, *, out: TextIO | None = None) -> int:
    """``fleetupgrade run``: returns the exit code (errors of our tree propagate to the CLI).

    ``out`` defaults to the ``sys.stdout`` of the call (not of the import: a caller that
    swaps stdout, as click's test runner does, gets the summary).
    """
    out = sys.stdout if out is None else out
    plan = load_plan(plan_path)
    plan.require_waves()
    mode = Mode.of(plan, options)
    endpoints = None if options.simulate else endpoints_from_plan(plan, os.environ)
    targets = notify_targets(plan)
    if options.dry_run:
        with private_files():
            run_dir = create_run_dir(
                options.runs_dir, new_run_id(plan.name) + "-dry-run", plan.source_text
            )
        return _execute(_Job(plan, run_dir, options, mode, endpoints, targets), out=out)
    lock = PlanLock(options.runs_dir, plan.name)
    if options.resume:
        run_dir = find_run_to_resume(options.runs_dir, plan.name, options.resume_dir)
        lock.acquire(run_dir.run_id, wait=options.lock_timeout)
    else:
        run_id = new_run_id(plan.name)
        lock.acquire(run_id, wait=options.lock_timeout)
    try:
        if options.resume:
            check_resumable(plan, run_dir, mode)
        else:
            pending = unfinished_runs(options.runs_dir, plan.name)
            if pending and not options.new:
                raise RunError(
                    f"run {pending[0].run_id} of this plan is unfinished: continue it with "
                    "--resume, or start a new run with --new"
                )
            with private_files():
                run_dir = create_run_dir(options.runs_dir, run_id, plan.source_text)
        return _execute(_Job(plan, run_dir, options, mode, endpoints, targets), out=out)
    finally:
        lock.release()


def _execute(job: _Job, *, out: TextIO) -> int:
    """Run the job with the stop signals given back to an in-process caller afterwards."""
    options = job.options
    before = signal_handlers()
    try:
        return _execute_logged(job, out=out)
    finally:
        if not options.hold_late_signals:
            restore_signal_handlers(before)


def _execute_logged(job: _Job, *, out: TextIO) -> int:
    run_dir, options = job.run_dir, job.options
    progress_on = options.progress and not options.dry_run and sys.stderr.isatty()
    with private_files():
        configure_logging(
            events_file=run_dir.events_file,
            stderr_format=options.log_format,
            level=options.log_level,
        )
        journal = Journal(run_dir.journal_file)
    structlog.contextvars.bind_contextvars(run_id=run_dir.run_id)
    try:
        with private_files():  # everything the run writes (journal, sim CA, reports) is 0600
            report = anyio.run(_main, job, journal, progress_on)
    except RunDirIOError as exc:
        log.error("run_dir_io_error", reason=str(exc))
        detach_in_flight(journal)
        raise
    except FleetUpgradeError:
        # Found before anything was fired: this run must not pass for an unfinished one.
        if not options.resume and not anything_fired(journal):
            journal.set_meta(result="aborted", exit_code=ExitCode.USAGE)
        raise
    except Exception as exc:
        return internal_error(exc, run_dir)
    finally:
        if is_final(journal):
            journal.seal()
        journal.close()
        structlog.contextvars.unbind_contextvars("run_id")
        close_logging()
    failure = events_log_failure()
    if failure is not None:
        raise RunDirIOError(run_dir.events_file, "write the events log", failure)
    assert report.exit_code is not None
    print_summary(render_summary(report, run_dir.path), out)
    return report.exit_code


@asynccontextmanager
async def _fleet(job: _Job) -> AsyncIterator[tuple[dict[str, VCenterHandle], RunSettings]]:
    """The run's vCenter handles: the plan's real vCenters, or a simulator serving them."""
    plan, endpoints = job.plan, job.endpoints
    if endpoints is None:
        from fleetupgrade.rollout.simulate import simulated_fleet

        async with simulated_fleet(plan, job.options.scenario, job.run_dir.path / "sim") as sim:
            log.info("simulator_started", reason=sim.scenario_source)
            settings = RunSettings.from_plan(plan, time_scale=sim.time_scale, ignore_window=True)
            yield _handles(sim.endpoints, settings), settings
        return
    settings = RunSettings.from_plan(plan, ignore_window=job.options.ignore_window)
    yield _handles(endpoints, settings), settings


def _handles(
    endpoints: Mapping[str, VCenterEndpoint], settings: RunSettings
) -> dict[str, VCenterHandle]:
    return {name: VCenterHandle(name, ep, settings.poll) for name, ep in endpoints.items()}


async def _main(job: _Job, journal: Journal, progress_on: bool) -> Report:
    try:
        return await _run(job, journal, progress_on)
    except BaseExceptionGroup as group:
        first = first_error(group)
        if isinstance(first, Exception):
            raise first from group
        raise


async def _run(job: _Job, journal: Journal, progress_on: bool) -> Report:
    plan, run_dir, options, mode = job.plan, job.run_dir, job.options, job.mode
    resumed = "run_id" in journal.meta()
    if not resumed:
        journal.set_meta(
            run_id=run_dir.run_id,
            plan_name=plan.name,
            plan_sha256=plan.sha256,
            mode="dry-run" if options.dry_run else "run",
            simulated=mode.simulated,
            scenario_sha256=mode.scenario_sha256,
            started_at=utcnow().isoformat(),
            tool_version=__version__,
            operator=operator(),
            change_ref=options.change_ref or plan.change_ref,
        )
    initialise_journal(journal, plan)
    journal.add_history("resumed" if resumed else "started", by=operator())
    log.info("run_resumed" if resumed else "run_started", reason=plan.name)
    if not mode.simulated:
        warn_open_password_files(plan)

    def write(final: RunResult | None = None, code: int | None = None) -> Report:
        report = build_report(
            load_view(journal),
            plan_name=plan.name,
            plan_path=plan.path,
            finished_at=utcnow() if final is not None else None,
            result=final,
            exit_code=code,
        )
        try:
            with private_files():
                if final is None:
                    write_report_json(report, run_dir.path)
                else:
                    write_report_files(report, run_dir.path)
        except ReportError as exc:
            if isinstance(exc.__cause__, OSError):  # the run directory's failure, not ours
                raise RunDirIOError(run_dir.path, "write the report into", exc.__cause__) from exc
            raise
        return report

    async with _fleet(job) as (fleet, settings):
        if options.dry_run:
            result, code = await DryRun(
                plan, journal, fleet, settings, options.prechecks, options.allow_unhealthy
            ).run()
            ignore_late_signals()
            journal.set_meta(result=result.value, exit_code=code, finished_at=utcnow().isoformat())
            log.info("run_finished", result=result.value, exit_code=code)
            return write(result, code)

        def on_result(item: NotificationResult) -> None:
            journal.add_notification(
                NotificationRecord(item.at, item.target, item.event, item.status, item.attempts)
            )

        info = RunInfo(run_dir.run_id, plan.name, mode.simulated, run_dir.path / "report.html")
        async with Notifier(job.targets, run_info=info, on_result=on_result) as notifier:
            runner = Runner(
                plan=plan,
                journal=journal,
                fleet=fleet,
                settings=settings,
                write_report=write,
                emit=notifier.emit,
                pre_approved=frozenset(options.approve),
            )
            if not progress_on:
                end = await runner.run()
                ignore_late_signals()
            else:
                window_end = None
                if plan.window is not None and not settings.ignore_window:
                    window_end = plan.window.end
                with LiveProgress(enabled=True) as live:
                    set_console_sink(live.print_log_line)
                    try:
                        async with anyio.create_task_group() as tg:
                            tg.start_soon(_refresh_progress, live, journal, window_end)
                            end = await runner.run()
                            ignore_late_signals()
                            tg.cancel_scope.cancel()
                        live.update(progress_snapshot(journal, window_end=window_end))
                    finally:
                        set_console_sink(None)
        return write(end.result, end.exit_code)


async def _refresh_progress(
    live: LiveProgress, journal: Journal, window_end: datetime | None
) -> None:
    """Redraw the live display twice a second from the journal."""
    while True:
        live.update(progress_snapshot(journal, window_end=window_end))
        await anyio.sleep(0.5)
