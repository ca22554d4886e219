"""A wave's halt gate: counts precheck ERRORs and upgrade failures, decides, logs why.

Every evaluation is committed to the journal's decision log (counts, rule, verdict), so
the report can show a change board exactly why a wave halted, or why it did not.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import structlog

from fleetupgrade.journal.store import DecisionRecord, Journal, utcnow
from fleetupgrade.outcomes import Outcome
from fleetupgrade.plan import Threshold

log = structlog.get_logger("fleetupgrade.engine")


@dataclass(slots=True)
class WaveGate:
    """Halt decision of one wave (DESIGN §2, exact arithmetic)."""

    wave: str
    size: int
    threshold: Threshold
    max_upgrade_failures: int | None
    journal: Journal
    errors: int = 0
    failures: int = 0
    halted: bool = False
    halt_reason: str | None = field(default=None)

    def record(self, outcome: Outcome) -> None:
        """Count an outcome; evaluate the rule when it is one the rule counts."""
        if outcome is Outcome.PRECHECK_ERROR:
            self.errors += 1
            self.evaluate()
        elif outcome is Outcome.FAILED:
            self.failures += 1
            if self.max_upgrade_failures is not None:
                self.evaluate()

    def evaluate(self) -> bool:
        """Decide now; returns whether the wave is (or already was) halted."""
        by_errors = self.threshold.halts(self.errors, self.size)
        by_failures = (
            self.max_upgrade_failures is not None and self.failures > self.max_upgrade_failures
        )
        verdict = "halt" if by_errors or by_failures else "continue"
        rule = self.threshold.rule
        if self.max_upgrade_failures is not None:
            rule = f"{rule}; max_upgrade_failures: failures > {self.max_upgrade_failures}"
        self.journal.add_decision(
            DecisionRecord(
                at=utcnow(),
                wave=self.wave,
                rule=rule,
                errors=self.errors,
                failures=self.failures,
                size=self.size,
                limit=str(self.threshold.limit),
                verdict=verdict,
            )
        )
        log.info(
            "threshold_evaluated",
            wave=self.wave,
            rule=rule,
            errors=self.errors,
            failures=self.failures,
            size=self.size,
            verdict=verdict,
        )
        if verdict == "halt" and not self.halted:
            self.halted = True
            self.halt_reason = (
                f"{self.errors} precheck ERROR(s) of {self.size}: {self.threshold.rule}"
                if by_errors
                else f"{self.failures} upgrade failure(s) > {self.max_upgrade_failures}"
            )
            log.warning("wave_halted", wave=self.wave, reason=self.halt_reason)
        return self.halted
