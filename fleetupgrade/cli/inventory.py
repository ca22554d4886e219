"""The ``inventory`` and ``plan new`` commands: from a fleet to a list, and to a plan.

Both are read-only towards vCenter. Exit codes: 0 when every vCenter was read, 1 when one
or more could not be (the others are still listed, and a plan is still written without
them), 2 for a bad plan, inventory file, option or selection file (docs/design.md, Exit
codes). ``plan new`` also exits 1, writing nothing, when no Supervisor needs the upgrade.
"""

from __future__ import annotations

import io
import os
import re
import sys
from collections.abc import Callable, Sequence
from datetime import timedelta
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import TYPE_CHECKING, Any, TextIO

import click

if TYPE_CHECKING:
    from fleetupgrade.inventory import Inventory, NewPlanOptions, WaveSize

__all__ = [
    "Guard",
    "inventory_cli",
    "inventory_command",
    "plan_cli",
    "plan_new_command",
    "read_source",
]

Guard = Callable[[Callable[[], int]], int]
"""Runs a command body and returns its exit code, mapping errors (``cli.main._guarded``)."""

_FILE = click.Path(dir_okay=False, path_type=Path)


def _live_inventory(plan_path: Path, vcenters: Sequence[str], target: str | None) -> Inventory:
    """Load the plan and read its fleet (credentials missing → exit 2 before any request)."""
    from fleetupgrade.cli.run_setup import endpoints_from_plan
    from fleetupgrade.errors import FleetUpgradeError
    from fleetupgrade.inventory import inventory_from_plan, select_vcenters
    from fleetupgrade.logs import configure_logging
    from fleetupgrade.plan import load_plan

    plan = select_vcenters(load_plan(plan_path), vcenters)
    try:
        endpoints = endpoints_from_plan(plan, os.environ)
    except ValueError as exc:  # a URL or thumbprint no client could use
        raise FleetUpgradeError(f"{plan_path}: {exc}") from None
    configure_logging(events_file=None, level="warning")
    return inventory_from_plan(plan, endpoints, target=target)


def _write(text: str, output: Path | None, out: TextIO) -> None:
    from fleetupgrade.errors import FleetUpgradeError

    if output is None:
        out.write(text)
        out.flush()
        return
    try:
        output.write_text(text, encoding="utf-8")
    except OSError as exc:
        raise FleetUpgradeError(f"cannot write {output}: {exc.strerror or exc}") from None


def inventory_command(
    plan_path: Path,
    *,
    vcenters: Sequence[str] = (),
    target: str | None = None,
    fmt: str = "table",
    output: Path | None = None,
    out: TextIO | None = None,
) -> int:
    """``fleetupgrade inventory``: print or write the fleet's Supervisors; the exit code."""
    out = sys.stdout if out is None else out
    from fleetupgrade.inventory import inventory_csv, inventory_json, print_table
    from fleetupgrade.outcomes import ExitCode

    inventory = _live_inventory(plan_path, vcenters, target)
    if fmt == "json":
        text = inventory_json(inventory)
    elif fmt == "csv":
        text = inventory_csv(inventory)
    else:
        buffer = io.StringIO()
        print_table(inventory, buffer, width=None if output is None and out.isatty() else 200)
        text = buffer.getvalue()
    _write(text, output, out)
    return ExitCode.FAILURES if inventory.errors else ExitCode.OK


def read_source(source: Path) -> Inventory:
    """A saved inventory JSON (offline) or a fleet/plan file (read live), told by content."""
    from fleetupgrade.errors import FleetUpgradeError
    from fleetupgrade.inventory import parse_inventory_json

    try:
        head = source.read_bytes()[:4096].decode("utf-8", errors="replace")
    except OSError as exc:
        raise FleetUpgradeError(f"cannot read {source}: {exc.strerror or exc}") from None
    if head.lstrip("\ufeff \t\r\n").startswith("{"):
        text = source.read_text(encoding="utf-8-sig")
        return parse_inventory_json(text, source=str(source))
    return _live_inventory(source, (), None)


def plan_new_command(
    source: Path,
    options: NewPlanOptions,
    *,
    output: Path | None = None,
    force: bool = False,
    out: TextIO | None = None,
    err: TextIO | None = None,
) -> int:
    """``fleetupgrade plan new``: write the plan, print the summary; the exit code."""
    out = sys.stdout if out is None else out
    err = sys.stderr if err is None else err
    from fleetupgrade.errors import FleetUpgradeError
    from fleetupgrade.inventory import draft_plan, render_plan
    from fleetupgrade.outcomes import ExitCode

    if output is not None and output.exists() and not force:
        raise FleetUpgradeError(f"{output} exists: choose another file, or add --force")
    inventory = read_source(source)
    result = draft_plan(inventory, options)
    if not any(wave.members for wave in result.draft.waves):
        print(result.summary(), file=err)
        print(f"nothing to upgrade to {options.target}: no plan written", file=err)
        return ExitCode.FAILURES
    base = (output.parent if output is not None else Path.cwd()).resolve()
    _write(render_plan(result.draft, base=base), output, out)
    print(result.summary(), file=err)
    if output is not None:
        print(f"wrote {output}", file=err)
    return ExitCode.FAILURES if inventory.errors else ExitCode.OK


def _version(ctx: click.Context, param: click.Parameter, value: str | None) -> str | None:
    if value is not None and (not value.strip() or value != value.strip()):
        raise click.BadParameter("a version is a non-empty word like 9.1.0")
    return value


def _plan_name(ctx: click.Context, param: click.Parameter, value: str | None) -> str | None:
    from fleetupgrade.plan.fields import NAME_PATTERN

    if value is not None and not re.match(NAME_PATTERN, value):
        raise click.BadParameter("a plan name is lower-case letters, digits and '-' (at most 63)")
    return value


def _percent(ctx: click.Context, param: click.Parameter, value: str) -> Decimal:
    try:
        number = Decimal(value)
    except InvalidOperation:
        raise click.BadParameter(f"{value!r} is not a number") from None
    if not (number.is_finite() and 0 < number <= 100):
        raise click.BadParameter("must be above 0 and at most 100")
    return number


def _wave_size(ctx: click.Context, param: click.Parameter, value: str) -> WaveSize:
    from fleetupgrade.inventory import WaveSize

    try:
        return WaveSize.parse(value)
    except ValueError as exc:
        raise click.BadParameter(str(exc)) from None


def _pause(ctx: click.Context, param: click.Parameter, value: str) -> timedelta:
    from fleetupgrade.durations import parse_duration

    if value.strip() in ("0", ""):
        return timedelta(0)
    try:
        return parse_duration(value)
    except ValueError as exc:
        raise click.BadParameter(str(exc)) from None


def _target_option(*, required: bool, help: str) -> Callable[[Any], Any]:
    """``--to VERSION``, the target version: the same option for both commands."""
    return click.option(
        "--to", "target", required=required, metavar="VERSION", callback=_version, help=help
    )


def inventory_cli(guard: Guard) -> click.Command:
    """The ``inventory`` command; ``guard`` maps errors to exit codes (the CLI's own)."""

    @click.command()
    @click.argument("plan", type=click.Path(path_type=Path))
    @click.option(
        "--vcenter",
        "vcenters",
        multiple=True,
        metavar="NAME",
        help="Only this vCenter (repeatable).",
    )
    @_target_option(required=False, help="Target version (default: the plan's desired_version).")
    @click.option(
        "--format",
        "fmt",
        type=click.Choice(["table", "json", "csv"]),
        default="table",
        show_default=True,
    )
    @click.option("-o", "--output", type=_FILE, help="Write to FILE instead of stdout.")
    def inventory(
        plan: Path, vcenters: tuple[str, ...], target: str | None, fmt: str, output: Path | None
    ) -> None:
        """List every Supervisor of PLAN's vCenters: versions, state, health (read-only)."""
        sys.exit(
            guard(
                lambda: inventory_command(
                    plan, vcenters=vcenters, target=target, fmt=fmt, output=output
                )
            )
        )

    return inventory


def plan_cli(guard: Guard) -> click.Group:
    """The ``plan`` group with ``plan new``; ``guard`` as for :func:`inventory_cli`."""

    @click.group("plan")
    def plan_group() -> None:
        """Write plans."""

    @plan_group.command("new")
    @click.argument("source", type=click.Path(path_type=Path))
    @_target_option(required=True, help="Version to upgrade to.")
    @click.option("--name", callback=_plan_name, help="Plan name (default: <fleet>-to-<version>).")
    @click.option(
        "--canary",
        type=click.IntRange(min=0),
        help="Canary size (default: 1 per vCenter, at most 5; 0: none).",
    )
    @click.option(
        "--wave-size",
        default="25%",
        show_default=True,
        callback=_wave_size,
        help="N or P% of the rest.",
    )
    @click.option("--max-per-vcenter-per-wave", "max_per_vcenter", type=click.IntRange(min=1))
    @click.option(
        "--max-precheck-error-percent", default="10", show_default=True, callback=_percent
    )
    @click.option("--max-failure-percent", default="5", show_default=True, callback=_percent)
    @click.option(
        "--pause",
        default="15m",
        show_default=True,
        callback=_pause,
        help="Soak time between waves (0: none).",
    )
    @click.option(
        "--approve-after-canary", is_flag=True, help="The wave after the canary waits for approve."
    )
    @click.option(
        "--include", type=_FILE, help="CSV (vcenter, id or name): only these Supervisors."
    )
    @click.option(
        "--exclude", type=_FILE, help="CSV (vcenter, id or name): never these Supervisors."
    )
    @click.option("-o", "--output", type=_FILE, help="Write the plan to FILE instead of stdout.")
    @click.option("--force", is_flag=True, help="Overwrite FILE if it exists.")
    def plan_new(
        source: Path,
        include: Path | None,
        exclude: Path | None,
        output: Path | None,
        force: bool,
        **choices: Any,
    ) -> None:
        """Write a plan from SOURCE: a fleet/plan file (read live) or a saved inventory JSON."""

        def body() -> int:
            from fleetupgrade.inventory import NewPlanOptions, load_selectors

            # The other options are named after NewPlanOptions' fields; their callbacks
            # have already turned each into its value.
            options = NewPlanOptions(
                **choices,
                include=None if include is None else load_selectors(include),
                exclude=None if exclude is None else load_selectors(exclude),
            )
            return plan_new_command(source, options, output=output, force=force)

        sys.exit(guard(body))

    return plan_group
