"""The bulk poller's pure rules: predicted ends, when a round starts, which tasks it reads,
where a job's end is placed, and when a round's reads show a job ended."""

from __future__ import annotations

import json

import pytest
from hypothesis import assume, given
from hypothesis import strategies as st

from fleetupgrade.decide.classify import job_ended
from fleetupgrade.decide.polling import (
    MAX_QUIET_INTERVALS,
    JobTiming,
    Pace,
    ends_due,
    estimated_end,
    round_due,
    task_needed,
)
from fleetupgrade.vcenter import TaskInfo, UpgradeSummary
from tests.decide.test_decisions import task

TARGET = "9.1.0"
times = st.floats(min_value=0, max_value=1e5, allow_nan=False)
intervals = st.floats(min_value=0.01, max_value=300, allow_nan=False)


def summary(state: str, current: str = "9.0.0") -> UpgradeSummary:
    return UpgradeSummary.model_validate_json(
        json.dumps(
            {
                "supervisor": "supervisor-1",
                "current_version": current,
                "available_versions": [],
                "state": state,
                **({"desired_version": TARGET} if state == "INPROGRESS" else {}),
            }
        )
    )


# -- Pace -------------------------------------------------------------------------------


def test_one_reading_gives_no_rate() -> None:
    assert Pace(10.0, 40, 10.0, 40).predicted_end() is None


def test_a_rate_counts_one_point_fewer_than_the_readings_differ_by() -> None:
    """20 → 40 in 2 s: at least 19 points passed (whole percents, each up to one low)."""
    pace = Pace(10.0, 20, 10.0, 20).after(12.0, 40)
    assert pace.predicted_end() == pytest.approx(12.0 + 60 / 9.5)


def test_readings_one_point_apart_allow_no_latest_end() -> None:
    assert Pace(10.0, 20, 10.0, 20).after(11.0, 21).predicted_end() is None


def test_readings_at_zero_start_over() -> None:
    """Prechecks hold progress at 0 %: the rate is measured from real progress only."""
    pace = Pace(0.0, 0, 0.0, 0).after(5.0, 10)
    assert pace == Pace(5.0, 10, 5.0, 10)
    assert pace.predicted_end() is None


def test_progress_going_backwards_starts_over() -> None:
    pace = Pace(0.0, 30, 1.0, 50).after(2.0, 20)
    assert pace == Pace(2.0, 20, 2.0, 20)


@given(
    st.floats(min_value=0.01, max_value=10, allow_nan=False),
    st.floats(min_value=0, max_value=1e4, allow_nan=False),
    st.lists(st.floats(min_value=0.5, max_value=99.5), min_size=2, max_size=10, unique=True),
)
def test_a_steady_job_is_never_predicted_to_end_early(
    rate: float, origin: float, truths: list[float]
) -> None:
    """Readings of a straight line, floored to whole percents as vCenter reports them,
    never predict its end before the line reaches 100 %."""
    truths.sort()
    pace: Pace | None = None
    for truth in truths:
        at, percent = origin + truth / rate, int(truth)
        pace = Pace(at, percent, at, percent) if pace is None else pace.after(at, percent)
    assert pace is not None
    end = pace.predicted_end()
    assert end is None or end >= origin + 100 / rate - 1e-6


@given(
    st.floats(min_value=0.01, max_value=10, allow_nan=False),
    st.floats(min_value=0, max_value=1e4, allow_nan=False),
)
def test_readings_far_apart_predict_the_end_closely(rate: float, origin: float) -> None:
    """Floored readings at 10.x % and 60.x %: late by at most two points' worth of time."""
    first, last = origin + 10.5 / rate, origin + 60.5 / rate
    pace = Pace(first, 10, first, 10).after(last, 60)
    end = pace.predicted_end()
    assert end is not None
    assert origin + 100 / rate - 1e-6 <= end <= origin + 102 / rate


@given(st.lists(st.tuples(st.floats(0, 1e4, allow_nan=False), st.integers(0, 100)), min_size=1))
def test_a_predicted_end_is_never_before_the_last_reading(
    readings: list[tuple[float, int]],
) -> None:
    readings.sort()
    at, percent = readings[0]
    pace = Pace(at, percent, at, percent)
    for at, percent in readings[1:]:
        pace = pace.after(at, percent)
    end = pace.predicted_end()
    assert end is None or end >= pace.last_at


# -- round_due ----------------------------------------------------------------------------


def test_a_waiting_reader_gets_the_next_interval() -> None:
    jobs = [JobTiming(predicted_end=500.0, read_at=0.0)]
    assert round_due(jobs, last_round=10.0, interval=1.0, waiting=True) == 11.0


def test_a_job_without_prediction_is_read_every_interval() -> None:
    jobs = [JobTiming(500.0, 0.0), JobTiming(None, 0.0)]
    assert round_due(jobs, last_round=10.0, interval=1.0, waiting=False) == 11.0


def test_jobs_ending_together_share_one_round_a_margin_after_the_last() -> None:
    jobs = [JobTiming(20.0, 18.0), JobTiming(20.3, 18.0), JobTiming(40.0, 18.0)]
    assert round_due(jobs, last_round=18.0, interval=1.0, waiting=False) == pytest.approx(20.4)


def test_a_long_quiet_stretch_is_broken_by_a_read() -> None:
    jobs = [JobTiming(1000.0, 10.0)]
    due = round_due(jobs, last_round=10.0, interval=1.0, waiting=False)
    assert due == 10.0 + MAX_QUIET_INTERVALS


def test_a_read_due_just_before_the_end_waits_for_it() -> None:
    jobs = [JobTiming(15.5, 10.0)]
    due = round_due(jobs, last_round=10.0, interval=1.0, waiting=False)
    assert due == pytest.approx(15.6)


@given(
    st.lists(st.tuples(st.one_of(st.none(), times), times), min_size=0, max_size=8),
    times,
    intervals,
    st.booleans(),
)
def test_rounds_keep_their_interval_and_never_leave_a_task_unread_too_long(
    raw: list[tuple[float | None, float]], last_round: float, interval: float, waiting: bool
) -> None:
    jobs = [JobTiming(end, read_at) for end, read_at in raw]
    due = round_due(jobs, last_round=last_round, interval=interval, waiting=waiting)
    earliest = last_round + interval
    assert due >= earliest
    if jobs:
        quiet_limit = min(j.read_at for j in jobs) + (MAX_QUIET_INTERVALS + 1) * interval
        assert due <= max(earliest, quiet_limit) + 1e-9


@given(st.lists(st.floats(0, 1e4, allow_nan=False), min_size=1, max_size=8), intervals)
def test_a_round_due_at_predicted_ends_comes_after_the_first_of_them(
    ends: list[float], interval: float
) -> None:
    """With every task read recently, the round waits at least for the first predicted end."""
    read_at = min(ends)
    jobs = [JobTiming(end, read_at) for end in ends]
    due = round_due(jobs, last_round=read_at - interval, interval=interval, waiting=False)
    assert due >= min(ends)
    assert ends_due(jobs, due)


def test_ends_due_only_for_predicted_ends_that_came() -> None:
    jobs = [JobTiming(None, 0.0), JobTiming(30.0, 0.0)]
    assert not ends_due(jobs, 29.9)
    assert ends_due(jobs, 30.0)


# -- task_needed --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("row", "predicted", "read_ago", "needed"),
    [
        (summary("READY", TARGET), None, 0.0, False),  # ended well: the list says it all
        (summary("READY", "9.2.0"), None, 0.0, False),  # past the target is at it
        (summary("READY"), 10.0, 0.0, True),  # idle below the target: its task says why
        (summary("ERROR"), 10.0, 0.0, True),
        (None, 10.0, 0.0, True),  # not listed at all
        (summary("INPROGRESS"), 10.0, 1.0, False),  # running, end predicted, read lately
        (summary("INPROGRESS"), None, 1.0, True),  # running, no rate yet
        (summary("INPROGRESS"), 10.0, MAX_QUIET_INTERVALS, True),  # unread too long
    ],
)
def test_which_tasks_a_list_first_round_reads(
    row: UpgradeSummary | None, predicted: float | None, read_ago: float, needed: bool
) -> None:
    timing = JobTiming(predicted, read_at=100.0 - read_ago)
    assert task_needed(row, desired=TARGET, timing=timing, now=100.0, interval=1.0) is needed


# -- estimated_end ------------------------------------------------------------------------


def test_a_confirmed_prediction_is_the_end() -> None:
    """The round starts a margin after the predicted end: that margin is not learned."""
    assert estimated_end(predicted=10.0, running_seen=5.0, ended_seen=10.2) == 10.0


def test_a_job_that_outran_its_prediction_ended_at_the_round_that_saw_it() -> None:
    assert estimated_end(predicted=10.0, running_seen=10.1, ended_seen=11.1) == 11.1


def test_a_job_that_ended_before_a_quiet_read_ended_by_then() -> None:
    assert estimated_end(predicted=30.0, running_seen=5.0, ended_seen=10.0) == 10.0


def test_without_prediction_the_round_is_the_end() -> None:
    assert estimated_end(predicted=None, running_seen=None, ended_seen=7.0) == 7.0


@given(st.one_of(st.none(), times), st.one_of(st.none(), times), times)
def test_an_end_lies_between_the_last_sight_running_and_the_round_that_saw_it(
    predicted: float | None, running_seen: float | None, ended_seen: float
) -> None:
    assume(running_seen is None or running_seen <= ended_seen)
    end = estimated_end(predicted=predicted, running_seen=running_seen, ended_seen=ended_seen)
    assert end <= ended_seen
    if running_seen is not None:
        assert end >= running_seen
    assert end in (predicted, ended_seen)


# -- job_ended ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("job_task", "row", "ended"),
    [
        (task("SUCCEEDED", 100), summary("READY", TARGET), True),
        (task("FAILED", 40), summary("ERROR"), True),
        (task("RUNNING", 40), summary("READY", TARGET), False),  # the task says running
        (task("SUCCEEDED", 100), None, False),  # nothing to judge the end by yet
        (None, summary("READY", TARGET), True),  # task not read: the list shows it idle
        (None, summary("ERROR"), True),
        (None, summary("INPROGRESS"), False),
    ],
)
def test_when_a_rounds_reads_show_a_job_ended(
    job_task: TaskInfo | None, row: UpgradeSummary | None, ended: bool
) -> None:
    assert job_ended(job_task, row) is ended
