"""Composition root: parse arguments, hand each command to its module, map errors to exit codes.

Every command body lives next to what it drives; this module only wires them to click and
guarantees the exit-code contract (docs/design.md, "Exit codes"): our own errors become
one located message and exit 2, I/O errors on the run directory exit 74, a held lock 75,
anything unexpected exit 70 with a pointer to a crash log, never a bare traceback.
"""

from __future__ import annotations

import sys
import traceback
from collections.abc import Callable
from pathlib import Path
from typing import Any

import click

from fleetupgrade import __version__
from fleetupgrade.cli import control as control_commands
from fleetupgrade.cli import inventory as inventory_commands
from fleetupgrade.cli.notify import notify_test_command
from fleetupgrade.durations import parse_duration
from fleetupgrade.errors import FleetUpgradeError, LockHeld, RunDirIOError
from fleetupgrade.logs import crash_log_path, write_crash_report
from fleetupgrade.outcomes import ExitCode

_EXISTING_FILE = click.Path(exists=True, dir_okay=False, path_type=Path)
# The context object of a process started as the ``fleetupgrade`` command (not invoked
# in-process): a run then keeps late stop signals ignored until the process exits.
_PROCESS_ENTRY = "process-entry"
_DIR = click.Path(file_okay=False, path_type=Path)


def _guarded(body: Callable[[], int]) -> int:
    """Run a command body; a held lock → 75, our other errors → 2, anything else → 70 (a bug)."""
    try:
        return body()
    except LockHeld as exc:
        click.echo(f"error: {exc}", err=True)
        return ExitCode.LOCKED
    except RunDirIOError as exc:
        click.echo(f"error: {exc}", err=True)
        return ExitCode.IO_ERROR
    except FleetUpgradeError as exc:
        click.echo(f"error: {exc}", err=True)
        return ExitCode.USAGE
    except KeyboardInterrupt:
        click.echo("interrupted", err=True)
        return ExitCode.STOPPED
    except Exception as exc:
        crash = crash_log_path(None, _runs_dir())
        try:
            write_crash_report(crash, traceback.format_exc())
            where = f"details in {crash}"
        except OSError:
            where = "no crash log could be written"
        click.echo(f"internal error: {type(exc).__name__}: {exc} ({where})", err=True)
        return ExitCode.INTERNAL


def _runs_dir() -> Path:
    """The command's ``--runs-dir`` (crash reports go there, never into the working directory)."""
    context = click.get_current_context(silent=True)
    runs_dir = None if context is None else context.params.get("runs_dir")
    return runs_dir if isinstance(runs_dir, Path) else Path("runs")


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="fleetupgrade")
def cli() -> None:
    """Upgrade vSphere Supervisors across a fleet of vCenters, in waves."""


@cli.command()
@click.argument("plans", nargs=-1, required=True, type=click.Path(path_type=Path))
@click.option("--format", "fmt", type=click.Choice(["text", "json"]), default="text")
def validate(plans: tuple[Path, ...], fmt: str) -> None:
    """Check plan files offline; print every problem with its location."""
    from fleetupgrade.plan.validate import validate_command

    sys.exit(_guarded(lambda: validate_command(list(plans), fmt=fmt, out=sys.stdout)))


@cli.command()
def schema() -> None:
    """Print the plan's JSON Schema (for editor validation of plan files)."""
    import json

    from fleetupgrade.plan import plan_json_schema

    click.echo(json.dumps(plan_json_schema(), indent=2))


@cli.command()
@click.argument("scenario", type=_EXISTING_FILE)
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=0, show_default=True, help="First port; 0 picks free ports.")
@click.option("--ready-file", type=click.Path(dir_okay=False, path_type=Path))
@click.option("--http", is_flag=True, help="Plain HTTP instead of HTTPS (loopback only).")
def sim(scenario: Path, host: str, port: int, ready_file: Path | None, http: bool) -> None:
    """Run the vCenter simulator for SCENARIO until interrupted."""
    from fleetupgrade.sim.main import serve_command

    sys.exit(
        _guarded(
            lambda: serve_command(scenario, host=host, port=port, ready_file=ready_file, http=http)
        )
    )


@cli.command()
@click.argument("run_dir", type=_DIR)
@click.option(
    "--format",
    "fmt",
    type=click.Choice(["text", "md", "json", "html", "junit"]),
    default="text",
    show_default=True,
)
@click.option("-o", "--output", type=click.Path(dir_okay=False, path_type=Path))
def report(run_dir: Path, fmt: str, output: Path | None) -> None:
    """Re-render the report of a run from its files."""
    from fleetupgrade.report.command import report_command

    sys.exit(_guarded(lambda: report_command(run_dir, fmt=fmt, output=output)))


@cli.command()
@click.argument("plan", required=False, type=click.Path(path_type=Path))
@click.option("--dry-run", is_flag=True, help="Online and read-only: never creates a job.")
@click.option("--prechecks", is_flag=True, help="With --dry-run: run vCenter's own prechecks.")
@click.option(
    "--simulate",
    "simulate",
    is_flag=False,
    flag_value="",
    default=None,
    metavar="[SCENARIO]",
    help="Replace every vCenter by an in-process simulator (scenario file, or derived).",
)
@click.option(
    "--resume",
    "resume",
    is_flag=False,
    flag_value="",
    default=None,
    metavar="[RUN_DIR]",
    help="Continue an interrupted run (default: the latest unfinished run of this plan).",
)
@click.option("--runs-dir", type=_DIR, default=Path("runs"), show_default=True)
@click.option("--log-format", type=click.Choice(["json", "console"]), default=None)
@click.option(
    "--log-level",
    type=click.Choice(["debug", "info", "warning", "error"]),
    default="info",
    show_default=True,
)
@click.option("--no-progress", is_flag=True, help="No live progress display.")
@click.option("--ignore-window", is_flag=True, help="Run now, outside the maintenance window.")
@click.option("--new", is_flag=True, help="Start a new run although an unfinished one exists.")
@click.option(
    "--scenario",
    type=click.Path(dir_okay=False, path_type=Path),
    default=None,
    help="Simulator scenario for --simulate (implies --simulate).",
)
@click.option("--allow-unhealthy", is_flag=True, help="Dry run: count unhealthy Supervisors in.")
@click.option("--approve", multiple=True, metavar="WAVE", help="Pre-approve a gated wave.")
@click.option("--change-ref", default=None, help="Change ticket reference shown in reports.")
@click.option(
    "--lock-timeout",
    default="0s",
    show_default=True,
    help="Wait this long for another run's lock instead of exiting 75.",
)
def run(
    plan: Path | None,
    dry_run: bool,
    prechecks: bool,
    simulate: str | None,
    resume: str | None,
    runs_dir: Path,
    log_format: str | None,
    log_level: str,
    no_progress: bool,
    ignore_window: bool,
    new: bool,
    scenario: Path | None,
    allow_unhealthy: bool,
    approve: tuple[str, ...],
    change_ref: str | None,
    lock_timeout: str,
) -> None:
    """Execute PLAN: waves in order, upgrades, report."""
    from fleetupgrade.cli.run import RunOptions, run_command

    if prechecks and not dry_run:
        raise click.UsageError("--prechecks goes with --dry-run")
    if resume is not None and (dry_run or new):
        raise click.UsageError("--resume cannot be combined with --dry-run or --new")
    if plan is None and simulate:
        # ``run --simulate PLAN``: the option's optional value swallowed the plan.
        plan, simulate = Path(simulate), ""
    if plan is None:
        raise click.UsageError("Missing argument 'PLAN'.")
    if simulate and scenario is None:
        click.echo("warning: --simulate SCENARIO is deprecated; use --scenario SCENARIO", err=True)
        scenario = Path(simulate)
    if scenario is not None and not scenario.is_file():
        raise click.BadParameter(f"no such scenario file: {scenario}", param_hint="--scenario")
    try:
        wait = parse_duration(lock_timeout).total_seconds()
    except ValueError as exc:
        raise click.BadParameter(str(exc), param_hint="--lock-timeout") from None
    options = RunOptions(
        runs_dir=runs_dir,
        dry_run=dry_run,
        prechecks=prechecks,
        allow_unhealthy=allow_unhealthy,
        simulate=simulate is not None or scenario is not None,
        scenario=scenario,
        approve=approve,
        change_ref=change_ref,
        lock_timeout=wait,
        resume=resume is not None,
        resume_dir=Path(resume) if resume else None,
        new=new,
        ignore_window=ignore_window,
        log_format="json" if log_format == "json" else "console" if log_format else None,
        log_level=log_level,
        progress=not no_progress,
        hold_late_signals=click.get_current_context().obj == _PROCESS_ENTRY,
    )
    plan_path = plan
    sys.exit(_guarded(lambda: run_command(plan_path, options)))


@cli.command()
@click.argument("run_dir", required=False, type=_DIR)
@click.option("--runs-dir", type=_DIR, default=Path("runs"), show_default=True)
@click.option("--format", "fmt", type=click.Choice(["text", "json"]), default="text")
@click.option("--watch", is_flag=True, help="Redraw until the run is no longer running or waiting.")
@click.option("--interval", default="5s", show_default=True, help="Redraw interval of --watch.")
def status(run_dir: Path | None, runs_dir: Path, fmt: str, watch: bool, interval: str) -> None:
    """Show the state of a running or finished run (default: the latest in --runs-dir).

    Exit code: 0 succeeded, 1 finished with failures, 3 halted, 4 stopped or interrupted,
    5 running or waiting, 2 no such run or a damaged journal.
    """
    from fleetupgrade.cli.status import status_command
    from fleetupgrade.durations import parse_duration

    try:
        seconds = parse_duration(interval).total_seconds()
    except ValueError as exc:
        raise click.BadParameter(str(exc), param_hint="--interval") from None
    if seconds <= 0:
        raise click.BadParameter("must be more than 0s", param_hint="--interval")
    sys.exit(
        _guarded(
            lambda: status_command(
                run_dir, runs_dir=runs_dir, fmt=fmt, out=sys.stdout, watch=watch, interval=seconds
            )
        )
    )


cli.add_command(inventory_commands.inventory_cli(_guarded))
cli.add_command(inventory_commands.plan_cli(_guarded))
cli.add_command(notify_test_command(_guarded))
for _command in control_commands.commands(_guarded):
    cli.add_command(_command)


def main(argv: list[str] | None = None) -> Any:
    """Console-script entry point."""
    return cli.main(args=argv, prog_name="fleetupgrade", obj=_PROCESS_ENTRY)
