"""Fleet-scale behaviour, end to end: bulk-only classification, idle vCenters left alone,
concurrent logins with one vCenter down, and the pacer and breaker seen in the report.

No timing assertions: every check is a count (simulator /stats, report.json, events.jsonl).
"""

from __future__ import annotations

import threading
import time
from pathlib import Path
from typing import Any

import anyio
import pytest
import stamina

from fleetupgrade.journal.readonly import read_run
from fleetupgrade.outcomes import Outcome
from fleetupgrade.rollout.poller import BulkPoller
from fleetupgrade.vcenter import VCenterClient
from tests.rollout.conftest import PlanSpec
from tests.rollout.scenarios import refs, scenario, sup

SINGLE_UPGRADE = "GET /api/vcenter/namespace-management/software/supervisors/upgrades/{supervisor}"
SINGLE_TASK = "GET /api/cis/tasks/{task}"
TASK_LIST = "POST /api/cis/tasks"
UPGRADE_LIST = "GET /api/vcenter/namespace-management/software/supervisors/upgrades"
SUMMARY_LIST = "GET /api/vcenter/namespace-management/supervisors/summaries"


def _ids(count: int) -> list[str]:
    return [f"supervisor-{i}" for i in range(1, count + 1)]


def test_all_success_wave_is_classified_from_bulk_reads_only(
    start_sim: Any, fleet_cli: Any, tmp_path: Path
) -> None:
    """An all-success wave sends one create each and no single Upgrades.get or task read."""
    sim = start_sim(
        scenario({vc: [sup(i) for i in _ids(3)] for vc in ("vc-a", "vc-b")}, speed=2000.0)
    )
    plan = PlanSpec(
        waves=[{"name": "one", "supervisors": refs("vc-a", *_ids(3)) + refs("vc-b", *_ids(3))}],
        defaults={"max_concurrent_per_vcenter": 3, "poll_interval": "20ms"},
    )
    result = fleet_cli("run", str(plan.write(tmp_path, sim)))
    assert result.exit_code == 0, result.output
    assert set(result.outcomes().values()) == {"upgraded"}
    stats = sim.stats()
    assert sorted(stats["creates"].values()) == [1] * 6
    assert stats["requests"].get(SINGLE_UPGRADE, 0) == 0
    assert stats["requests"].get(SINGLE_TASK, 0) == 0
    assert stats["requests"][TASK_LIST] > 0  # the jobs were followed in bulk


def test_poller_sends_nothing_while_nobody_waits(start_sim: Any, tmp_path: Path) -> None:
    """With nothing in flight the bulk poller sends no request, however long it runs."""
    sim = start_sim(scenario({"vc-a": [sup("supervisor-1")]}))
    endpoint = sim.endpoint("vc-a")

    async def scenario_run() -> tuple[int, int, int]:
        async with VCenterClient(endpoint) as client:
            await client.login()
            poller = BulkPoller(client, interval=0.01)
            async with anyio.create_task_group() as tg:
                tg.start_soon(poller.run)
                seen = await poller.read_upgrade("supervisor-1")
                assert "supervisor-1" in seen.upgrades
                rounds = poller.rounds
                before = sum(sim.stats()["vcenter_requests"]["vc-a"].values())
                await anyio.sleep(0.3)  # thirty intervals with nobody waiting
                after = sum(sim.stats()["vcenter_requests"]["vc-a"].values())
                tg.cancel_scope.cancel()
            return rounds, poller.rounds, after - before

    rounds_before, rounds_after, sent = anyio.run(scenario_run)
    assert rounds_before == rounds_after == 1
    assert sent == 0


def test_launch_reuses_a_recent_upgrade_list(start_sim: Any, tmp_path: Path) -> None:
    """A launch read within one interval of a round that read the Upgrades list sends nothing."""
    sim = start_sim(scenario({"vc-a": [sup(i) for i in _ids(3)]}))
    endpoint = sim.endpoint("vc-a")

    async def scenario_run() -> tuple[int, set[str]]:
        async with VCenterClient(endpoint) as client:
            await client.login()
            poller = BulkPoller(client, interval=60.0)
            async with anyio.create_task_group() as tg:
                tg.start_soon(poller.run)
                await poller.read_upgrade("supervisor-1")  # one round: the whole list
                seen = await poller.recent_upgrade("supervisor-3")
                tg.cancel_scope.cancel()
            return poller.rounds, set(seen.upgrades)

    rounds, seen = anyio.run(scenario_run)
    assert rounds == 1
    assert seen == set(_ids(3))
    assert sim.stats()["requests"][UPGRADE_LIST] == 1


def test_one_vcenter_down_the_others_proceed(
    start_sim: Any, fleet_cli: Any, tmp_path: Path
) -> None:
    """Logins run side by side: a down vCenter's Supervisors end unreachable, the rest upgrade."""
    sim = start_sim(
        scenario(
            {vc: [sup(i) for i in _ids(2)] for vc in ("vc-a", "vc-b", "vc-down")},
            speed=2000.0,
            faults={"vc-down": {"down": True}},
        )
    )
    plan = PlanSpec(
        waves=[
            {
                "name": "one",
                "max_failures": 10,
                "supervisors": refs("vc-a", *_ids(2))
                + refs("vc-down", *_ids(2))
                + refs("vc-b", *_ids(2)),
            }
        ],
        defaults={"max_concurrent_per_vcenter": 2, "poll_interval": "20ms"},
    )
    result = fleet_cli("run", str(plan.write(tmp_path, sim)))
    outcomes = result.outcomes()
    assert {k: v for k, v in outcomes.items() if k.startswith("vc-down/")} == {
        "vc-down/supervisor-1": "unreachable",
        "vc-down/supervisor-2": "unreachable",
    }
    assert {v for k, v in outcomes.items() if not k.startswith("vc-down/")} == {"upgraded"}
    creates = sim.stats()["creates"]
    assert sorted(creates) == [f"{vc}/{i}" for vc in ("vc-a", "vc-b") for i in _ids(2)]
    assert set(creates.values()) == {1}
    assert result.exit_code != 0


def test_a_vcenter_down_at_first_is_logged_in_on_a_retry_while_the_others_proceed(
    start_sim: Any, fleet_cli: Any, tmp_path: Path
) -> None:
    """A failed login is retried with backoff in the same wave; the others do not wait."""
    sim = start_sim(
        scenario(
            {vc: [sup("supervisor-1")] for vc in ("vc-a", "vc-late")},
            speed=2000.0,
            faults={"vc-late": {"down": True}},
        )
    )
    plan = PlanSpec(
        waves=[
            {
                "name": "one",
                "supervisors": refs("vc-a", "supervisor-1") + refs("vc-late", "supervisor-1"),
            }
        ],
        defaults={"poll_interval": "20ms"},
    )
    brought_up: list[dict[str, int]] = []

    def bring_up_once_the_other_fired() -> None:
        for _ in range(400):
            creates = sim.stats()["creates"]
            if creates:
                brought_up.append(dict(creates))
                sim.set_faults("vc-late", down=False)
                return
            time.sleep(0.01)

    helper = threading.Thread(target=bring_up_once_the_other_fired)
    helper.start()
    try:
        with stamina.set_testing(False):  # real backoff: the retry comes after vc-a fired
            result = fleet_cli("run", str(plan.write(tmp_path, sim)))
    finally:
        helper.join()
    assert brought_up == [{"vc-a/supervisor-1": 1}]  # vc-a fired while vc-late was down
    assert result.exit_code == 0, result.output
    assert set(result.outcomes().values()) == {"upgraded"}
    assert sim.stats()["vcenter_requests"]["vc-late"]["POST /api/session"] == 1


def test_pacer_waits_are_counted_per_vcenter(
    start_sim: Any, fleet_cli: Any, tmp_path: Path
) -> None:
    """Back-to-back requests to a vCenter wait for its pacer; report.json counts the waits."""
    sim = start_sim(scenario({"vc-paced": [sup(i) for i in _ids(3)]}, speed=2000.0))
    plan = PlanSpec(
        waves=[{"name": "one", "supervisors": refs("vc-paced", *_ids(3))}],
        defaults={"max_concurrent_per_vcenter": 3, "poll_interval": "20ms"},
        vcenters={"vc-paced": {"max_requests_per_second": 10}},
    )
    result = fleet_cli("run", str(plan.write(tmp_path, sim)))
    assert result.exit_code == 0, result.output
    (counters,) = result.report["vcenters"]
    assert counters["name"] == "vc-paced"
    assert counters["paced_waits"] > 0
    assert set(sim.stats()["creates"].values()) == {1}


def test_breaker_opens_on_a_failing_vcenter(fleet_cli: Any, tmp_path: Path) -> None:
    """A vCenter answering only 503 opens its breaker: counted in report.json and logged."""
    scenario_file = tmp_path / "scenario.toml"
    scenario_file.write_text(
        scenario(
            {vc: [sup("supervisor-1")] for vc in ("vc-ok", "vc-503")},
            speed=1000.0,
            faults={"vc-503": {"http_503_rate": 1.0}},
        ),
        encoding="utf-8",
    )
    plan = PlanSpec(
        waves=[
            {
                "name": "one",
                "max_failures": 10,
                "supervisors": refs("vc-ok", "supervisor-1") + refs("vc-503", "supervisor-1"),
            }
        ],
    )
    # Enough attempts for the breaker's threshold (5 consecutive failures) to be reached.
    with stamina.set_testing(True, attempts=7):
        result = fleet_cli("run", str(plan.write(tmp_path, None)), "--simulate", str(scenario_file))
    assert result.outcomes() == {
        "vc-ok/supervisor-1": "upgraded",
        "vc-503/supervisor-1": "unreachable",
    }
    counters = {v["name"]: v for v in result.report["vcenters"]}
    assert counters["vc-503"]["breaker_opens"] >= 1
    assert counters["vc-ok"]["breaker_opens"] == 0
    opened = [e for e in result.events() if e.get("event") == "circuit_opened"]
    assert opened
    assert {e.get("vcenter") for e in opened} == {"vc-503"}


def test_wave_tally_kept_in_memory_equals_a_recount() -> None:
    """The wave's running tally equals gates.tally over the same outcomes after any updates."""
    import random

    from fleetupgrade.decide.gates import tally
    from fleetupgrade.rollout.wave import WaveTally

    rng = random.Random(13)
    choices: list[Outcome | None] = [None, *Outcome]
    keys = [f"k{i}" for i in range(40)]
    counts = WaveTally(len(keys), dict.fromkeys(keys))
    truth: dict[str, Outcome | None] = dict.fromkeys(keys)
    for _ in range(500):
        key, outcome = rng.choice(keys), rng.choice(choices)
        counts.set(key, outcome)
        truth[key] = outcome
        assert counts.counts() == tally(len(keys), list(truth.values()))


def test_expected_duration_lets_jobs_end_without_a_task_read(
    start_sim: Any, fleet_cli: Any, tmp_path: Path
) -> None:
    """Jobs whose end is predicted are judged from the Upgrades list alone: no task read."""
    sim = start_sim(
        scenario(
            {"vc-a": [sup(i, precheck_duration="1s", upgrade_duration="10s") for i in _ids(3)]}
        )
    )
    plan = PlanSpec(
        waves=[{"name": "one", "supervisors": refs("vc-a", *_ids(3))}],
        defaults={
            "max_concurrent_per_vcenter": 3,
            "poll_interval": "100ms",
            "expected_upgrade_duration": "150ms",
        },
    )
    result = fleet_cli("run", str(plan.write(tmp_path, sim)))
    assert result.exit_code == 0, result.output
    assert set(result.outcomes().values()) == {"upgraded"}
    requests = sim.stats()["requests"]
    assert requests.get(TASK_LIST, 0) == 0
    assert requests.get(SINGLE_UPGRADE, 0) == requests.get(SINGLE_TASK, 0) == 0
    assert requests[UPGRADE_LIST] >= 2  # the launch decision, then the end
    assert requests[SUMMARY_LIST] >= 1  # health, read in the round that saw the end


def test_a_job_found_ended_at_its_predicted_end_is_learned_at_that_end(
    start_sim: Any, fleet_cli: Any, tmp_path: Path
) -> None:
    """The round starts a margin after the predicted end; the journal's job end does not.

    Jobs far shorter than the plan expects are found ended by the round due at their
    predicted end: their end is placed at it, so the duration learned from them is the one
    predicted, not the prediction plus the margin (which would grow wave after wave).
    """
    sim = start_sim(
        scenario(
            {"vc-a": [sup(i, precheck_duration="1s", upgrade_duration="1s") for i in _ids(2)]},
            speed=100.0,
        )
    )
    plan = PlanSpec(
        waves=[{"name": "one", "supervisors": refs("vc-a", *_ids(2))}],
        defaults={"poll_interval": "100ms", "expected_upgrade_duration": "300ms"},
    )
    result = fleet_cli("run", str(plan.write(tmp_path, sim)))
    assert result.exit_code == 0, result.output
    rows = read_run(result.run_dir / "state.db").supervisors
    assert {row.outcome for row in rows} == {Outcome.UPGRADED}
    for row in rows:
        assert row.intent_at is not None
        assert row.job_ended_at is not None
        learned = (row.job_ended_at - row.intent_at).total_seconds()
        assert learned == pytest.approx(0.3, abs=0.005), row.key


def test_a_job_ending_other_than_at_its_target_has_its_task_read(
    start_sim: Any, fleet_cli: Any, tmp_path: Path
) -> None:
    """A predicted end that is not an upgrade reads the task: the failure keeps its reason."""
    sim = start_sim(
        scenario({"vc-a": [sup("supervisor-1", upgrade_duration="10s", fail_at_percent=50)]})
    )
    plan = PlanSpec(
        waves=[{"name": "one", "supervisors": refs("vc-a", "supervisor-1")}],
        defaults={"poll_interval": "100ms", "expected_upgrade_duration": "150ms"},
    )
    result = fleet_cli("run", str(plan.write(tmp_path, sim)))
    assert result.exit_code == 3, result.output
    assert result.outcomes() == {"vc-a/supervisor-1": "failed"}
    assert sim.stats()["requests"][TASK_LIST] >= 1


def test_a_vcenter_is_logged_in_only_when_its_supervisors_need_it(
    start_sim: Any, fleet_cli: Any, tmp_path: Path
) -> None:
    """A vCenter whose only wave never starts (the first one halted) gets no login at all."""
    sim = start_sim(
        scenario(
            {
                "vc-a": [sup("supervisor-1", fail_at_percent=50)],
                "vc-later": [sup("supervisor-1")],
            }
        )
    )
    plan = PlanSpec(
        waves=[
            {"name": "first", "supervisors": refs("vc-a", "supervisor-1")},
            {"name": "later", "supervisors": refs("vc-later", "supervisor-1")},
        ],
        defaults={"poll_interval": "20ms"},
    )
    result = fleet_cli("run", str(plan.write(tmp_path, sim)))
    assert result.exit_code == 3, result.output
    assert result.outcomes()["vc-later/supervisor-1"] == "not_started"
    requests = sim.stats()["vcenter_requests"]
    assert requests["vc-a"]["POST /api/session"] == 1
    assert sum(requests.get("vc-later", {}).values()) == 0


def test_between_waves_sessions_are_kept_where_needed_and_ended_where_not(
    start_sim: Any, fleet_cli: Any, tmp_path: Path
) -> None:
    """A vCenter in two waves logs in once; each vCenter logs out exactly once."""
    sim = start_sim(scenario({"vc-a": [sup(i) for i in _ids(2)], "vc-b": [sup("supervisor-1")]}))
    plan = PlanSpec(
        waves=[
            {
                "name": "first",
                "supervisors": refs("vc-a", "supervisor-1") + refs("vc-b", "supervisor-1"),
            },
            {"name": "second", "supervisors": refs("vc-a", "supervisor-2")},
        ],
        defaults={"poll_interval": "20ms"},
    )
    result = fleet_cli("run", str(plan.write(tmp_path, sim)))
    assert result.exit_code == 0, result.output
    requests = sim.stats()["vcenter_requests"]
    for vcenter in ("vc-a", "vc-b"):
        assert requests[vcenter]["POST /api/session"] == 1, vcenter
        assert requests[vcenter]["DELETE /api/session"] == 1, vcenter


def test_a_job_unfollowed_while_its_round_is_in_flight_does_not_break_the_round(
    start_sim: Any, tmp_path: Path
) -> None:
    """A watcher that gives up (timeout) mid-round leaves the poller serving the others."""
    sim = start_sim(
        scenario({"vc-a": [sup(i) for i in _ids(2)]}, faults={"vc-a": {"latency": "300ms"}})
    )
    endpoint = sim.endpoint("vc-a")

    async def scenario_run() -> set[str]:
        async with VCenterClient(endpoint) as client:
            await client.login()
            poller = BulkPoller(client, interval=0.05)
            for supervisor_id in _ids(2):
                task_id = await client.create_upgrade_job(
                    supervisor_id, "9.1.0", ignore_precheck_warnings=False
                )
                poller.follow(supervisor_id, task_id, desired="9.1.0")
            async with anyio.create_task_group() as tg:
                tg.start_soon(poller.run)
                await anyio.sleep(0.1)  # the first round's task list is on the wire
                poller.unfollow("supervisor-1")
                seen = await poller.next_round()
                tg.cancel_scope.cancel()
            return set(seen.tasks) & set(seen.asked)

    read = anyio.run(scenario_run)
    assert len(read) == 1  # the job still followed was read; the other was let go
