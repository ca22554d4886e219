"""The notifier against a live HTTPS receiver: order, signatures, retries, bounds, secrecy."""

from __future__ import annotations

import hashlib
import hmac
import time
from dataclasses import replace
from pathlib import Path
from typing import Any

import anyio
import pytest
from structlog.testing import capture_logs

from fleetupgrade.logs import redact_text
from fleetupgrade.notify import (
    DELIVERY_POLICY,
    EVENTS,
    NotificationResult,
    Notifier,
    NotifyTarget,
    NotifyTargetError,
    RunInfo,
)
from tests.notify.conftest import FAST
from tests.notify.receiver import SENTINEL, Receiver, running_receiver

pytestmark = pytest.mark.anyio

RUN = RunInfo(run_id="20261205T220000Z-q4-3f9a", plan="q4", simulated=True, report_path=None)
SECRET = b"hook-secret"


def _target(receiver: Receiver, **changes: Any) -> NotifyTarget:
    target = NotifyTarget(
        name="notify[0] (HOOK_URL)", url=receiver.url, events=EVENTS, secret=SECRET
    )
    return replace(target, **changes)


def _notifier(
    receiver: Receiver, results: list[NotificationResult], *targets: NotifyTarget, **kw: Any
) -> Notifier:
    return Notifier(
        targets or [_target(receiver)],
        run_info=RUN,
        ca_file=receiver.ca_file,
        on_result=results.append,
        policy=kw.pop("policy", FAST),
        **kw,
    )


async def test_events_arrive_in_order_with_a_valid_signature(receiver: Receiver) -> None:
    """Each target gets its events in emission order, each body signed with the secret."""
    results: list[NotificationResult] = []
    names = ["run_started", "wave_started", "wave_halted", "run_finished"]
    async with _notifier(receiver, results) as notifier:
        for name in names:
            notifier.emit(name, wave="canary", summary=f"{name} happened")
    assert [r.json()["event"] for r in receiver.requests] == names
    for request in receiver.requests:
        digest = hmac.new(SECRET, request.body, hashlib.sha256).hexdigest()
        assert request.headers["X-Fleetupgrade-Signature"] == f"sha256={digest}"
        assert request.headers["X-Fleetupgrade-Event"] == request.json()["event"]
        assert request.headers["X-Fleetupgrade-Delivery"] == request.json()["delivery_id"]
        assert request.json()["run_id"] == RUN.run_id
    assert [(r.event, r.status, r.attempts) for r in results] == [
        (name, "delivered", 1) for name in names
    ]


async def test_two_500s_then_200_delivers_once_with_one_delivery_id(receiver: Receiver) -> None:
    """A receiver failing twice gets the same bytes and delivery id three times; one result."""
    receiver.fail_times(2)
    results: list[NotificationResult] = []
    with capture_logs() as logs:
        async with _notifier(receiver, results) as notifier:
            notifier.emit("wave_halted", wave="canary", summary="halted")
    assert len(receiver.requests) == 3
    assert len({r.headers["X-Fleetupgrade-Delivery"] for r in receiver.requests}) == 1
    assert len({r.body for r in receiver.requests}) == 1
    assert [(r.status, r.attempts) for r in results] == [("delivered", 3)]
    retries = [entry for entry in logs if entry["event"] == "notification_retry"]
    assert [entry["attempt"] for entry in retries] == [2, 3]
    assert all(entry["reason"].startswith("HTTP 500") for entry in retries)


async def test_429_is_retried_and_other_4xx_is_final(receiver: Receiver) -> None:
    """429 (rate limited) is retried; 404 is a final answer: one attempt, failed, warned."""
    receiver.answer(429, 200, 404)
    results: list[NotificationResult] = []
    with capture_logs() as logs:
        async with _notifier(receiver, results) as notifier:
            notifier.emit("wave_started", wave="canary", summary="started")
            notifier.emit("wave_finished", wave="canary", summary="finished")
    assert [(r.event, r.status, r.attempts) for r in results] == [
        ("wave_started", "delivered", 2),
        ("wave_finished", "failed", 1),
    ]
    assert results[1].detail == "HTTP 404: nope"
    failed = [entry for entry in logs if entry["event"] == "notification_failed"]
    assert failed == [
        {
            "event": "notification_failed",
            "log_level": "warning",
            "target": "notify[0] (HOOK_URL)",
            "notify_event": "wave_finished",
            "attempts": 1,
            "reason": "HTTP 404: nope",
        }
    ]


async def test_retries_stop_at_the_attempt_limit(receiver: Receiver) -> None:
    """A receiver that always answers 503 is tried `attempts` times, then the delivery fails."""
    receiver.default_status = 503
    results: list[NotificationResult] = []
    async with _notifier(receiver, results) as notifier:
        notifier.emit("run_finished", result="halted", summary="run halted")
    assert len(receiver.requests) == FAST.attempts
    assert [(r.status, r.attempts) for r in results] == [("failed", FAST.attempts)]
    assert results[0].detail.endswith(f"gave up after {FAST.attempts} attempts")


async def test_slack_body_is_text_only(receiver: Receiver) -> None:
    """A Slack target receives {"text": "<one line>"} and nothing else."""
    results: list[NotificationResult] = []
    target = _target(receiver, format="slack", secret=None)
    async with _notifier(receiver, results, target) as notifier:
        notifier.emit("wave_halted", wave="canary", summary="wave canary halted — 2 errors")
    (request,) = receiver.requests
    assert request.json() == {
        "text": "[SIMULATED] plan q4: wave canary halted — 2 errors (run 20261205T220000Z-q4-3f9a)"
    }
    assert "X-Fleetupgrade-Signature" not in request.headers


async def test_only_subscribed_events_are_sent(receiver: Receiver) -> None:
    """A target hears only the events it lists."""
    results: list[NotificationResult] = []
    target = _target(receiver, events=frozenset({"run_finished"}))
    async with _notifier(receiver, results, target) as notifier:
        notifier.emit("run_started", summary="started")
        notifier.emit("wave_started", wave="canary", summary="started")
        notifier.emit("run_finished", result="succeeded", counts={"upgraded": 3}, summary="done")
    assert [r.json()["event"] for r in receiver.requests] == ["run_finished"]
    assert receiver.requests[0].json()["counts"] == {"upgraded": 3}
    assert [r.event for r in results] == ["run_finished"]


async def test_hanging_receiver_delays_exit_by_the_drain_bound_only(receiver: Receiver) -> None:
    """A receiver that never answers costs the exit at most drain_timeout; the event is dropped."""
    receiver.hang = True
    results: list[NotificationResult] = []
    slow = replace(DELIVERY_POLICY, attempt_timeout=30.0, total_timeout=60.0)
    async with _notifier(receiver, results, policy=slow, drain_timeout=0.5) as notifier:
        notifier.emit("run_finished", result="succeeded", summary="done")
        notifier.emit("run_stopped", summary="never sent")
        with anyio.fail_after(5):
            await receiver.wait_for(1)
        started = time.monotonic()
    elapsed = time.monotonic() - started
    assert 0.4 < elapsed < 5
    assert [(r.event, r.status, r.attempts) for r in results] == [
        ("run_finished", "dropped", 1),
        ("run_stopped", "dropped", 0),
    ]
    assert results[0].detail == "run ended before it was delivered (drain time 0.5s)"


async def test_down_receiver_fails_after_bounded_retries(tmp_path: Path) -> None:
    """Connection refused is retried up to the limit, then the delivery fails; exit is prompt."""
    results: list[NotificationResult] = []
    async with running_receiver(tmp_path) as down:
        await down.go_down()
        started = time.monotonic()
        async with _notifier(down, results) as notifier:
            notifier.emit("wave_halted", wave="canary", summary="halted")
        elapsed = time.monotonic() - started
    assert elapsed < 5
    assert [(r.status, r.attempts) for r in results] == [("failed", FAST.attempts)]
    assert results[0].detail.startswith("cannot connect (")


async def test_down_receiver_with_long_backoff_is_abandoned_at_the_drain_bound(
    tmp_path: Path,
) -> None:
    """Backoff waits longer than the drain time do not hold the exit up."""
    results: list[NotificationResult] = []
    patient = replace(DELIVERY_POLICY, wait_initial=30.0, wait_max=30.0, total_timeout=120.0)
    async with running_receiver(tmp_path) as down:
        await down.go_down()
        async with _notifier(down, results, policy=patient, drain_timeout=0.5) as notifier:
            notifier.emit("wave_halted", wave="canary", summary="halted")
            started = time.monotonic()
        elapsed = time.monotonic() - started
    assert elapsed < 5
    assert [(r.status, r.attempts) for r in results] == [("dropped", 1)]


async def test_total_time_per_delivery_cuts_an_attempt_in_flight(receiver: Receiver) -> None:
    """A delivery gives up when its total time is spent, even in the middle of an attempt."""
    receiver.hang = True
    results: list[NotificationResult] = []
    policy = replace(DELIVERY_POLICY, attempt_timeout=30.0, total_timeout=0.3)
    async with _notifier(receiver, results, policy=policy, drain_timeout=10.0) as notifier:
        notifier.emit("wave_halted", wave="canary", summary="halted")
    assert [(r.status, r.attempts) for r in results] == [("failed", 1)]
    assert results[0].detail == "no answer; gave up after 0.3s in all"


async def test_a_short_attempt_timeout_is_retried(receiver: Receiver) -> None:
    """An attempt without an answer in attempt_timeout counts as a timeout and is retried."""
    receiver.hang = True
    results: list[NotificationResult] = []
    policy = replace(FAST, attempts=2, attempt_timeout=0.1)
    async with _notifier(receiver, results, policy=policy) as notifier:
        notifier.emit("wave_halted", wave="canary", summary="halted")
    assert len(receiver.requests) == 2
    assert [(r.status, r.attempts) for r in results] == [("failed", 2)]
    assert results[0].detail == "no answer within 0.1s; gave up after 2 attempts"


async def test_full_queue_drops_the_oldest_with_a_warning(receiver: Receiver) -> None:
    """Beyond queue_size pending events, the oldest is dropped and a warning logged."""
    results: list[NotificationResult] = []
    with capture_logs() as logs:
        async with _notifier(receiver, results, queue_size=2) as notifier:
            for name in ["run_started", "wave_started", "wave_halted", "run_finished"]:
                notifier.emit(name, summary=name)
    assert [r.json()["event"] for r in receiver.requests] == ["wave_halted", "run_finished"]
    assert [(r.event, r.status) for r in results] == [
        ("run_started", "dropped"),
        ("wave_started", "dropped"),
        ("wave_halted", "delivered"),
        ("run_finished", "delivered"),
    ]
    dropped = [e for e in logs if e["event"] == "notification_dropped"]
    assert [(e["notify_event"], e["log_level"]) for e in dropped] == [
        ("run_started", "warning"),
        ("wave_started", "warning"),
    ]
    assert dropped[0]["reason"] == "queue full (2 pending), oldest dropped"


async def test_untrusted_certificate_fails_at_once(receiver: Receiver) -> None:
    """Without the receiver's CA, TLS verification fails; that is final, not retried."""
    results: list[NotificationResult] = []
    notifier = Notifier([_target(receiver)], run_info=RUN, on_result=results.append, policy=FAST)
    async with notifier:
        notifier.emit("wave_halted", summary="halted")
    assert receiver.requests == []
    assert [(r.status, r.attempts) for r in results] == [("failed", 1)]
    assert results[0].detail.startswith("TLS certificate not trusted (")


async def test_cancelled_run_abandons_pending_deliveries_at_once(receiver: Receiver) -> None:
    """When the run is cancelled, exit does not drain: pending deliveries are dropped."""
    receiver.hang = True
    results: list[NotificationResult] = []
    started = time.monotonic()
    with anyio.move_on_after(0.3):
        async with _notifier(receiver, results, drain_timeout=30.0) as notifier:
            notifier.emit("run_stopped", summary="stopped")
            await anyio.sleep_forever()
    assert time.monotonic() - started < 5
    assert [(r.event, r.status) for r in results] == [("run_stopped", "dropped")]


async def test_emit_outside_the_block_is_dropped_and_unknown_events_are_bugs(
    receiver: Receiver,
) -> None:
    """Events emitted before entering or after leaving are reported dropped; typos raise."""
    results: list[NotificationResult] = []
    notifier = _notifier(receiver, results)
    notifier.emit("run_started", summary="too early")
    async with notifier:
        with pytest.raises(ValueError, match="unknown notification event 'wave_halt'"):
            notifier.emit("wave_halt", summary="typo")
    notifier.emit("run_finished", summary="too late")
    assert [(r.event, r.status, r.detail) for r in results] == [
        ("run_started", "dropped", "notifier is new, not running"),
        ("run_finished", "dropped", "notifier is closed, not running"),
    ]
    assert receiver.requests == []


async def test_the_url_never_appears_in_logs_results_or_reprs(tmp_path: Path) -> None:
    """Across deliveries, retries, failures, drops and TLS errors, the URL token never shows."""
    results: list[NotificationResult] = []
    with capture_logs() as logs:
        async with running_receiver(tmp_path) as receiver:
            receiver.answer(500, 200, 404, 429, 503, 503, 503)
            notifier = _notifier(receiver, results, queue_size=3)
            assert SENTINEL not in repr(notifier)
            async with notifier:
                for name in ["run_started", "wave_started", "wave_halted", "run_finished"]:
                    notifier.emit(name, summary=name)
            async with Notifier(
                [_target(receiver)], run_info=RUN, on_result=results.append, policy=FAST
            ) as untrusted:
                untrusted.emit("run_stopped", summary="stopped")
            await receiver.go_down()
            async with _notifier(receiver, results) as down:
                down.emit("run_stopped", summary="stopped")
    statuses = {r.status for r in results}
    assert statuses == {"delivered", "failed", "dropped"}
    assert {e["event"] for e in logs} >= {
        "notification_retry",
        "notification_failed",
        "notification_dropped",
        "notification_delivered",
    }
    assert SENTINEL not in repr(logs)
    assert SENTINEL not in repr(results)
    assert SENTINEL not in redact_text(f"posting to {receiver.url} failed")


async def test_retry_after_beyond_the_time_left_ends_the_delivery_at_once(
    receiver: Receiver,
) -> None:
    """A 429 asking to wait longer than the delivery's time left fails now instead of waiting."""
    receiver.default_status = 429
    receiver.extra_headers = {"Retry-After": "3600"}
    results: list[NotificationResult] = []
    started = time.monotonic()
    async with _notifier(receiver, results) as notifier:
        notifier.emit("wave_halted", summary="halted")
    assert time.monotonic() - started < 2
    assert [(r.status, r.attempts) for r in results] == [("failed", 1)]
    assert results[0].detail == (
        f"HTTP 429: nope; no time left for another attempt within {FAST.total_timeout:g}s"
    )


async def test_a_hanging_target_does_not_hold_up_another(
    receiver: Receiver, tmp_path: Path
) -> None:
    """Each target has its own queue: one stuck receiver does not delay the other's events."""
    (tmp_path / "stuck").mkdir()
    results: list[NotificationResult] = []
    async with running_receiver(tmp_path / "stuck") as stuck:
        stuck.hang = True
        stuck_target = NotifyTarget(name="stuck", url=stuck.url, events=EVENTS)
        # One ca_file trusts both receivers' CAs.
        stuck.ca_file.write_bytes(stuck.ca_file.read_bytes() + receiver.ca_file.read_bytes())
        notifier = Notifier(
            [stuck_target, _target(receiver)],
            run_info=RUN,
            ca_file=stuck.ca_file,
            on_result=results.append,
            policy=replace(FAST, attempt_timeout=30.0, total_timeout=60.0),
            drain_timeout=0.2,
        )
        async with notifier:
            notifier.emit("run_started", summary="one")
            notifier.emit("wave_started", summary="two")
            with anyio.fail_after(5):
                await receiver.wait_for(2)
                await stuck.wait_for(1)
    assert [r.json()["event"] for r in receiver.requests] == ["run_started", "wave_started"]
    assert sorted((r.target, r.event, r.status) for r in results) == [
        ("notify[0] (HOOK_URL)", "run_started", "delivered"),
        ("notify[0] (HOOK_URL)", "wave_started", "delivered"),
        ("stuck", "run_started", "dropped"),
        ("stuck", "wave_started", "dropped"),
    ]


def test_an_unusable_ca_file_is_refused_at_construction(tmp_path: Path) -> None:
    """A missing or non-PEM ca_file is a configuration error named by its path."""
    target = NotifyTarget(name="t", url="https://hooks.example.com/x")
    with pytest.raises(
        NotifyTargetError,
        match=r"ca_file .*missing\.pem: cannot be used \(No such file or directory\)",
    ):
        Notifier([target], run_info=RUN, ca_file=tmp_path / "missing.pem")
    garbage = tmp_path / "garbage.pem"
    garbage.write_text("not a certificate\n")
    with pytest.raises(
        NotifyTargetError, match=r"garbage\.pem: cannot be used \(not a PEM CA bundle\)"
    ):
        Notifier([target], run_info=RUN, ca_file=garbage)


async def test_redirects_are_not_followed(receiver: Receiver) -> None:
    """A 3xx answer is final: the payload is never re-posted to wherever it points."""
    receiver.answer(302)
    receiver.extra_headers = {"Location": "https://127.0.0.1:1/elsewhere"}
    results: list[NotificationResult] = []
    async with _notifier(receiver, results) as notifier:
        notifier.emit("wave_halted", summary="halted")
    assert len(receiver.requests) == 1
    assert [(r.status, r.attempts, r.detail) for r in results] == [
        ("failed", 1, "HTTP 302 (redirects are not followed)")
    ]
