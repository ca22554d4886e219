"""Webhook notifications of a real run, received by a local HTTPS receiver.

The run is a separate process (its own event loop) against the simulator thread; the
receiver serves in the test's loop. The receiver's CA reaches the run through
``SSL_CERT_FILE``, as an operator's private CA would (docs/notify.md, "TLS and proxies").
"""

from __future__ import annotations

import hashlib
import hmac
import json
import os
import subprocess
import sys
import time
from collections.abc import Mapping
from datetime import datetime
from pathlib import Path
from typing import Any

import anyio
import pytest
from click.testing import CliRunner

from fleetupgrade.cli.main import cli
from tests.notify.receiver import SENTINEL, Receiver, running_receiver
from tests.rollout.conftest import ROOT, PlanSpec, SimThread, spawn_run, stderr_of
from tests.rollout.scenarios import error_check, refs, scenario, sup

pytestmark = pytest.mark.anyio

SECRET = "hook-secret-for-tests"
DRAIN_BOUND = 10.0  # seconds a run gives pending notifications at its end (docs/notify.md)


def _plan(tmp_path: Path, sim: SimThread, notify: str, **wave: Any) -> Path:
    spec = PlanSpec(waves=[{"name": "w", **wave, "supervisors": refs("vc-east", "supervisor-1")}])
    path = spec.write(tmp_path, sim)
    path.write_text(path.read_text(encoding="utf-8") + "\n" + notify, encoding="utf-8")
    return path


def _env(receiver: Receiver, tmp_path: Path, *more: Receiver) -> dict[str, str]:
    bundle = tmp_path / "hook-cas.pem"
    bundle.write_text(
        "".join(r.ca_file.read_text(encoding="utf-8") for r in (receiver, *more)),
        encoding="utf-8",
    )
    return {"HOOK_URL": receiver.url, "HOOK_SECRET": SECRET, "SSL_CERT_FILE": str(bundle)}


async def _finish(process: subprocess.Popen[bytes]) -> int:
    return await anyio.to_thread.run_sync(process.wait, 40)


def _run_dir(runs: Path) -> Path:
    return next(p for p in runs.iterdir() if (p / "state.db").is_file())


def _read(run_dir: Path, name: str) -> str:
    return (run_dir / name).read_text(encoding="utf-8")


def _events(run_dir: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in _read(run_dir, "events.jsonl").splitlines() if line]


def _valid(headers: Mapping[str, str], body: bytes) -> bool:
    expected = "sha256=" + hmac.new(SECRET.encode(), body, hashlib.sha256).hexdigest()
    return hmac.compare_digest(expected, headers.get("X-Fleetupgrade-Signature", ""))


async def test_events_arrive_in_order_signed_and_retried_once_delivered(
    start_sim: Any, tmp_path: Path
) -> None:
    """A run's events reach the hook in order, signed; 500, 500, 200 delivers one id once."""
    sim = start_sim(scenario({"vc-east": [sup("supervisor-1")]}))
    notify = (
        '[[notify]]\nurl_env = "HOOK_URL"\nsecret_env = "HOOK_SECRET"\n'
        'events = ["run_started", "wave_started", "wave_finished", "run_finished"]\n'
    )
    path = _plan(tmp_path, sim, notify)
    runs = tmp_path / "runs"
    async with running_receiver(tmp_path) as receiver:
        receiver.fail_times(2)  # the first notification (run_started): 500, 500, then 200
        process = spawn_run(path, runs, env=_env(receiver, tmp_path))
        try:
            assert await _finish(process) == 0, stderr_of(runs)
        finally:
            process.kill()
    got = receiver.requests
    names = [r.headers["X-Fleetupgrade-Event"] for r in got]
    assert names == [*["run_started"] * 3, "wave_started", "wave_finished", "run_finished"]
    first = got[:3]
    assert len({r.headers["X-Fleetupgrade-Delivery"] for r in first}) == 1
    assert len({r.body for r in first}) == 1  # the same bytes on every retry
    assert len({r.headers["X-Fleetupgrade-Delivery"] for r in got}) == 4
    assert all(_valid(r.headers, r.body) for r in got)
    bodies = [r.json() for r in got[2:]]
    assert [b["event"] for b in bodies] == names[2:]
    run_dir = _run_dir(runs)
    assert {b["run_id"] for b in bodies} == {run_dir.name}
    assert bodies[-1]["result"] == "succeeded"
    assert bodies[-1]["counts"] == {"upgraded": 1}
    assert bodies[1]["wave"] == "w"
    report = json.loads(_read(run_dir, "report.json"))
    sent = [(n["event"], n["status"], n["attempts"]) for n in report["notifications"]]
    assert sent == [
        ("run_started", "delivered", 3),
        ("wave_started", "delivered", 1),
        ("wave_finished", "delivered", 1),
        ("run_finished", "delivered", 1),
    ]
    assert report["notifications"][0]["target"] == "notify[0].url_env (HOOK_URL)"
    retries = [e for e in _events(run_dir) if e["event"] == "notification_retry"]
    assert len(retries) == 2
    for text in (_read(run_dir, "events.jsonl"), _read(run_dir, "report.json"), stderr_of(runs)):
        assert SENTINEL not in text


async def test_slack_body_for_approval_and_halt(start_sim: Any, tmp_path: Path) -> None:
    """A Slack target gets ``{"text": …}`` bodies: awaiting approval, halted, then run_finished."""
    sim = start_sim(scenario({"vc-east": [sup("supervisor-1", prechecks=error_check())]}))
    path = _plan(
        tmp_path, sim, '[[notify]]\nurl_env = "HOOK_URL"\nformat = "slack"\n', require_approval=True
    )
    runs = tmp_path / "runs"
    async with running_receiver(tmp_path) as receiver:
        process = spawn_run(path, runs, env=_env(receiver, tmp_path))
        try:
            with anyio.fail_after(20):
                await receiver.wait_for(1)  # the wave awaits approval: someone is told
            run_dir = _run_dir(runs)
            approve = ["approve", str(run_dir), "--wave", "w", "--by", "alice"]
            assert CliRunner().invoke(cli, approve).exit_code == 0
            assert await _finish(process) == 3, stderr_of(runs)
        finally:
            process.kill()
    got = receiver.requests
    names = [r.headers["X-Fleetupgrade-Event"] for r in got]
    assert names == ["wave_awaiting_approval", "wave_halted", "run_finished"]
    for request in got:  # the shape Slack's incoming webhooks accept
        body = request.json()
        assert set(body) == {"text"}
        assert isinstance(body["text"], str)
        assert "\n" not in body["text"]
        assert request.headers["Content-Type"].startswith("application/json")
        assert "X-Fleetupgrade-Signature" not in request.headers  # no secret_env here
    texts = [r.json()["text"] for r in got]
    assert "wave w awaits approval" in texts[0]
    assert "wave w halted" in texts[1]
    assert run_dir.name in texts[2]
    assert not texts[0].startswith("[SIMULATED]")


@pytest.mark.slow
async def test_dead_receiver_delays_the_run_end_within_the_bound(
    start_sim: Any, tmp_path: Path
) -> None:
    """A receiver that refuses connections costs the run at most the drain bound; failed."""
    sim = start_sim(scenario({"vc-east": [sup("supervisor-1")]}))
    path = _plan(tmp_path, sim, '[[notify]]\nurl_env = "HOOK_URL"\n')
    runs = tmp_path / "runs"
    async with running_receiver(tmp_path) as receiver:
        await receiver.go_down()
        process = spawn_run(path, runs, env=_env(receiver, tmp_path))
        try:
            assert await _finish(process) == 0, stderr_of(runs)
        finally:
            process.kill()
        exited = time.time()
    run_dir = _run_dir(runs)
    events = _events(run_dir)
    finished = next(e for e in events if e["event"] == "run_finished")
    ended = datetime.fromisoformat(finished["timestamp"].replace("Z", "+00:00")).timestamp()
    assert exited - ended < DRAIN_BOUND + 2
    failed = [e for e in events if e["event"] == "notification_failed"]
    assert [(e["level"], e["notify_event"]) for e in failed] == [("warning", "run_finished")]
    report = json.loads(_read(run_dir, "report.json"))
    assert [(n["event"], n["status"]) for n in report["notifications"]] == [
        ("run_finished", "failed")
    ]


async def test_notify_test_prints_each_answer(tmp_path: Path) -> None:
    """``notify-test``: one line per target (never its URL); exit 0 all 2xx, else 1."""
    plan = PlanSpec(waves=[{"name": "w", "supervisors": refs("vc-east", "supervisor-1")}])
    path = plan.write(tmp_path, None)
    base = path.read_text(encoding="utf-8")
    one = '[[notify]]\nurl_env = "HOOK_URL"\nsecret_env = "HOOK_SECRET"\n'
    async with (
        running_receiver(tmp_path) as good,
        running_receiver(_mkdir(tmp_path / "bad")) as bad,
    ):
        bad.default_status = 404
        env = {**_env(good, tmp_path, bad), "BAD_HOOK_URL": bad.url}
        command = [sys.executable, "-m", "fleetupgrade", "notify-test", str(path)]
        path.write_text(base + one, encoding="utf-8")
        ok = await anyio.run_process(command, check=False, env=_with_os_env(env), cwd=ROOT)
        path.write_text(base + one + '[[notify]]\nurl_env = "BAD_HOOK_URL"\n', encoding="utf-8")
        mixed = await anyio.run_process(command, check=False, env=_with_os_env(env), cwd=ROOT)
    assert ok.returncode == 0, ok.stderr.decode()
    assert "1 of 1 target(s) accepted the test event" in ok.stdout.decode()
    assert mixed.returncode == 1, mixed.stderr.decode()
    out = mixed.stdout.decode()
    assert "notify[0].url_env (HOOK_URL)" in out
    assert "notify[1].url_env (BAD_HOOK_URL)  FAILED  404" in out
    assert "1 of 2 target(s) accepted the test event" in out
    assert SENTINEL not in out + mixed.stderr.decode()
    assert [r.headers["X-Fleetupgrade-Event"] for r in good.requests] == ["test", "test"]
    assert all(_valid(r.headers, r.body) for r in good.requests)


def _mkdir(path: Path) -> Path:
    path.mkdir(exist_ok=True)
    return path


def _with_os_env(env: Mapping[str, str]) -> dict[str, str]:
    return {**os.environ, **env}


def test_notify_test_usage_errors_exit_2(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """``notify-test`` exits 2 for a plan without [[notify]] and for a missing variable."""
    monkeypatch.delenv("HOOK_URL", raising=False)
    plan = PlanSpec(waves=[{"name": "w", "supervisors": refs("vc-east", "supervisor-1")}])
    path = plan.write(tmp_path, None)
    result = CliRunner().invoke(cli, ["notify-test", str(path)])
    assert result.exit_code == 2
    assert "no [[notify]] targets" in result.output
    path.write_text(path.read_text() + '\n[[notify]]\nurl_env = "HOOK_URL"\n', encoding="utf-8")
    result = CliRunner().invoke(cli, ["notify-test", str(path)])
    assert result.exit_code == 2
    assert "notify[0].url_env (HOOK_URL) is not set" in result.output
    result = CliRunner().invoke(cli, ["notify-test", str(tmp_path / "missing.toml")])
    assert result.exit_code == 2
