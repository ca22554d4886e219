"""The run's one prediction of an upgrade's length: what teaches it, and when it switches."""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime, timedelta

from hypothesis import given
from hypothesis import strategies as st

from fleetupgrade.decide.admission import LEARN_AFTER
from fleetupgrade.journal.records import Phase, SupervisorRecord
from fleetupgrade.outcomes import Outcome
from fleetupgrade.rollout.learned import ASSUMED_NODES, UpgradeDurations, learned_duration

START = datetime(2026, 12, 1, 2, 0, tzinfo=UTC)


def finished(
    key: str,
    seconds: float,
    *,
    outcome: Outcome = Outcome.UPGRADED,
    adopted: bool = False,
    nodes: int | None = None,
) -> SupervisorRecord:
    """A Supervisor done ``seconds`` after its create."""
    return SupervisorRecord(
        key,
        "w",
        0,
        "vc",
        key,
        None,
        "9.1.0",
        phase=Phase.DONE,
        outcome=outcome,
        adopted=adopted,
        control_plane_nodes=nodes,
        started_at=START,
        job_ended_at=START + timedelta(seconds=seconds),
    )


def expect_600(nodes: int) -> float | None:
    """The plan's expectation: ten minutes whatever the size."""
    del nodes
    return 600.0


def test_the_plan_speaks_until_three_have_finished() -> None:
    """Before three upgrades of a size finished, the plan's expectation is the prediction."""
    book = UpgradeDurations(expect_600)
    for index in range(LEARN_AFTER - 1):
        book.record(finished(f"k{index}", 60.0))
    assert book.predict(ASSUMED_NODES) == 600.0
    book.record(finished("last", 90.0))
    assert book.predict(None) == 60.0  # an unknown size is vSphere's default of three


def test_only_watched_successes_teach_and_each_only_once() -> None:
    """Failures, adopted jobs and a second record of the same row do not count."""
    book = UpgradeDurations(lambda nodes: None)
    book.record(finished("failed", 5.0, outcome=Outcome.FAILED))
    book.record(finished("adopted", 5.0, adopted=True))
    for _ in range(LEARN_AFTER):
        book.record(finished("same", 5.0))
    assert book.predict(3) is None
    book.record(finished("five-nodes", 5.0, nodes=5))
    assert book.predict(3) is None


@given(st.lists(st.floats(min_value=1, max_value=1e5), min_size=LEARN_AFTER, max_size=40))
def test_a_resumed_run_predicts_what_the_live_run_did(seconds: list[float]) -> None:
    """A book seeded from the journal predicts exactly as one fed outcome by outcome."""
    rows = [finished(f"k{i}", s) for i, s in enumerate(seconds)]
    live = UpgradeDurations(expect_600)
    for row in rows:
        live.record(row)
    seeded = UpgradeDurations.from_rows(reversed(rows), expect_600)
    assert seeded.predict(3) == live.predict(3)


def test_a_duration_counts_from_the_create_being_sent_not_from_its_answer() -> None:
    """An answer read late (a busy run) must not shorten what is learned."""
    sent = START - timedelta(seconds=2)
    row = dataclasses.replace(finished("late-answer", 10.0), intent_at=sent)
    assert learned_duration(row) == (ASSUMED_NODES, 12.0)
    without_intent = finished("no-intent", 10.0)  # rows of an older journal
    assert learned_duration(without_intent) == (ASSUMED_NODES, 10.0)
