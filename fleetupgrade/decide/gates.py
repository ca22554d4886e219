"""A wave's gates: when it halts, and whether it may release the next wave.

Two gates with the same exact arithmetic (docs/design.md, "Gates"): the precheck gate
counts Supervisors whose prechecks reported ERROR, the failure gate counts those that
ended ``failed``, ``timed_out``, ``unhealthy``, ``rejected`` or ``unreachable``. Each is
evaluated whenever an outcome it counts arrives; when the wave is over, both are evaluated
once more together with the rule that a wave in which nothing upgraded (or was already
current) never releases the next one. Every evaluation is a :class:`Decision`, for the
journal's decision log.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Literal, Protocol

from fleetupgrade.decide.classify import NOT_VERDICTS
from fleetupgrade.outcomes import GATE_FAILURE_OUTCOMES, SUCCESS_OUTCOMES, Message, Outcome

__all__ = [
    "NO_SUCCESS_RULE",
    "Culprit",
    "Decision",
    "Limit",
    "Tally",
    "closing_decisions",
    "decision_for_outcome",
    "tally",
]

NO_SUCCESS_RULE = "no Supervisor of the wave upgraded or was already current"
_ERRORS = "precheck ERROR(s)"
_FAILURES = "failure(s)"
Verdict = Literal["halt", "continue"]


class Limit(Protocol):
    """A gate's limit in exact arithmetic (the plan's Threshold)."""

    @property
    def rule(self) -> str:
        """The rule as the decision log records it."""
        ...

    @property
    def limit(self) -> object:
        """The number the plan gives."""
        ...

    def halts(self, count: int, size: int) -> bool:
        """Whether ``count`` in a wave of ``size`` crosses the limit."""
        ...


@dataclass(frozen=True, slots=True)
class Tally:
    """A wave's counts, derived from its Supervisors' outcomes (never stored apart)."""

    size: int
    precheck_errors: int
    failures: int
    successes: int
    settled: int  # Supervisors with a final outcome


def tally(size: int, outcomes: Sequence[Outcome | None]) -> Tally:
    """Count a wave's outcomes (None: not final yet)."""
    return Tally(
        size=size,
        precheck_errors=sum(o is Outcome.PRECHECK_ERROR for o in outcomes),
        failures=sum(o in GATE_FAILURE_OUTCOMES for o in outcomes),
        successes=sum(o in SUCCESS_OUTCOMES for o in outcomes),
        settled=sum(o is not None for o in outcomes),
    )


@dataclass(frozen=True, slots=True)
class Culprit:
    """A Supervisor that tipped a gate, with its precheck ids."""

    supervisor: str
    ids: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class Decision:
    """One evaluation of a wave's gate: what was counted, against what, and the verdict."""

    at: datetime
    wave: str
    rule: str
    errors: int
    failures: int
    size: int
    limit: str
    verdict: str  # "halt" | "continue" | "rejected" | "refused" | "approved"
    culprits: tuple[Culprit, ...] = ()
    reason: str | None = None


def _culprit(label: str, messages: Sequence[Message]) -> Culprit:
    """The Supervisor and its ERROR precheck ids (not the job's own status messages)."""
    ids = tuple(m.id for m in messages if m.severity == "ERROR" and m.id not in NOT_VERDICTS)
    return Culprit(label, ids)


def _gate(
    gate: Limit,
    count: int,
    noun: str,
    *,
    at: datetime,
    wave: str,
    counts: Tally,
    culprits: tuple[Culprit, ...] = (),
) -> Decision:
    """One gate evaluated on ``count`` (precheck ERRORs or failures) of the wave."""
    halts = gate.halts(count, counts.size)
    return Decision(
        at=at,
        wave=wave,
        rule=gate.rule,
        errors=counts.precheck_errors,
        failures=counts.failures,
        size=counts.size,
        limit=str(gate.limit),
        verdict="halt" if halts else "continue",
        culprits=culprits if halts else (),
        reason=f"{count} {noun} of {counts.size}: {gate.rule}" if halts else None,
    )


def decision_for_outcome(
    *,
    at: datetime,
    wave: str,
    counts: Tally,
    outcome: Outcome,
    label: str,
    messages: Sequence[Message],
    precheck: Limit,
    failure: Limit,
) -> Decision | None:
    """Evaluate the gate that counts ``outcome`` (None: no gate counts it)."""
    culprits = (_culprit(label, messages),)
    if outcome is Outcome.PRECHECK_ERROR:
        noun, count, gate = _ERRORS, counts.precheck_errors, precheck
    elif outcome in GATE_FAILURE_OUTCOMES:
        noun, count, gate = _FAILURES, counts.failures, failure
    else:
        return None
    return _gate(gate, count, noun, at=at, wave=wave, counts=counts, culprits=culprits)


def closing_decisions(
    *, at: datetime, wave: str, counts: Tally, precheck: Limit, failure: Limit
) -> list[Decision]:
    """The wave's closing verdict: both gates, then the no-success rule."""
    nothing = counts.successes == 0
    return [
        _gate(precheck, counts.precheck_errors, _ERRORS, at=at, wave=wave, counts=counts),
        _gate(failure, counts.failures, _FAILURES, at=at, wave=wave, counts=counts),
        Decision(
            at=at,
            wave=wave,
            rule=NO_SUCCESS_RULE,
            errors=counts.precheck_errors,
            failures=counts.failures,
            size=counts.size,
            limit="0",
            verdict="halt" if nothing else "continue",
            reason=f"{NO_SUCCESS_RULE}: the next wave is not released" if nothing else None,
        ),
    ]


def halting(decisions: Sequence[Decision]) -> Decision | None:
    """The first decision that halts, if any."""
    return next((d for d in decisions if d.verdict == "halt"), None)
