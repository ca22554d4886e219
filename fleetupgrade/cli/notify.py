"""``fleetupgrade notify-test PLAN``: one test event to every ``[[notify]]`` target.

Why: a wrong webhook URL, an expired token or a missing CA is otherwise found at 3 a.m.,
when a wave halts and nobody hears of it. The command reads the plan's targets (and the
environment variables they name) exactly as ``run`` does, sends one ``test`` event to
each with a single attempt, prints what each answered (never a URL: targets are named
by position and source, docs/notify.md, "Checking the targets") and exits 0 when every
target answered 2xx, 1 otherwise, 2 for an invalid plan, a plan without ``[[notify]]``
or a missing environment variable.
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from pathlib import Path

import anyio
import click

from fleetupgrade.cli.run_setup import notify_targets
from fleetupgrade.errors import RunError
from fleetupgrade.notify import (
    notify_test,
    notify_test_exit_code,
    render_notify_test,
)
from fleetupgrade.plan import load_plan

__all__ = ["notify_test_command", "notify_test_main"]

Guard = Callable[[Callable[[], int]], int]


def notify_test_main(plan_path: Path) -> int:
    """Send the test event to each target of the plan and print the answers; the exit code."""
    plan = load_plan(plan_path)
    if not plan.notify:
        raise RunError(f"{plan_path}: the plan has no [[notify]] targets to test")
    targets = notify_targets(plan)
    results = anyio.run(lambda: notify_test(targets, plan=plan.name))
    click.echo(render_notify_test(results), nl=False)
    return notify_test_exit_code(results)


def notify_test_command(guarded: Guard) -> click.Command:
    """The ``notify-test`` command, wired to the CLI's error guard."""

    @click.command(name="notify-test")
    @click.argument("plan", type=click.Path(path_type=Path))
    def notify_test_cmd(plan: Path) -> None:
        """Send one test event to each [[notify]] target of PLAN and show each answer.

        Exit code: 0 every target answered 2xx, 1 otherwise, 2 invalid plan, no
        [[notify]] target or a missing environment variable.
        """
        sys.exit(guarded(lambda: notify_test_main(plan)))

    return notify_test_cmd
