"""``fleetupgrade notify-test``: one test event to each target, and what each answered.

Why: a webhook that is misconfigured (wrong URL, expired token, missing CA) is otherwise
discovered at 3 a.m. when a wave halts and nobody hears of it. The test sends one
``test`` event per target, whatever events the target subscribes to, with a single
attempt (a retry would hide a flaky receiver from the operator checking it), all targets
at once. ``render_notify_test`` draws the table the command prints and
``notify_test_exit_code`` gives its exit code: 0 when every target answered 2xx, else 1.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import ClassVar

import anyio

from fleetupgrade import __version__
from fleetupgrade.notify.notifier import register_target_secrets
from fleetupgrade.notify.payload import EventData, build_delivery
from fleetupgrade.notify.send import (
    DELIVERY_POLICY,
    AttemptResult,
    make_tls_context,
    open_http,
    post_once,
)
from fleetupgrade.notify.target import NotifyTarget, RunInfo
from fleetupgrade.retry_policy import RetryPolicy
from fleetupgrade.timefmt import utcnow

__all__ = ["TestDelivery", "notify_test", "notify_test_exit_code", "render_notify_test"]


@dataclass(frozen=True, slots=True)
class TestDelivery:
    """One target's answer to the test event (``status_code`` is ``None`` without answer)."""

    __test__: ClassVar[bool] = False  # not a pytest test class, despite its name

    target: str
    status_code: int | None
    ok: bool
    detail: str


async def notify_test(
    targets: Sequence[NotifyTarget],
    *,
    ca_file: Path | None = None,
    plan: str = "",
    policy: RetryPolicy | None = None,
) -> list[TestDelivery]:
    """Send one ``test`` event to each target (one attempt each, all at once).

    Each attempt is bounded by ``policy.attempt_timeout``; results come back in the order
    of ``targets``. An unusable ``ca_file`` raises ``NotifyTargetError``.
    """
    register_target_secrets(targets)
    context = make_tls_context(ca_file)
    bounds = policy or DELIVERY_POLICY
    summary = f"test notification from fleetupgrade {__version__}; this target is reachable"
    data = EventData("test", utcnow(), RunInfo(run_id=None, plan=plan), {"summary": summary})
    answers: list[AttemptResult | None] = [None] * len(targets)

    async def send(index: int, target: NotifyTarget) -> None:
        with anyio.move_on_after(bounds.attempt_timeout):
            answers[index] = await post_once(http, target, build_delivery(target, data))

    async with open_http(context) as http, anyio.create_task_group() as tg:
        for index, target in enumerate(targets):
            tg.start_soon(send, index, target)
    silent = AttemptResult(None, True, f"no answer within {bounds.attempt_timeout:g}s")
    return [
        TestDelivery(target.name, got.status_code, got.ok, got.detail)
        for target, got in ((t, a or silent) for t, a in zip(targets, answers, strict=True))
    ]


def notify_test_exit_code(results: Sequence[TestDelivery]) -> int:
    """0 when there was at least one target and every one answered 2xx, else 1."""
    return 0 if results and all(result.ok for result in results) else 1


def render_notify_test(results: Sequence[TestDelivery]) -> str:
    """The table ``notify-test`` prints: target, verdict, HTTP status, detail; then a total."""
    if not results:
        return "no [[notify]] targets in this plan\n"
    rows = [("TARGET", "RESULT", "HTTP", "DETAIL")]
    rows += [
        (
            result.target,
            "ok" if result.ok else "FAILED",
            str(result.status_code) if result.status_code is not None else "-",
            result.detail,
        )
        for result in results
    ]
    widths = [max(len(row[column]) for row in rows) for column in range(3)]
    lines = [
        "  ".join(cell.ljust(width) for cell, width in zip(row[:3], widths, strict=True))
        + "  "
        + row[3]
        for row in rows
    ]
    good = sum(result.ok for result in results)
    lines.append(f"{good} of {len(results)} target(s) accepted the test event")
    return "\n".join(line.rstrip() for line in lines) + "\n"
