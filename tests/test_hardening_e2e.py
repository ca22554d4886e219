"""Hardening, end to end: signals, logouts, a full or frozen run directory, a lost WAL, modes.

Each test drives the real ``fleetupgrade`` (a separate process where signals, exit status
or kill -9 matter) against the simulator over HTTPS on 127.0.0.1.
"""

from __future__ import annotations

import json
import os
import signal
import stat
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.ops_support import (
    PASSWORD_ENV,
    SIM_PASSWORD,
    PlanSpec,
    events_of,
    fleetupgrade_argv,
    fresh_logging,  # noqa: F401 - autouse fixture
    invoke,
    only_run_dir,
    outcomes_of,
    report_of,
    running_sim,
    scenario_file,
    simulate_plan,
    wait_for,
)
from tests.rollout.conftest import ROOT, spawn_run, stderr_of
from tests.rollout.scenarios import refs, scenario, sup

FAST = 1000.0


def _slow_pair(speed: float = 100.0, duration: str = "300s") -> str:
    return scenario(
        {
            "vc-east": [
                sup("supervisor-1", upgrade_duration=duration),
                sup("supervisor-2", upgrade_duration=duration),
            ]
        },
        speed=speed,
    )


def _pair_plan(tmp_path: Path, sim: Any, **defaults: Any) -> Path:
    return PlanSpec(
        waves=[{"name": "w", "supervisors": refs("vc-east", "supervisor-1", "supervisor-2")}],
        defaults={"max_concurrent_per_vcenter": 2, "poll_interval": "20ms", **defaults},
    ).write(tmp_path, sim)


def _created(sim: Any, count: int) -> bool:
    return sum(sim.stats()["creates"].values()) >= count


# -- signals ---------------------------------------------------------------------------------


def test_hardening_sighup_is_handled_like_sigterm(tmp_path: Path) -> None:
    """SIGHUP (terminal closed): exit 4, report written, in flight detached, resumable."""
    with running_sim(_slow_pair(duration="100s"), tmp_path / "sim") as sim:
        plan = _pair_plan(tmp_path, sim)
        runs = tmp_path / "runs"
        process = spawn_run(plan, runs)
        try:
            wait_for(lambda: _created(sim, 2))
            process.send_signal(signal.SIGHUP)
            process.wait(15)
        finally:
            process.kill()
        assert process.returncode == 4, stderr_of(runs)
        run_dir = only_run_dir(runs)
        report = report_of(run_dir)
        assert report["result"] == "stopped"
        assert report["totals"] == {"detached": 2}
        assert "SIGHUP" in stderr_of(runs)
        assert sim.stats()["sessions"] == 0  # logged out on the way out
        resumed = invoke("run", str(plan), "--runs-dir", str(runs), "--resume")
        assert resumed.exit_code == 0, resumed.output
        assert set(outcomes_of(report_of(run_dir)).values()) == {"upgraded"}
        assert sim.stats()["creates"] == {"vc-east/supervisor-1": 1, "vc-east/supervisor-2": 1}
        assert sim.stats()["sessions"] == 0


def _one_supervisor_run(tmp_path: Path, runs: Path, *, stderr: int) -> subprocess.Popen[str]:
    """A simulated run of one Supervisor in a child process, its stdout piped."""
    plan = simulate_plan(tmp_path, ["supervisor-1"])
    scen = scenario_file(tmp_path, scenario({"vc-east": [sup("supervisor-1")]}, speed=FAST))
    return subprocess.Popen(
        fleetupgrade_argv("run", str(plan), "--scenario", str(scen), "--runs-dir", str(runs)),
        stdout=subprocess.PIPE,
        stderr=stderr,
        text=True,
        cwd=ROOT,
    )


def test_hardening_sigterm_after_the_result_keeps_its_exit_code(tmp_path: Path) -> None:
    """A SIGTERM once ``run_finished`` is logged (reports, summary) keeps the result's exit 0."""
    runs = tmp_path / "runs"
    process = _one_supervisor_run(tmp_path, runs, stderr=subprocess.PIPE)
    try:
        assert process.stderr is not None
        for line in process.stderr:  # the console's copy of the events, as they happen
            if '"run_finished"' in line:
                process.send_signal(signal.SIGTERM)
                break
        out, _ = process.communicate(timeout=30)
    finally:
        process.kill()
    assert process.returncode == 0
    assert "succeeded" in out
    run_dir = only_run_dir(runs)
    assert report_of(run_dir)["result"] == "succeeded"
    assert (run_dir / "report.html").is_file()


def test_hardening_sigterm_after_the_summary_keeps_its_exit_code(tmp_path: Path) -> None:
    """A SIGTERM right after the summary is printed: still the result's exit code (0)."""
    process = _one_supervisor_run(tmp_path, tmp_path / "runs", stderr=subprocess.DEVNULL)
    try:
        assert process.stdout is not None
        for line in process.stdout:
            if line.startswith("fleetupgrade SIMULATED run"):  # the summary's result line
                process.send_signal(signal.SIGTERM)
                break
        process.communicate(timeout=30)
    finally:
        process.kill()
    assert "succeeded" in line
    assert process.returncode == 0


# -- logout on every exit path ------------------------------------------------------------------


def test_hardening_logout_after_a_normal_end_and_a_halt(tmp_path: Path) -> None:
    """After a run that succeeds and one that halts, the simulator holds no session."""
    text = scenario(
        {"vc-east": [sup("supervisor-1"), sup("supervisor-2", fail_at_percent=50)]}, speed=FAST
    )
    with running_sim(text, tmp_path / "sim") as sim:
        ok = PlanSpec(
            waves=[{"name": "w", "supervisors": refs("vc-east", "supervisor-1")}],
            defaults={"poll_interval": "20ms"},
            name="ok",
        ).write(tmp_path, sim)
        done = invoke("run", str(ok), "--runs-dir", str(tmp_path / "runs"))
        assert done.exit_code == 0, done.output
        assert sim.stats()["sessions"] == 0
        halting = PlanSpec(
            waves=[
                {"name": "a", "supervisors": refs("vc-east", "supervisor-2")},
                {"name": "b", "supervisors": refs("vc-east", "supervisor-1")},
            ],
            defaults={"poll_interval": "20ms"},
            name="halting",
        ).write(tmp_path, sim)
        halted = invoke("run", str(halting), "--runs-dir", str(tmp_path / "runs"))
        assert halted.exit_code == 3, halted.output
        assert sim.stats()["sessions"] == 0


@pytest.mark.slow
def test_hardening_logout_after_request_timeouts(tmp_path: Path) -> None:
    """Requests that time out, then a stop: every session is deleted (none left behind)."""
    with running_sim(_slow_pair(), tmp_path / "sim") as sim:
        plan = _pair_plan(tmp_path, sim, request_timeout="500ms")
        runs = tmp_path / "runs"
        process = spawn_run(plan, runs)
        try:
            wait_for(lambda: _created(sim, 2))
            sim.set_faults("vc-east", latency="800ms")  # real seconds: > request_timeout
            wait_for(lambda: _timeouts(runs) >= 1)
            process.send_signal(signal.SIGTERM)  # requests still hang: logout must wait
            process.wait(20)
        finally:
            process.kill()
        assert process.returncode == 4, stderr_of(runs)
        assert sim.stats()["sessions"] == 0


def _timeouts(runs: Path) -> int:
    count = 0
    for path in runs.glob("*/events.jsonl"):
        count += path.read_text(encoding="utf-8").count("(request_timeout)")
    return count


# -- the run directory ----------------------------------------------------------------------


def _walk_modes(root: Path) -> dict[str, int]:
    modes = {}
    for path in [root, *root.rglob("*")]:
        modes[str(path.relative_to(root.parent))] = stat.S_IMODE(path.lstat().st_mode)
    return modes


def _assert_private(run_dir: Path) -> None:
    wrong = {
        name: oct(mode)
        for name, mode in _walk_modes(run_dir).items()
        if mode != (0o700 if (run_dir.parent / name).is_dir() else 0o600)
    }
    assert wrong == {}


def test_hardening_run_directory_is_private(tmp_path: Path) -> None:
    """Run dir 0700, every file in it 0600 (WAL, shm, sim CA, events, reports), lock 0600."""
    plan = simulate_plan(tmp_path, ["supervisor-1", "supervisor-2"])
    scen = scenario_file(tmp_path, _slow_pair(speed=FAST, duration="3000s"))
    runs = tmp_path / "runs"
    process = spawn_run(plan, runs, "--scenario", str(scen))
    try:
        wait_for(lambda: any(runs.glob("*/state.db-wal")) and _logged(runs, "upgrade_job_created"))
        run_dir = only_run_dir(runs)
        names = {p.name for p in run_dir.rglob("*")}
        assert {"state.db-wal", "state.db-shm", "ca.pem", "events.jsonl"} <= names
        _assert_private(run_dir)
        process.send_signal(signal.SIGTERM)
        process.wait(20)
    finally:
        process.kill()
    assert process.returncode == 4, stderr_of(runs)
    assert {"report.json", "report.html"} <= {p.name for p in run_dir.iterdir()}
    _assert_private(run_dir)
    assert stat.S_IMODE((runs / ".ops-plan.lock").stat().st_mode) == 0o600
    assert stat.S_IMODE(runs.stat().st_mode) == 0o700


def _logged(runs: Path, event: str) -> bool:
    return any(f'"{event}"' in p.read_text(encoding="utf-8") for p in runs.glob("*/events.jsonl"))


def test_hardening_deleted_wal_after_a_crash_keeps_the_journal(tmp_path: Path) -> None:
    """kill -9 after wave 1, state.db-wal deleted: --resume never re-creates wave 1's jobs."""
    text = scenario(
        {"vc-east": [sup("supervisor-1"), sup("supervisor-2", upgrade_duration="800s")]},
        speed=FAST,
    )
    with running_sim(text, tmp_path / "sim") as sim:
        plan = PlanSpec(
            waves=[
                {"name": "first", "supervisors": refs("vc-east", "supervisor-1")},
                {"name": "second", "supervisors": refs("vc-east", "supervisor-2")},
            ],
            defaults={"poll_interval": "20ms"},
        ).write(tmp_path, sim)
        runs = tmp_path / "runs"
        process = spawn_run(plan, runs)
        try:
            wait_for(lambda: "vc-east/supervisor-2" in sim.stats()["creates"])
            process.kill()
            process.wait(10)
        finally:
            process.kill()
        run_dir = only_run_dir(runs)
        first_task = next(
            j["task"] for j in sim.stats()["jobs"] if j["supervisor"] == "supervisor-1"
        )
        (run_dir / "state.db-wal").unlink()
        resumed = invoke("run", str(plan), "--runs-dir", str(runs), "--resume")
        assert resumed.exit_code == 0, resumed.output
        assert sim.stats()["creates"] == {"vc-east/supervisor-1": 1, "vc-east/supervisor-2": 1}
    report = report_of(run_dir)
    [first] = report["waves"][0]["supervisors"]
    assert (first["outcome"], first["task_id"]) == ("upgraded", first_task)


# -- the environment's failures ------------------------------------------------------------------


@pytest.fixture
def small_tmpfs(tmp_path: Path) -> Iterator[Path]:
    """A 256 KiB tmpfs (root only); unmounted at the end."""
    if os.geteuid() != 0:
        pytest.skip("mounting a tmpfs needs root")
    mount = tmp_path / "small"
    mount.mkdir()
    done = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", "size=256k,mode=0700", "tmpfs", str(mount)],
        capture_output=True,
        check=False,
    )
    if done.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here: {done.stderr.decode(errors='replace')}")
    try:
        yield mount
    finally:
        subprocess.run(["umount", "-l", str(mount)], check=False)


def test_hardening_full_disk_exits_74_then_resume_finishes(
    tmp_path: Path, small_tmpfs: Path
) -> None:
    """Run dir on a full tmpfs: exit 74 naming path and operation (never 70); resume finishes."""
    with running_sim(_slow_pair(speed=FAST, duration="1000s"), tmp_path / "sim") as sim:
        plan = _pair_plan(tmp_path, sim)
        runs = small_tmpfs / "runs"
        process = subprocess.run(
            [*fleetupgrade_argv("run", str(plan), "--runs-dir", str(runs), "--no-progress")],
            env={**os.environ, PASSWORD_ENV: SIM_PASSWORD},
            capture_output=True,
            text=True,
            timeout=60,
            cwd=ROOT,
            check=False,
        )
        assert process.returncode == 74, process.stderr[-3000:]
        message = process.stderr.strip().splitlines()[-1]
        assert message.startswith("error: cannot "), message
        assert str(runs) in message
        assert "Traceback" not in process.stderr
        subprocess.run(["mount", "-o", "remount,size=64m", str(small_tmpfs)], check=True)
        resumed = invoke("run", str(plan), "--runs-dir", str(runs), "--resume")
        assert resumed.exit_code == 0, resumed.output
        assert sim.stats()["creates"] == {"vc-east/supervisor-1": 1, "vc-east/supervisor-2": 1}


def test_hardening_immutable_run_directory_exits_74_cleanly(tmp_path: Path) -> None:
    """`chattr +i` on the run directory mid-run: exit 74, a clean message, no traceback."""
    with running_sim(_slow_pair(duration="60s"), tmp_path / "sim") as sim:
        plan = _pair_plan(tmp_path, sim)
        runs = tmp_path / "runs"
        process = spawn_run(plan, runs)
        frozen: Path | None = None
        try:
            wait_for(lambda: _created(sim, 2))
            run_dir = only_run_dir(runs)
            if subprocess.run(["chattr", "+i", str(run_dir)], check=False).returncode != 0:
                pytest.skip("chattr +i does not work on this filesystem")
            frozen = run_dir
            process.wait(30)
        finally:
            process.kill()
            if frozen is not None:
                subprocess.run(["chattr", "-i", str(frozen)], check=False)
    stderr = stderr_of(runs)
    assert process.returncode == 74, stderr[-3000:]
    message = stderr.strip().splitlines()[-1]
    assert message.startswith("error: cannot ")
    assert str(run_dir) in message
    for text in (stderr, (run_dir / "events.jsonl").read_text(encoding="utf-8")):
        assert "Traceback" not in text
        assert "ExceptionGroup" not in text


# -- the password file -----------------------------------------------------------------------


def test_hardening_group_readable_password_file_warns_twice(tmp_path: Path) -> None:
    """A password_file readable by its group: a validate warning and a run-time warning event."""
    password = tmp_path / "vc.pw"
    password.write_text(SIM_PASSWORD + "\n", encoding="utf-8")
    password.chmod(0o640)
    text = scenario({"vc-east": [sup("supervisor-1")]}, speed=FAST)
    with running_sim(text, tmp_path / "sim") as sim:
        plan = PlanSpec(
            waves=[{"name": "w", "supervisors": refs("vc-east", "supervisor-1")}],
            defaults={"poll_interval": "20ms"},
            vcenters={"vc-east": {"password_file": str(password)}},
        )
        rendered = plan.render(sim).replace(f'password_env = "{PASSWORD_ENV}"\n', "")
        path = tmp_path / "plan.toml"
        path.write_text(rendered, encoding="utf-8")
        checked = invoke("validate", str(path))
        assert checked.exit_code == 0, checked.output
        assert "readable by group or others" in checked.output
        runs = tmp_path / "runs"
        done = invoke("run", str(path), "--runs-dir", str(runs))
        assert done.exit_code == 0, done.output
    warnings = [
        e
        for e in events_of(only_run_dir(runs))
        if e["event"] == "password_file_too_open" and e["level"] == "warning"
    ]
    assert len(warnings) == 1
    assert warnings[0]["vcenter"] == "vc-east"
    assert str(password) in json.dumps(warnings[0])
