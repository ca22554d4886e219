"""notify-test: one test event per target, a table of answers, and the exit code rule."""

from __future__ import annotations

from pathlib import Path

import pytest

from fleetupgrade.notify import (
    NotifyTarget,
    TestDelivery,
    notify_test,
    notify_test_exit_code,
    render_notify_test,
)
from tests.notify.conftest import FAST
from tests.notify.receiver import SENTINEL, Receiver, running_receiver


@pytest.mark.anyio
async def test_each_target_gets_one_test_event(receiver: Receiver, tmp_path: Path) -> None:
    """Every target gets one `test` event, whatever it subscribes to; each answer is reported."""
    receiver.answer(200)
    (tmp_path / "down").mkdir()
    async with running_receiver(tmp_path / "down") as down:
        await down.go_down()
        targets = [
            NotifyTarget(
                name="notify[0] (A)", url=receiver.url, events=frozenset({"run_finished"})
            ),
            NotifyTarget(name="notify[1] (B)", url=down.url, secret=b"k"),
        ]
        results = await notify_test(targets, ca_file=receiver.ca_file, plan="q4", policy=FAST)
    assert [(r.target, r.status_code, r.ok) for r in results] == [
        ("notify[0] (A)", 200, True),
        ("notify[1] (B)", None, False),
    ]
    assert results[1].detail.startswith("cannot connect (")
    (request,) = receiver.requests
    assert request.headers["X-Fleetupgrade-Event"] == "test"
    body = request.json()
    assert (body["event"], body["plan"], body["run_id"]) == ("test", "q4", None)
    assert notify_test_exit_code(results) == 1
    assert SENTINEL not in repr(results)


@pytest.mark.anyio
async def test_a_failing_target_is_tried_once(receiver: Receiver) -> None:
    """notify-test reports the first answer as is: a 500 is not retried."""
    receiver.answer(500)
    target = NotifyTarget(name="t", url=receiver.url)
    results = await notify_test([target], ca_file=receiver.ca_file, policy=FAST)
    assert [(r.status_code, r.ok, r.detail) for r in results] == [(500, False, "HTTP 500: nope")]
    assert len(receiver.requests) == 1


@pytest.mark.parametrize(
    ("oks", "code"),
    [([True, True], 0), ([True, False], 1), ([False], 1), ([], 1)],
)
def test_exit_code_is_zero_only_when_every_target_answered(oks: list[bool], code: int) -> None:
    """Exit 0 when there are targets and all accepted the event, else 1."""
    results = [TestDelivery(f"t{i}", 200 if ok else 500, ok, "x") for i, ok in enumerate(oks)]
    assert notify_test_exit_code(results) == code


def test_render_is_an_aligned_table_with_a_total() -> None:
    """The table lists target, verdict, HTTP status and detail, then how many accepted."""
    text = render_notify_test(
        [
            TestDelivery("notify[0] (SLACK_WEBHOOK_URL)", 200, True, "HTTP 200"),
            TestDelivery("notify[1] (url)", None, False, "cannot connect (Connection refused)"),
        ]
    )
    assert text == (
        "TARGET                         RESULT  HTTP  DETAIL\n"
        "notify[0] (SLACK_WEBHOOK_URL)  ok      200   HTTP 200\n"
        "notify[1] (url)                FAILED  -     cannot connect (Connection refused)\n"
        "1 of 2 target(s) accepted the test event\n"
    )


def test_render_without_targets_says_so() -> None:
    """A plan without [[notify]] gets a sentence, not an empty table."""
    assert render_notify_test([]) == "no [[notify]] targets in this plan\n"
