"""The ``run`` and ``status`` commands: from a plan path and options to an exit code.

This is where the run directory, the plan lock, credentials, logging and the event loop
are put together, in an order that makes the exit codes of DESIGN §1 true: the lock
first (75 wins over everything but a bug), then everything that can be wrong before
anything is fired (2), then the run itself (4, 3, 1, 0).
"""

from __future__ import annotations

import os
import sys
import traceback
from collections.abc import AsyncIterator, Mapping
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Literal, TextIO

import anyio
import structlog

from fleetupgrade.cli.live import LiveProgress
from fleetupgrade.cli.progress_feed import progress_snapshot
from fleetupgrade.errors import FleetUpgradeError, PlanChanged, RunError
from fleetupgrade.journal.reporting import build_report
from fleetupgrade.journal.rundir import (
    PlanLock,
    RunDir,
    create_run_dir,
    find_run_to_resume,
    new_run_id,
    unfinished_runs,
)
from fleetupgrade.journal.store import Journal, utcnow
from fleetupgrade.logs import close_logging, configure_logging, register_secret
from fleetupgrade.outcomes import ExitCode
from fleetupgrade.plan import Plan, load_plan, resolve_credentials
from fleetupgrade.report.files import write_report_files
from fleetupgrade.report.model import Report
from fleetupgrade.report.summary import render_summary
from fleetupgrade.rollout.dryrun import DryRun
from fleetupgrade.rollout.fleet import VCenterHandle
from fleetupgrade.rollout.runner import Runner, RunSettings, initialise_journal
from fleetupgrade.rollout.simulate import simulated_fleet
from fleetupgrade.vcenter import VCenterEndpoint

log = structlog.get_logger("fleetupgrade.engine")


@dataclass(frozen=True, slots=True)
class RunOptions:
    """Every option of ``fleetupgrade run``."""

    runs_dir: Path = Path("runs")
    dry_run: bool = False
    prechecks: bool = False
    simulate: bool = False
    scenario: Path | None = None
    resume: bool = False
    resume_dir: Path | None = None
    new: bool = False
    ignore_window: bool = False
    log_format: Literal["json", "console"] | None = None
    log_level: str = "info"
    progress: bool = True


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
        )
    return endpoints


def run_command(plan_path: Path, options: RunOptions, *, out: TextIO = sys.stdout) -> int:
    """``fleetupgrade run``: returns the exit code; never lets a traceback escape."""
    plan = load_plan(plan_path)
    endpoints = None if options.simulate else endpoints_from_plan(plan, os.environ)
    if options.dry_run:
        run_dir = create_run_dir(
            options.runs_dir, new_run_id(plan.name) + "-dry-run", plan.source_text
        )
        return _execute(plan, run_dir, options, endpoints, out=out)
    lock = PlanLock(options.runs_dir, plan.name)
    if options.resume:
        run_dir = find_run_to_resume(options.runs_dir, plan.name, options.resume_dir)
        lock.acquire(run_dir.run_id)  # LockHeld → exit 75, before anything else is checked
    else:
        run_id = new_run_id(plan.name)
        lock.acquire(run_id)
    try:
        if options.resume:
            _check_plan_unchanged(plan, run_dir)
        else:
            pending = unfinished_runs(options.runs_dir, plan.name)
            if pending and not options.new:
                raise RunError(
                    f"run {pending[0].run_id} of this plan is unfinished: continue it with "
                    "--resume, or start a new run with --new"
                )
            run_dir = create_run_dir(options.runs_dir, run_id, plan.source_text)
        return _execute(plan, run_dir, options, endpoints, out=out)
    finally:
        lock.release()


def _check_plan_unchanged(plan: Plan, run_dir: RunDir) -> None:
    """A resumed run must run the very plan it began with."""
    journal = Journal(run_dir.journal_file, readonly=True)
    try:
        began_with = journal.meta().get("plan_sha256")
    finally:
        journal.close()
    if began_with != plan.sha256:
        raise PlanChanged(
            f"{plan.path} changed since run {run_dir.run_id} began "
            f"(sha256 {began_with} then, {plan.sha256} now); "
            "restore it, or start anew with --new"
        )


def _execute(
    plan: Plan,
    run_dir: RunDir,
    options: RunOptions,
    endpoints: Mapping[str, VCenterEndpoint] | None,
    *,
    out: TextIO,
) -> int:
    progress_on = options.progress and sys.stderr.isatty()
    configure_logging(
        events_file=run_dir.events_file, stderr_format=options.log_format, level=options.log_level
    )
    structlog.contextvars.bind_contextvars(run_id=run_dir.run_id)
    journal = Journal(run_dir.journal_file)
    try:
        report = anyio.run(_main, plan, run_dir, journal, options, endpoints, progress_on)
    except FleetUpgradeError:
        # Found before anything was fired (a scenario, a simulator port): this run directory
        # must not pass for an unfinished run that blocks the next one.
        journal.set_meta(result="aborted", exit_code=ExitCode.USAGE)
        raise
    except Exception as exc:
        log.error("internal_error", error=repr(exc), traceback=traceback.format_exc())
        print(
            f"internal error: {type(exc).__name__}: {exc} (events log: {run_dir.events_file})",
            file=sys.stderr,
        )
        return ExitCode.INTERNAL
    finally:
        journal.close()
        structlog.contextvars.unbind_contextvars("run_id")
        close_logging()
    print(render_summary(report, run_dir.path), file=out)
    assert report.exit_code is not None
    return report.exit_code


@asynccontextmanager
async def _fleet_endpoints(
    plan: Plan,
    run_dir: RunDir,
    options: RunOptions,
    endpoints: Mapping[str, VCenterEndpoint] | None,
) -> AsyncIterator[tuple[Mapping[str, VCenterEndpoint], RunSettings]]:
    if endpoints is not None:
        yield endpoints, RunSettings(ignore_window=options.ignore_window)
        return
    async with simulated_fleet(plan, options.scenario, run_dir.path / "sim") as fleet:
        log.info("simulator_started", scenario=fleet.scenario_source)
        yield fleet.endpoints, RunSettings(ignore_window=True, time_scale=fleet.time_scale)


async def _main(
    plan: Plan,
    run_dir: RunDir,
    journal: Journal,
    options: RunOptions,
    endpoints: Mapping[str, VCenterEndpoint] | None,
    progress_on: bool,
) -> Report:
    mode = "dry-run" if options.dry_run else "run"
    if not journal.meta():
        journal.set_meta(
            run_id=run_dir.run_id,
            plan_name=plan.name,
            plan_sha256=plan.sha256,
            mode=mode,
            started_at=utcnow().isoformat(),
        )
    initialise_journal(journal, plan)
    async with _fleet_endpoints(plan, run_dir, options, endpoints) as (fleet_endpoints, settings):
        if options.dry_run:
            return await _dry_run(plan, run_dir, journal, fleet_endpoints, settings, options)
        runner = Runner(
            plan=plan,
            run_dir=run_dir,
            journal=journal,
            endpoints=fleet_endpoints,
            settings=settings,
        )
        if not progress_on:
            return await runner.run()
        with LiveProgress(enabled=True) as live:
            async with anyio.create_task_group() as tg:
                tg.start_soon(_refresh_progress, live, journal)
                report = await runner.run()
                tg.cancel_scope.cancel()
            live.update(progress_snapshot(journal))  # the final state, not the last tick
            return report


async def _refresh_progress(live: LiveProgress, journal: Journal) -> None:
    """Redraw the live display twice a second from the journal."""
    while True:
        live.update(progress_snapshot(journal))
        await anyio.sleep(0.5)


async def _dry_run(
    plan: Plan,
    run_dir: RunDir,
    journal: Journal,
    endpoints: Mapping[str, VCenterEndpoint],
    settings: RunSettings,
    options: RunOptions,
) -> Report:
    poll = max(settings.seconds(plan.defaults.poll_interval), 0.01)
    fleet = {name: VCenterHandle(name, endpoint, poll) for name, endpoint in endpoints.items()}
    log.info("dry_run_started", plan=plan.name, prechecks=options.prechecks)
    result, code = await DryRun(plan, journal, fleet, settings, options.prechecks).run()
    finished_at = utcnow()
    journal.set_meta(result=result.value, exit_code=code, finished_at=finished_at.isoformat())
    report = build_report(
        journal,
        plan_name=plan.name,
        plan_path=plan.path,
        finished_at=finished_at,
        result=result,
        exit_code=code,
    )
    write_report_files(report, run_dir.path)
    log.info("run_finished", outcome=result.value, exit_code=code, **report.totals)
    return report
