"""Pure decisions: launch choice, finished-job classification, gates, result, admission."""

from __future__ import annotations

import json
import statistics
from datetime import UTC, datetime
from fractions import Fraction

import pytest
from hypothesis import given
from hypothesis import strategies as st

from fleetupgrade.decide.admission import LEARN_AFTER, admit, predict_seconds
from fleetupgrade.decide.classify import JobEnd, finished_job, needs_messages, verdict_messages
from fleetupgrade.decide.gates import (
    NO_SUCCESS_RULE,
    closing_decisions,
    decision_for_outcome,
    halting,
    tally,
)
from fleetupgrade.decide.launch import Adopt, Finish, Launch, UpgradeView, choose
from fleetupgrade.decide.result import first_code, run_result
from fleetupgrade.outcomes import (
    GATE_FAILURE_OUTCOMES,
    ExitCode,
    Outcome,
    RunResult,
    WaveStatus,
)
from fleetupgrade.plan.threshold import Threshold
from fleetupgrade.vcenter import TaskInfo, UpgradeInfo, UpgradeState
from fleetupgrade.versions import is_newer

NOW = datetime(2026, 12, 5, 22, 0, tzinfo=UTC)
ZERO = Threshold("count", 0, "precheck")
NO_FAILURE = Threshold("count", 0, "failure")
TASK_SERVICE = "com.vmware.vcenter.namespace_management.software.supervisors.upgrades.jobs"


def view(
    state: str = "READY",
    current: str = "9.0.0",
    available: tuple[str, ...] = ("9.1.0",),
    desired: str | None = None,
) -> UpgradeView:
    return UpgradeView(UpgradeState(state), current, available, desired)


def task(status: str, completed: int = 0, error: dict | None = None) -> TaskInfo:
    data: dict = {
        "description": {"id": "x", "default_message": "x", "args": []},
        "service": TASK_SERVICE,
        "operation": "create",
        "status": status,
        "cancelable": False,
    }
    if status != "PENDING":
        data["progress"] = {
            "total": 100,
            "completed": completed,
            "message": {"id": "p", "default_message": "p", "args": []},
        }
        data["start_time"] = "2026-12-05T22:00:00.000Z"
    if status in ("SUCCEEDED", "FAILED"):
        data["end_time"] = "2026-12-05T22:10:00.000Z"
    if error is not None:
        data["error"] = error
    return TaskInfo.model_validate_json(json.dumps(data))


def info(
    messages: list[tuple[str, str]], conditions: list[tuple[str, str]] = (), state: str = "READY"
) -> UpgradeInfo:
    data: dict = {
        "current_version": "9.0.0",
        "available_versions": ["9.1.0"],
        "state": state,
        "messages": [
            {"severity": sev, "details": {"id": mid, "default_message": mid, "args": []}}
            for sev, mid in messages
        ],
    }
    if conditions:
        data["upgrade_prechecks"] = [
            {
                "type": mid,
                "description": {"id": mid, "default_message": mid, "args": []},
                "status": "FALSE",
                "reason": "",
                "severity": sev,
                "messages": [],
            }
            for sev, mid in conditions
        ]
    return UpgradeInfo.model_validate_json(json.dumps(data))


# -- launch ------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("upgrade", "expected"),
    [
        (view(), Launch()),
        (view(current="9.1.0", available=()), Finish(Outcome.ALREADY_CURRENT, "already at 9.1.0")),
        (
            view(current="9.1.1", available=()),
            Finish(Outcome.ALREADY_CURRENT, "at 9.1.1, newer than 9.1.0"),
        ),
        (
            view(state="INPROGRESS", desired="9.1.0"),
            Adopt("an upgrade to this version is already in progress"),
        ),
        (
            view(state="ERROR"),
            Finish(Outcome.REJECTED, "in ERROR state after a failed upgrade: needs intervention"),
        ),
        (
            view(available=("9.2.0",)),
            Finish(Outcome.REJECTED, "version 9.1.0 is not available (available: 9.2.0)"),
        ),
    ],
)
def test_launch_choice(upgrade: UpgradeView, expected: object) -> None:
    """Each upgrade state leads to exactly one of launch, adopt or finish (with its reason)."""
    assert choose(upgrade, "9.1.0") == expected


def test_in_progress_toward_another_version_is_rejected() -> None:
    """An upgrade running toward another version is never adopted."""
    choice = choose(view(state="INPROGRESS", desired="9.2.0"), "9.1.0")
    assert isinstance(choice, Finish)
    assert choice.outcome is Outcome.REJECTED


@given(
    st.lists(st.integers(0, 30), min_size=1, max_size=4),
    st.lists(st.integers(0, 30), min_size=1, max_size=4),
)
def test_version_order_is_numeric(a: list[int], b: list[int]) -> None:
    """Dotted versions compare part by part as numbers (missing parts are 0), never as text."""
    left, right = ".".join(map(str, a)), ".".join(map(str, b))
    width = max(len(a), len(b))
    padded_a, padded_b = a + [0] * (width - len(a)), b + [0] * (width - len(b))
    assert is_newer(left, right) == (padded_a > padded_b)


# -- finished jobs -----------------------------------------------------------------------
def test_success_needs_no_single_read() -> None:
    """A SUCCEEDED task at the target version is classified from the bulk answers alone."""
    end = JobEnd(task("SUCCEEDED", 100), UpgradeState.READY, "9.1.0")
    assert not needs_messages(end, "9.1.0")
    assert finished_job(end, desired="9.1.0", ignore_warnings=False).outcome is Outcome.UPGRADED


@pytest.mark.parametrize("omit_conditions", [False, True])
def test_precheck_error_from_either_source(omit_conditions: bool) -> None:
    """A blocked job's ERROR counts whether vCenter reports conditions or only messages."""
    conditions = [] if omit_conditions else [("ERROR", "tkc.compat")]
    blocked = info(
        [("ERROR", "tkc.compat"), ("ERROR", "vcenter.wcp.upgrade.precheck.blocked")], conditions
    )
    end = JobEnd(task("FAILED", 0), UpgradeState.READY, "9.0.0", blocked)
    verdict = finished_job(end, desired="9.1.0", ignore_warnings=False)
    assert verdict.outcome is Outcome.PRECHECK_ERROR
    assert verdict.reason == "prechecks reported ERROR: tkc.compat"


def test_warning_block_is_never_an_error() -> None:
    """The generic 'blocked' marker (severity ERROR) does not turn a WARNING block into ERROR."""
    blocked = info([("WARNING", "tkc.old"), ("ERROR", "vcenter.wcp.upgrade.precheck.blocked")])
    end = JobEnd(task("FAILED", 0), UpgradeState.READY, "9.0.0", blocked)
    assert finished_job(end, desired="9.1.0", ignore_warnings=False).outcome is (
        Outcome.PRECHECK_WARNING
    )


def test_adopted_job_that_failed_mid_upgrade_is_failed() -> None:
    """A job that began upgrading and failed is ``failed``, whatever warnings it had."""
    failed = info([("WARNING", "tkc.old"), ("ERROR", "vcenter.wcp.upgrade.failed")], state="ERROR")
    end = JobEnd(task("FAILED", 50), UpgradeState.ERROR, "9.0.0", failed)
    assert finished_job(end, desired="9.1.0", ignore_warnings=None).outcome is Outcome.FAILED


def test_messages_are_deduplicated_by_id() -> None:
    """One precheck reported as a condition and as a message is one verdict."""
    verdicts = verdict_messages(
        info([], [("ERROR", "a")]).upgrade_prechecks or (), info([("ERROR", "a")]).messages
    )
    assert [m.id for m in verdicts] == ["a"]


# -- gates -------------------------------------------------------------------------------
outcomes = st.lists(st.sampled_from(list(Outcome)), min_size=1, max_size=40)


@given(outcomes, st.integers(0, 5))
def test_failure_gate_halts_exactly_past_its_limit(seen: list[Outcome], limit: int) -> None:
    """The failure gate halts as soon as the failures exceed the limit, never earlier."""
    counts = tally(len(seen), seen)
    last = next((o for o in reversed(seen) if o in GATE_FAILURE_OUTCOMES), None)
    if last is None:
        return
    decision = decision_for_outcome(
        at=NOW,
        wave="w",
        counts=counts,
        outcome=last,
        label="vc/sv",
        messages=(),
        precheck=ZERO,
        failure=Threshold("count", limit, "failure"),
    )
    assert decision is not None
    assert (decision.verdict == "halt") == (counts.failures > limit)


@given(st.integers(1, 60), st.integers(0, 60), st.fractions(0, 100))
def test_percent_gate_is_exact(size: int, errors: int, percent: Fraction) -> None:
    """``E*100 > p*N`` in exact arithmetic decides the precheck gate."""
    errors = min(errors, size)
    gate = Threshold("percent", percent, "precheck")
    assert gate.halts(errors, size) == (errors * 100 > percent * size)


def test_ten_percent_of_eighteen_halts_at_the_second_error() -> None:
    """The boundary the plan documents: 10 % of 18 tolerates one ERROR."""
    gate = Threshold("percent", Fraction(10), "precheck")
    assert not gate.halts(1, 18)
    assert gate.halts(2, 18)


@given(outcomes)
def test_a_wave_without_success_never_releases_the_next(seen: list[Outcome]) -> None:
    """Whatever the limits, a wave in which nothing upgraded or was current halts."""
    generous = Threshold("count", 100, "failure")
    decisions = closing_decisions(
        at=NOW,
        wave="w",
        counts=tally(len(seen), seen),
        precheck=Threshold("count", 100, "precheck"),
        failure=generous,
    )
    succeeded = any(o in (Outcome.UPGRADED, Outcome.ALREADY_CURRENT) for o in seen)
    halt = halting(decisions)
    assert (halt is None) == succeeded
    if halt is not None:
        assert halt.rule == NO_SUCCESS_RULE


def test_halting_decision_names_the_culprit() -> None:
    """The decision that halts names the Supervisor and its ERROR precheck ids."""
    from fleetupgrade.outcomes import Message

    seen = [Outcome.PRECHECK_ERROR]
    decision = decision_for_outcome(
        at=NOW,
        wave="w",
        counts=tally(1, seen),
        outcome=Outcome.PRECHECK_ERROR,
        label="vc/sv-3",
        messages=(Message("ERROR", "tkc.compat", "t"),),
        precheck=ZERO,
        failure=NO_FAILURE,
    )
    assert decision is not None
    assert decision.verdict == "halt"
    assert [(c.supervisor, c.ids) for c in decision.culprits] == [("vc/sv-3", ("tkc.compat",))]


# -- result ------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("waves", "outcomes_", "stopped", "expected"),
    [
        ([WaveStatus.COMPLETED], [Outcome.UPGRADED], False, (RunResult.SUCCEEDED, 0)),
        ([WaveStatus.COMPLETED], [Outcome.FAILED], False, (RunResult.COMPLETED_WITH_FAILURES, 1)),
        ([WaveStatus.HALTED], [Outcome.UPGRADED], False, (RunResult.HALTED, 3)),
        ([WaveStatus.HALTED], [Outcome.UPGRADED], True, (RunResult.STOPPED, 4)),
        ([WaveStatus.STOPPED], [None], False, (RunResult.STOPPED, 4)),
    ],
)
def test_run_result(
    waves: list[WaveStatus],
    outcomes_: list[Outcome | None],
    stopped: bool,
    expected: tuple[RunResult, int],
) -> None:
    """A stop wins over a halt, a halt over failures."""
    assert run_result(waves, outcomes_, stopped=stopped) == expected


def test_dry_run_result_counts_would_upgrade_as_success() -> None:
    """The dry run judges its own outcomes."""
    assert run_result(
        [WaveStatus.COMPLETED], [Outcome.WOULD_UPGRADE], stopped=False, dry_run=True
    ) == (RunResult.SUCCEEDED, 0)


@given(st.sets(st.sampled_from(ExitCode.PRECEDENCE), min_size=1))
def test_first_code_follows_the_precedence(codes: set[int]) -> None:
    """Of several applicable exit codes, the earliest in the precedence wins."""
    assert first_code(codes) == min(codes, key=ExitCode.PRECEDENCE.index)


# -- admission ---------------------------------------------------------------------------
def test_prediction_learns_after_three() -> None:
    """The plan's expectation is used until three upgrades of that size have finished."""
    finished = [600.0, 1200.0]
    assert predict_seconds(finished, 900.0) == 900.0
    finished.append(1800.0)
    assert len(finished) == LEARN_AFTER
    assert predict_seconds(finished, 900.0) == 1200.0


@given(st.lists(st.floats(min_value=0, max_value=1e6), min_size=LEARN_AFTER))
def test_prediction_is_the_median_of_what_finished(durations: list[float]) -> None:
    """Once enough have finished, the prediction is their median, whatever the plan expects."""
    assert predict_seconds(sorted(durations), 5.0) == statistics.median(durations)


def test_admission_refuses_what_would_overrun() -> None:
    """A launch predicted to end after the window is refused, with the arithmetic."""
    refused = admit(left_seconds=31 * 60, predicted=48 * 60)
    assert not refused.admitted
    assert refused.reason == "predicted 48m, 31m left in the window"
    assert admit(left_seconds=3600, predicted=48 * 60).admitted
    assert admit(left_seconds=1, predicted=None).admitted
