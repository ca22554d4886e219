"""Operable at 2 a.m., end to end: the real ``fleetupgrade`` against the simulator.

A console that goes away never fails a run; short passwords never alter task ids or host
names; levels are usable for alerting; the run's own events have fixed keys; the scenario
option, the lock wait and shell completion work as documented.
"""

from __future__ import annotations

import hashlib
import json
import os
import threading
import time
from pathlib import Path
from typing import Any

import pytest
import stamina

from fleetupgrade.journal.lock import PlanLock
from fleetupgrade.logs import reset_logging
from fleetupgrade.outcomes import Outcome
from tests.broken_console import run_reader_leaves
from tests.ops_support import (
    PASSWORD_ENV,
    PlanSpec,
    cli,
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
)
from tests.rollout.scenarios import error_check, refs, scenario, sup

FAST = 1000.0  # simulator speed: a 60 s upgrade takes 60 ms


# -- the console ---------------------------------------------------------------------------


def test_ops_reader_leaving_after_three_lines_does_not_fail_the_run(tmp_path: Path) -> None:
    """`run PLAN --scenario S 2>&1 | head -3`: exit 0, full report and events, cwd untouched."""
    plan = simulate_plan(tmp_path, ["supervisor-1", "supervisor-2"])
    scen = scenario_file(
        tmp_path, scenario({"vc-east": [sup("supervisor-1"), sup("supervisor-2")]}, speed=FAST)
    )
    cwd = tmp_path / "cwd"
    cwd.mkdir()
    runs = tmp_path / "runs"
    argv = fleetupgrade_argv(
        "run", str(plan), "--scenario", str(scen), "--runs-dir", str(runs), "--log-level", "debug"
    )
    left = run_reader_leaves(argv, lines=3, env=os.environ, cwd=cwd)
    assert left.returncode == 0
    assert len(left.head) == 3
    run_dir = only_run_dir(runs)
    report = report_of(run_dir)
    assert report["result"] == "succeeded"
    assert set(outcomes_of(report).values()) == {"upgraded"}
    assert all((run_dir / name).is_file() for name in ("report.html", "report.md", "junit.xml"))
    events = events_of(run_dir)
    assert events[-1]["event"] == "run_finished"
    finished = [e["supervisor"] for e in events if e["event"] == "supervisor_finished"]
    assert sorted(finished) == ["vc-east/supervisor-1", "vc-east/supervisor-2"]
    assert list(cwd.iterdir()) == []  # no crash log in the working directory


# -- short passwords -------------------------------------------------------------------------


@pytest.mark.parametrize("password", ["vmware", "x"])
def test_ops_short_password_leaves_task_ids_and_hosts_intact(tmp_path: Path, password: str) -> None:
    """A real run whose password is `vmware` or `x`: task ids and names intact in the files."""
    users = [
        {
            "username": "administrator@vsphere.local",
            "password": password,
            "privileges": ["Namespaces.Upgrade"],
        }
    ]
    text = scenario(
        {"vc-example": [sup("supervisor-1", name="sv-example")]}, speed=FAST, users=users
    )
    with running_sim(text, tmp_path / "sim") as sim:
        plan = PlanSpec(
            waves=[{"name": "w", "supervisors": refs("vc-example", "supervisor-1")}],
            defaults={"poll_interval": "20ms"},
        ).write(tmp_path, sim)
        runs = tmp_path / "runs"
        result = invoke("run", str(plan), "--runs-dir", str(runs), env={PASSWORD_ENV: password})
        assert result.exit_code == 0, result.output
        task_ids = {job["task"] for job in sim.stats()["jobs"]}
    assert len(task_ids) == 1
    task_id = next(iter(task_ids))
    assert "vmware" in task_id  # ``…:com.vmware.vcenter…``: what a naive mask would break
    run_dir = only_run_dir(runs)
    events_text = (run_dir / "events.jsonl").read_text(encoding="utf-8")
    report_text = (run_dir / "report.json").read_text(encoding="utf-8")
    for text_ in (events_text, report_text):
        assert "***" not in text_
        assert task_id in text_
        assert "vc-example" in text_
    created = [e for e in events_of(run_dir) if e["event"] == "upgrade_job_created"]
    assert [e["task_id"] for e in created] == [task_id]
    [row] = [s for w in report_of(run_dir)["waves"] for s in w["supervisors"]]
    assert (row["task_id"], row["vcenter"], row["name"]) == (task_id, "vc-example", "sv-example")


# -- levels, keys and the console, from one mixed run -----------------------------------------


@pytest.fixture(scope="module")
def mixed_run(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """One real run: a failed upgrade, a precheck ERROR, an unreachable vCenter, a halt.

    One more vCenter answers 503 a third of the time, so requests are retried.
    """
    tmp_path = tmp_path_factory.mktemp("mixed")
    text = scenario(
        {
            "vc-east": [
                sup("supervisor-1", fail_at_percent=50, upgrade_duration="400s"),
                sup("supervisor-2", prechecks=error_check("tkc.compat")),
                sup("supervisor-3"),
                sup("supervisor-4"),
            ],
            "vc-down": [sup("supervisor-1")],
            "vc-flaky": [sup("supervisor-1")],
        },
        speed=FAST,
        faults={"vc-flaky": {"http_503_rate": 0.3}, "vc-down": {"down": True}},
    )
    with running_sim(text, tmp_path / "sim") as sim:
        plan = PlanSpec(
            waves=[
                {
                    "name": "canary",
                    "supervisors": refs("vc-east", "supervisor-1", "supervisor-2", "supervisor-3")
                    + refs("vc-down", "supervisor-1")
                    + refs("vc-flaky", "supervisor-1"),
                    "max_failures": 1,  # the unreachable one, then the failed one: halt
                    "max_precheck_errors": 5,
                },
                {"name": "rest", "supervisors": refs("vc-east", "supervisor-4")},
            ],
            defaults={
                "poll_interval": "20ms",
                "max_concurrent_per_vcenter": 3,
                "request_timeout": "2s",
            },
        ).write(tmp_path, sim)
        runs = tmp_path / "runs"
        with stamina.set_testing(True, attempts=3):  # no backoff waits towards vc-down
            done = invoke("run", str(plan), "--runs-dir", str(runs), "--no-progress")
        reset_logging()
    run_dir = only_run_dir(runs)
    return {
        "code": done.exit_code,
        "stderr": done.stderr,
        "events": events_of(run_dir),
        "report": report_of(run_dir),
    }


def _levels(events: list[dict[str, Any]], name: str, **match: str) -> set[str]:
    found = {
        e["level"]
        for e in events
        if e["event"] == name and all(e.get(k) == v for k, v in match.items())
    }
    assert found, f"no {name} event matching {match}"
    return found


def test_ops_mixed_run_ends_halted(mixed_run: dict[str, Any]) -> None:
    """The mixed run halts its first wave (exit 3) and says so in the report."""
    assert mixed_run["code"] == 3, mixed_run["stderr"][-2000:]
    assert mixed_run["report"]["result"] == "halted"


def test_ops_alertable_events_are_warning_or_error(mixed_run: dict[str, Any]) -> None:
    """Failed upgrade, precheck ERROR, halted wave, unreachable vCenter: warning or error."""
    events = mixed_run["events"]
    alert = {"warning", "error"}
    assert _levels(events, "supervisor_finished", outcome="failed") <= alert
    assert _levels(events, "supervisor_finished", outcome="precheck_error") <= alert
    assert _levels(events, "precheck_result", severity="ERROR") <= alert
    assert _levels(events, "wave_halted") <= alert
    assert _levels(events, "vcenter_unreachable") <= alert
    assert _levels(events, "supervisor_finished", outcome="unreachable") <= alert
    assert _levels(events, "run_finished") <= alert


def test_ops_upgrade_progress_is_debug(mixed_run: dict[str, Any]) -> None:
    """Per-poll ``upgrade_progress`` lines are debug: the info stream stays readable."""
    assert _levels(mixed_run["events"], "upgrade_progress") == {"debug"}


def test_ops_stamina_retry_line_is_absent(tmp_path: Path) -> None:
    """Retries are logged once, as our ``http_retry``; stamina's own line never appears."""
    text = scenario(
        {"vc-flaky": [sup("supervisor-1")]}, speed=FAST, faults={"vc-flaky": {"http_503_rate": 0.2}}
    )
    with running_sim(text, tmp_path / "sim") as sim:
        plan = PlanSpec(
            waves=[{"name": "w", "supervisors": refs("vc-flaky", "supervisor-1")}],
            defaults={"poll_interval": "20ms"},
        ).write(tmp_path, sim)
        runs = tmp_path / "runs"
        # A separate process: stamina's real instrumentation, not its test mode.
        done = cli("run", str(plan), "--runs-dir", str(runs), "--log-level", "debug")
    events = events_of(only_run_dir(runs))
    assert any(e["event"] == "http_retry" for e in events), done.stderr[-2000:]
    everything = json.dumps(events) + done.stderr
    assert "stamina" not in everything
    assert "retry_scheduled" not in everything


def test_ops_run_finished_has_fixed_keys(mixed_run: dict[str, Any]) -> None:
    """``run_finished`` carries ``result`` and ``counts`` (no dynamic keys, no ``outcome``)."""
    [finished] = [e for e in mixed_run["events"] if e["event"] == "run_finished"]
    assert set(finished) == {
        "timestamp",
        "level",
        "event",
        "run_id",
        "result",
        "counts",
        "exit_code",
    }
    assert finished["result"] == "halted"
    assert finished["counts"] == mixed_run["report"]["totals"]


def test_ops_outcome_field_is_a_supervisor_outcome_only(mixed_run: dict[str, Any]) -> None:
    """Every ``outcome`` in the events is a Supervisor outcome; the run's is ``result``."""
    values = {e["outcome"] for e in mixed_run["events"] if "outcome" in e}
    assert values
    assert values <= {o.value for o in Outcome}
    run_level = [e for e in mixed_run["events"] if e["event"].startswith("run_")]
    assert all("outcome" not in e for e in run_level)


def test_ops_console_off_a_tty_shows_info_and_above(mixed_run: dict[str, Any]) -> None:
    """stderr (not a TTY) holds JSON lines at info and above; the events file also has debug."""
    lines = [json.loads(line) for line in mixed_run["stderr"].splitlines() if line.startswith("{")]
    levels = {e["level"] for e in lines}
    assert "info" in levels
    assert "warning" in levels
    assert levels <= {"info", "warning", "error"}
    assert "debug" in {e["level"] for e in mixed_run["events"]}


# -- resume -----------------------------------------------------------------------------------


def test_ops_resume_logs_run_resumed_not_a_second_run_started(tmp_path: Path) -> None:
    """A resumed run logs ``run_resumed``; ``run_started`` appears once in events.jsonl."""
    text = scenario({"vc-east": [sup("supervisor-1", upgrade_duration="200s")]}, speed=FAST)
    with running_sim(text, tmp_path / "sim") as sim:
        plan = PlanSpec(
            waves=[{"name": "w", "supervisors": refs("vc-east", "supervisor-1")}],
            defaults={"poll_interval": "20ms"},
        ).write(tmp_path, sim)
        runs = tmp_path / "runs"
        # Stop right after the create with the crash hook: the run is unfinished.
        first = cli(
            "run",
            str(plan),
            "--runs-dir",
            str(runs),
            env={"FLEETUPGRADE_TEST_CRASH_AT": "watching"},
        )
        assert first.returncode == -9
        resumed = invoke("run", str(plan), "--runs-dir", str(runs), "--resume")
        assert resumed.exit_code == 0, resumed.output
        assert sim.stats()["creates"] == {"vc-east/supervisor-1": 1}
    names = [e["event"] for e in events_of(only_run_dir(runs))]
    assert names.count("run_started") == 1
    assert names.count("run_resumed") == 1
    assert names.index("run_started") < names.index("run_resumed")


# -- the scenario option ------------------------------------------------------------------------


def test_ops_scenario_option_and_old_spelling(tmp_path: Path) -> None:
    """`--scenario FILE` runs simulated; the old `--simulate FILE` works with a notice."""
    plan = simulate_plan(tmp_path, ["supervisor-1"])
    scen = scenario_file(tmp_path, scenario({"vc-east": [sup("supervisor-1")]}, speed=FAST))
    digest = hashlib.sha256(scen.read_bytes()).hexdigest()
    new = invoke("run", str(plan), "--scenario", str(scen), "--runs-dir", str(tmp_path / "new"))
    assert new.exit_code == 0, new.output
    assert "deprecated" not in new.stderr
    old = invoke("run", str(plan), "--simulate", str(scen), "--runs-dir", str(tmp_path / "old"))
    assert old.exit_code == 0, old.output
    assert "--simulate SCENARIO is deprecated; use --scenario SCENARIO" in old.stderr
    for runs in ("new", "old"):
        report = report_of(only_run_dir(tmp_path / runs))
        assert report["simulated"] is True
        assert report["scenario_sha256"] == digest


def test_ops_simulate_before_the_plan_takes_it_as_the_plan(tmp_path: Path) -> None:
    """`run --simulate PLAN` (option first) runs PLAN on a derived scenario, not as a scenario."""
    plan = simulate_plan(tmp_path, ["supervisor-1"])
    runs = tmp_path / "runs"
    done = cli("run", "--simulate", str(plan), "--dry-run", "--runs-dir", str(runs))
    assert done.returncode == 0, done.stderr
    assert "deprecated" not in done.stderr
    report = report_of(only_run_dir(runs))
    assert report["simulated"] is True
    assert report["plan"]["name"] == "ops-plan"
    assert report["scenario_sha256"].startswith("derived:")


# -- the lock --------------------------------------------------------------------------------


def test_ops_lock_timeout_waits_for_the_lock_then_runs(tmp_path: Path) -> None:
    """`--lock-timeout 5s` waits while another holder has the lock, then runs (exit 0)."""
    plan = simulate_plan(tmp_path, ["supervisor-1"])
    scen = scenario_file(tmp_path, scenario({"vc-east": [sup("supervisor-1")]}, speed=FAST))
    runs = tmp_path / "runs"
    lock = PlanLock(runs, "ops-plan")
    lock.acquire("someone-else")
    releaser = threading.Timer(0.5, lock.release)
    began = time.monotonic()
    releaser.start()
    try:
        done = invoke(
            "run", str(plan), "--scenario", str(scen), "--runs-dir", str(runs),
            "--lock-timeout", "5s",
        )  # fmt: skip
    finally:
        releaser.join()
    assert done.exit_code == 0, done.output
    assert time.monotonic() - began >= 0.5


def test_ops_lock_timeout_expires_naming_the_holder(tmp_path: Path) -> None:
    """`--lock-timeout 300ms` with the lock held throughout: exit 75, a sentence naming it."""
    plan = simulate_plan(tmp_path, ["supervisor-1"])
    scen = scenario_file(tmp_path, scenario({"vc-east": [sup("supervisor-1")]}, speed=FAST))
    runs = tmp_path / "runs"
    lock = PlanLock(runs, "ops-plan")
    lock.acquire("20261201T000000Z-ops-plan-abcd")
    try:
        began = time.monotonic()
        done = cli(
            "run", str(plan), "--scenario", str(scen), "--runs-dir", str(runs),
            "--lock-timeout", "300ms",
        )  # fmt: skip
        waited = time.monotonic() - began
    finally:
        lock.release()
    assert done.returncode == 75, done.stderr
    assert waited >= 0.3
    message = done.stderr.strip().splitlines()[-1]
    assert f"held by pid {os.getpid()} on host " in message
    assert " since 20" in message
    assert "(run 20261201T000000Z-ops-plan-abcd)" in message
    assert "{" not in message  # a sentence, not the raw holder record


# -- shell completion -------------------------------------------------------------------------


def test_ops_shell_completion_script_and_words() -> None:
    """`_FLEETUPGRADE_COMPLETE=bash_source fleetupgrade` prints a script that completes `run`."""
    script = cli(env={"_FLEETUPGRADE_COMPLETE": "bash_source"})
    assert script.returncode == 0
    assert "complete -o nosort -F _fleetupgrade_completion fleetupgrade" in script.stdout
    words = cli(
        env={
            "_FLEETUPGRADE_COMPLETE": "bash_complete",
            "COMP_WORDS": "fleetupgrade ru",
            "COMP_CWORD": "1",
        }
    )
    assert words.stdout.split() == ["plain,run"]


# -- crash reports ----------------------------------------------------------------------------


def test_ops_crash_before_the_run_directory_goes_to_the_runs_dir(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A bug before any run directory exists: exit 70, crash report in --runs-dir, not the cwd."""
    import fleetupgrade.cli.run as run_module

    def broken(_: Path) -> None:
        raise RuntimeError("injected bug")

    monkeypatch.setattr(run_module, "load_plan", broken)
    cwd = tmp_path / "cwd"
    cwd.mkdir()
    monkeypatch.chdir(cwd)
    runs = tmp_path / "elsewhere" / "runs"
    done = invoke("run", str(tmp_path / "plan.toml"), "--runs-dir", str(runs))
    assert done.exit_code == 70
    assert "internal error: RuntimeError: injected bug" in done.output
    [crash] = runs.glob("crash-*.log")
    assert "injected bug" in crash.read_text(encoding="utf-8")
    assert list(cwd.iterdir()) == []
