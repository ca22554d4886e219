"""The ``run`` command: from a plan path and options to an exit code.

This is where the run directory, the plan lock, credentials, logging, notifications and
the event loop are put together, in an order that makes the exit codes true
(docs/design.md, "Exit codes"): the lock first (75 wins over everything but a bug and an
I/O error), then everything that can be wrong before anything is fired (2), then the run
itself (4, 3, 1, 0).
"""

from __future__ import annotations

import getpass
import hashlib
import os
import signal
import socket
import sys
import threading
import traceback
from collections.abc import AsyncIterator, Mapping
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any, Literal, TextIO

import anyio
import structlog

from fleetupgrade import __version__
from fleetupgrade.cli.live import LiveProgress
from fleetupgrade.cli.progress_feed import progress_snapshot
from fleetupgrade.errors import FleetUpgradeError, PlanChanged, RunDirIOError, RunError
from fleetupgrade.journal.lock import PlanLock
from fleetupgrade.journal.records import NotificationRecord, Phase
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
    crash_log_path,
    events_log_failure,
    is_console_gone,
    mute_stream,
    register_secret,
    set_console_sink,
    write_crash_report,
)
from fleetupgrade.notify import NotificationResult, Notifier, NotifyTarget, RunInfo
from fleetupgrade.outcomes import ExitCode, RunResult
from fleetupgrade.plan import Plan, load_plan, password_file_too_open, resolve_credentials
from fleetupgrade.plan.notify import resolve_notify_targets
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


@dataclass(frozen=True, slots=True)
class RunOptions:
    """Every option of ``fleetupgrade run``."""

    runs_dir: Path = Path("runs")
    dry_run: bool = False
    prechecks: bool = False
    allow_unhealthy: bool = False
    simulate: bool = False
    scenario: Path | None = None
    resume: bool = False
    resume_dir: Path | None = None
    new: bool = False
    ignore_window: bool = False
    approve: tuple[str, ...] = ()
    change_ref: str | None = None
    lock_timeout: float = 0.0
    log_format: Literal["json", "console"] | None = None
    log_level: str = "info"
    progress: bool = True
    hold_late_signals: bool = False
    """Once the result is decided, ignore SIGTERM/SIGHUP/SIGINT until the process exits.

    Set by the console entry point; in-process callers (tests) get their handlers back.
    """


@dataclass(frozen=True, slots=True)
class Mode:
    """Real or simulated, and which scenario: a resume must match the run it continues."""

    simulated: bool
    scenario_sha256: str | None

    @classmethod
    def of(cls, plan: Plan, options: RunOptions) -> Mode:
        """The mode the options ask for."""
        if not options.simulate:
            return cls(False, None)
        if options.scenario is None:
            return cls(True, "derived:" + plan.sha256)
        try:
            data = options.scenario.read_bytes()
        except OSError as exc:
            raise RunError(f"cannot read the scenario {options.scenario}: {exc}") from exc
        return cls(True, hashlib.sha256(data).hexdigest())

    def describe(self) -> str:
        """``real`` or ``simulated (scenario …)``."""
        return f"simulated (scenario {self.scenario_sha256})" if self.simulated else "real"


def endpoints_from_plan(plan: Plan, env: Mapping[str, str]) -> dict[str, VCenterEndpoint]:
    """Endpoints of the plan's real vCenters; missing credentials are an error here (exit 2)."""
    endpoints = {}
    for vcenter in plan.vcenters:
        username, password = resolve_credentials(vcenter, env)
        register_secret(password)
        endpoints[vcenter.name] = VCenterEndpoint(
            name=vcenter.name,
            url=vcenter.url,
            username=username,
            password=password,
            ca_file=vcenter.ca_file,
            tls_thumbprint=vcenter.tls_thumbprint,
            request_timeout=plan.defaults.request_timeout.total_seconds(),
            max_connections=plan.max_concurrent_for(vcenter.name) + 2,
            max_requests_per_second=plan.requests_per_second_for(vcenter.name),
        )
    return endpoints


def _operator() -> str:
    try:
        user = getpass.getuser()
    except (KeyError, OSError):
        user = str(os.getuid())
    return f"{user}@{socket.gethostname()}"


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
    targets = _notify_targets(plan)
    if options.dry_run:
        with private_files():
            run_dir = create_run_dir(
                options.runs_dir, new_run_id(plan.name) + "-dry-run", plan.source_text
            )
        return _execute(plan, run_dir, options, mode, endpoints, targets, out=out)
    lock = PlanLock(options.runs_dir, plan.name)
    if options.resume:
        run_dir = find_run_to_resume(options.runs_dir, plan.name, options.resume_dir)
        lock.acquire(run_dir.run_id, wait=options.lock_timeout)
    else:
        run_id = new_run_id(plan.name)
        lock.acquire(run_id, wait=options.lock_timeout)
    try:
        if options.resume:
            _check_resumable(plan, run_dir, mode)
        else:
            pending = unfinished_runs(options.runs_dir, plan.name)
            if pending and not options.new:
                raise RunError(
                    f"run {pending[0].run_id} of this plan is unfinished: continue it with "
                    "--resume, or start a new run with --new"
                )
            with private_files():
                run_dir = create_run_dir(options.runs_dir, run_id, plan.source_text)
        return _execute(plan, run_dir, options, mode, endpoints, targets, out=out)
    finally:
        lock.release()


def _notify_targets(plan: Plan) -> list[NotifyTarget]:
    resolved = resolve_notify_targets(plan, os.environ)
    return [
        NotifyTarget(
            name=t.label,
            url=t.url,
            events=frozenset(t.events),
            format="slack" if t.format == "slack" else "json",
            secret=t.secret,
        )
        for t in resolved
    ]


def _check_resumable(plan: Plan, run_dir: RunDir, mode: Mode) -> None:
    """A resumed run must run the very plan it began with, in the same mode."""
    journal = Journal(run_dir.journal_file, readonly=True)
    try:
        meta = journal.meta()
    finally:
        journal.close()
    if meta.get("plan_sha256") != plan.sha256:
        raise PlanChanged(
            f"{plan.path} changed since run {run_dir.run_id} began "
            f"(sha256 {meta.get('plan_sha256')} then, {plan.sha256} now); "
            "restore it, or start anew with --new"
        )
    began = Mode(bool(meta.get("simulated", False)), meta.get("scenario_sha256"))
    if began != mode:
        raise RunError(
            f"run {run_dir.run_id} began {began.describe()}; it cannot be resumed "
            f"{mode.describe()}: resume it the way it began"
        )


def _execute(
    plan: Plan,
    run_dir: RunDir,
    options: RunOptions,
    mode: Mode,
    endpoints: Mapping[str, VCenterEndpoint] | None,
    targets: list[NotifyTarget],
    *,
    out: TextIO,
) -> int:
    before = _signal_handlers()
    try:
        return _execute_run(plan, run_dir, options, mode, endpoints, targets, out=out)
    finally:
        if not options.hold_late_signals:
            _restore_signal_handlers(before)


def _execute_run(
    plan: Plan,
    run_dir: RunDir,
    options: RunOptions,
    mode: Mode,
    endpoints: Mapping[str, VCenterEndpoint] | None,
    targets: list[NotifyTarget],
    *,
    out: TextIO,
) -> int:
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
            report = anyio.run(
                _main, plan, run_dir, journal, options, mode, endpoints, targets, progress_on
            )
    except RunDirIOError as exc:
        log.error("run_dir_io_error", reason=str(exc))
        _detach_in_flight(journal)
        raise
    except FleetUpgradeError:
        # Found before anything was fired: this run must not pass for an unfinished one.
        if not options.resume and not _anything_fired(journal):
            journal.set_meta(result="aborted", exit_code=ExitCode.USAGE)
        raise
    except Exception as exc:
        return _internal_error(exc, run_dir)
    finally:
        if _is_final(journal):
            journal.seal()
        journal.close()
        structlog.contextvars.unbind_contextvars("run_id")
        close_logging()
    failure = events_log_failure()
    if failure is not None:
        raise RunDirIOError(run_dir.events_file, "write the events log", failure)
    assert report.exit_code is not None
    _print_summary(render_summary(report, run_dir.path), out)
    return report.exit_code


def _is_final(journal: Journal) -> bool:
    """Halted, finished or aborted with nothing in doubt: nothing will write it again."""
    try:
        result = journal.meta().get("result")
        return result not in (None, "stopped") and not any(
            r.in_doubt for r in journal.supervisors()
        )
    except RunDirIOError:
        return False


def _detach_in_flight(journal: Journal) -> None:
    """After an I/O error: jobs that may be running are ``detached``, where the journal can."""
    try:
        for row in journal.supervisors():
            if row.phase in (Phase.INTENT, Phase.LAUNCHED):
                journal.mark_detached(
                    row.key, "the run directory failed; --resume asks vCenter first"
                )
    except RunDirIOError:
        pass  # the journal is what failed: --resume settles the rows from vCenter


def _anything_fired(journal: Journal) -> bool:
    return any(r.attempts > 0 or r.phase is not Phase.PENDING for r in journal.supervisors())


def _internal_error(exc: Exception, run_dir: RunDir) -> int:
    """A bug: the message, the events log and a crash report in the run directory (exit 70)."""
    text = traceback.format_exc()
    log.error("internal_error", reason=f"{type(exc).__name__}: {exc}")
    crash = crash_log_path(run_dir.path, run_dir.path.parent)
    try:
        write_crash_report(crash, text)
        where = f"details in {crash}"
    except OSError:
        where = "no crash report could be written"
    _print_summary(
        f"internal error: {type(exc).__name__}: {exc} (events log: {run_dir.events_file}; {where})",
        sys.stderr,
    )
    return ExitCode.INTERNAL


_LATE_SIGNALS = (signal.SIGTERM, signal.SIGHUP, signal.SIGINT)
_Handlers = dict[signal.Signals, Any]


def _signal_handlers() -> _Handlers:
    """The current handlers of the stop signals (to give them back to in-process callers)."""
    return {s: signal.getsignal(s) for s in _LATE_SIGNALS}


def _restore_signal_handlers(handlers: _Handlers) -> None:
    if threading.current_thread() is threading.main_thread():
        for s, handler in handlers.items():
            signal.signal(s, handler)


def _ignore_late_signals() -> None:
    """The result is decided: a SIGTERM/SIGHUP/SIGINT from now on cannot change the exit code.

    Called as soon as the runner returns (its own signal listener is gone then), so the
    report writing, the summary and the exit all keep the result's code.
    """
    if threading.current_thread() is threading.main_thread():
        for s in _LATE_SIGNALS:
            signal.signal(s, signal.SIG_IGN)


def _print_summary(text: str, out: TextIO) -> None:
    """Print; a console that went away (closed pipe, lost terminal) is not an error."""
    try:
        print(text, file=out, flush=True)
    except OSError as exc:
        if not is_console_gone(exc):
            raise
        mute_stream(out)


def _first_error(group: BaseExceptionGroup[BaseException]) -> BaseException:
    for exc in group.exceptions:
        if isinstance(exc, BaseExceptionGroup):
            return _first_error(exc)
        return exc
    return group


@asynccontextmanager
async def _fleet(
    plan: Plan,
    run_dir: RunDir,
    options: RunOptions,
    endpoints: Mapping[str, VCenterEndpoint] | None,
) -> AsyncIterator[tuple[dict[str, VCenterHandle], RunSettings]]:
    if endpoints is None:
        from fleetupgrade.rollout.simulate import simulated_fleet

        async with simulated_fleet(plan, options.scenario, run_dir.path / "sim") as sim:
            log.info("simulator_started", reason=sim.scenario_source)
            settings = RunSettings.from_plan(plan, time_scale=sim.time_scale, ignore_window=True)
            yield _handles(sim.endpoints, settings), settings
        return
    settings = RunSettings.from_plan(plan, ignore_window=options.ignore_window)
    yield _handles(endpoints, settings), settings


def _handles(
    endpoints: Mapping[str, VCenterEndpoint], settings: RunSettings
) -> dict[str, VCenterHandle]:
    return {name: VCenterHandle(name, ep, settings.poll) for name, ep in endpoints.items()}


async def _main(
    plan: Plan,
    run_dir: RunDir,
    journal: Journal,
    options: RunOptions,
    mode: Mode,
    endpoints: Mapping[str, VCenterEndpoint] | None,
    targets: list[NotifyTarget],
    progress_on: bool,
) -> Report:
    try:
        return await _run(plan, run_dir, journal, options, mode, endpoints, targets, progress_on)
    except BaseExceptionGroup as group:
        first = _first_error(group)
        if isinstance(first, Exception):
            raise first from group
        raise


async def _run(
    plan: Plan,
    run_dir: RunDir,
    journal: Journal,
    options: RunOptions,
    mode: Mode,
    endpoints: Mapping[str, VCenterEndpoint] | None,
    targets: list[NotifyTarget],
    progress_on: bool,
) -> Report:
    resumed = bool(journal.meta())
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
            operator=_operator(),
            change_ref=options.change_ref or plan.change_ref,
        )
    initialise_journal(journal, plan)
    journal.add_history("resumed" if resumed else "started", by=_operator())
    log.info("run_resumed" if resumed else "run_started", reason=plan.name)
    if not mode.simulated:
        _warn_open_password_files(plan)

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

    async with _fleet(plan, run_dir, options, endpoints) as (fleet, settings):
        if options.dry_run:
            result, code = await DryRun(
                plan, journal, fleet, settings, options.prechecks, options.allow_unhealthy
            ).run()
            _ignore_late_signals()
            journal.set_meta(result=result.value, exit_code=code, finished_at=utcnow().isoformat())
            log.info("run_finished", result=result.value, exit_code=code)
            return write(result, code)

        def on_result(item: NotificationResult) -> None:
            journal.add_notification(
                NotificationRecord(item.at, item.target, item.event, item.status, item.attempts)
            )

        info = RunInfo(run_dir.run_id, plan.name, mode.simulated, run_dir.path / "report.html")
        async with Notifier(targets, run_info=info, on_result=on_result) as notifier:
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
                _ignore_late_signals()
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
                            _ignore_late_signals()
                            tg.cancel_scope.cancel()
                        live.update(progress_snapshot(journal, window_end=window_end))
                    finally:
                        set_console_sink(None)
        return write(end.result, end.exit_code)


def _warn_open_password_files(plan: Plan) -> None:
    """As ssh does for keys: a password file others may read is worth a warning at every run."""
    for vcenter in plan.vcenters:
        path = vcenter.password_file
        if path is not None and password_file_too_open(path):
            log.warning(
                "password_file_too_open",
                vcenter=vcenter.name,
                path=str(path),
                reason="readable by group or others: chmod 600 it",
            )


async def _refresh_progress(
    live: LiveProgress, journal: Journal, window_end: datetime | None
) -> None:
    """Redraw the live display twice a second from the journal."""
    while True:
        live.update(progress_snapshot(journal, window_end=window_end))
        await anyio.sleep(0.5)
