"""The run's result and exit code — one function for the run and the dry run.

docs/design.md, "Exit codes": a stop (signal, window end, abort, approval timeout) wins
over a halt, a halt over failures; a dry run judges its own outcomes (``would_upgrade``).
When several codes apply, :func:`first_code` keeps the one earliest in the precedence.
"""

from __future__ import annotations

from collections.abc import Iterable

from fleetupgrade.outcomes import (
    DRY_RUN_SUCCESS_OUTCOMES,
    SUCCESS_OUTCOMES,
    ExitCode,
    Outcome,
    RunResult,
    WaveStatus,
)

__all__ = ["first_code", "run_result"]

_CODES = {
    RunResult.STOPPED: ExitCode.STOPPED,
    RunResult.HALTED: ExitCode.HALTED,
    RunResult.COMPLETED_WITH_FAILURES: ExitCode.FAILURES,
    RunResult.SUCCEEDED: ExitCode.OK,
}


def run_result(
    waves: Iterable[WaveStatus | None],
    outcomes: Iterable[Outcome | None],
    *,
    stopped: bool,
    dry_run: bool = False,
) -> tuple[RunResult, int]:
    """The result of a run whose waves and Supervisors ended like this."""
    statuses = list(waves)
    if stopped or WaveStatus.STOPPED in statuses:
        result = RunResult.STOPPED
    elif WaveStatus.HALTED in statuses:
        result = RunResult.HALTED
    else:
        good = DRY_RUN_SUCCESS_OUTCOMES if dry_run else SUCCESS_OUTCOMES
        failed = any(o not in good for o in outcomes)
        result = RunResult.COMPLETED_WITH_FAILURES if failed else RunResult.SUCCEEDED
    return result, _CODES[result]


def first_code(codes: Iterable[int]) -> int:
    """Of several applicable exit codes, the one the precedence puts first."""
    found = set(codes)
    return next((code for code in ExitCode.PRECEDENCE if code in found), ExitCode.OK)
