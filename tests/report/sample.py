"""Realistic reports for the renderer tests: several waves, one halted, every outcome."""

from __future__ import annotations

import zlib
from datetime import UTC, datetime, timedelta

from fleetupgrade.outcomes import Outcome, RunResult, WaveStatus
from fleetupgrade.report.model import (
    Culprit,
    Decision,
    HistoryEntry,
    NotificationReport,
    PlanRef,
    Report,
    ReportMessage,
    SupervisorReport,
    ThresholdRef,
    VCenterReport,
    WaveReport,
    compute_totals,
)

T0 = datetime(2026, 12, 5, 22, 0, 0, tzinfo=UTC)
ODD_NAME = 'sv-<script>alert("x")</script>&\'|*_'
ODD_TEXT = 'Pod "<b>blue</b>" & <img src=x onerror=alert(1)> | `rm -rf` *now*'


def at(minutes: float) -> datetime:
    return T0 + timedelta(minutes=minutes)


def sv(
    name: str,
    outcome: Outcome | None,
    *,
    vcenter: str = "vc-east",
    start: float | None = None,
    end: float | None = None,
    reason: str | None = None,
    task: str | None = None,
    messages: tuple[tuple[str, str, str], ...] = (),
) -> SupervisorReport:
    return SupervisorReport(
        vcenter=vcenter,
        id=f"supervisor-{zlib.crc32(name.encode()) % 10_000:04d}" if outcome is not None else None,
        name=name,
        from_version="9.0.0",
        to_version="9.1.0",
        outcome=outcome,
        reason=reason,
        task_id=task,
        started_at=at(start) if start is not None else None,
        finished_at=at(end) if end is not None else None,
        messages=[ReportMessage(severity=s, id=i, text=t) for s, i, t in messages],
    )


CAPACITY = ("ERROR", "vsphere.pods.capacity", "Not enough capacity for control plane VMs")
TKC = ("WARNING", "tkc.compat", "TKC blue is not compatible with 9.1.0")


def sample_waves() -> list[WaveReport]:
    canary = WaveReport(
        name="canary",
        status=WaveStatus.COMPLETED,
        threshold=ThresholdRef(kind="count", limit=0),
        started_at=at(0),
        finished_at=at(32),
        supervisors=[
            sv("sv-lab-01", Outcome.UPGRADED, start=1, end=21, task="task-101"),
            sv("sv-lab-02", Outcome.ALREADY_CURRENT, vcenter="vc-west", start=1, end=1.5),
            sv(
                "sv-lab-03",
                Outcome.PRECHECK_WARNING,
                vcenter="vc-west",
                start=2,
                end=4,
                reason="prechecks reported WARNING",
                messages=(TKC,),
            ),
        ],
    )
    main = WaveReport(
        name="main",
        status=WaveStatus.HALTED,
        threshold=ThresholdRef(kind="percent", limit=12.5),
        precheck_errors=2,
        upgrade_failures=1,
        started_at=at(47),
        finished_at=at(120),
        supervisors=[
            sv("sv-prod-01", Outcome.UPGRADED, start=48, end=70, task="task-201"),
            sv(
                ODD_NAME,
                Outcome.PRECHECK_ERROR,
                start=48,
                end=51,
                reason="prechecks reported ERROR",
                messages=(CAPACITY, ("WARNING", "odd.id", ODD_TEXT)),
            ),
            sv(
                "sv-prod-03",
                Outcome.PRECHECK_ERROR,
                vcenter="vc-west",
                start=49,
                end=52,
                reason="prechecks reported ERROR",
                messages=(CAPACITY, TKC),
            ),
            sv(
                "sv-prod-04",
                Outcome.FAILED,
                vcenter="vc-west",
                start=50,
                end=90,
                reason="control plane node 2 failed to boot",
                task="task-204",
            ),
            sv(
                "sv-prod-05",
                Outcome.TIMED_OUT,
                start=51,
                end=115,
                reason="stalled",
                task="task-205",
            ),
            sv(
                "sv-prod-06",
                Outcome.REJECTED,
                vcenter="vc-west",
                start=52,
                end=52.1,
                reason="vCenter refused the job: Unsupported (HTTP 400)",
            ),
            sv(
                "sv-prod-07",
                Outcome.UNREACHABLE,
                vcenter="vc-south",
                reason="vCenter vc-south: connection refused",
            ),
            sv("sv-prod-08", Outcome.DETACHED, start=53, task="task-208"),
            sv("sv-prod-09", Outcome.NOT_STARTED, reason="wave halted"),
        ],
    )
    final = WaveReport(
        name="final",
        status=WaveStatus.NOT_STARTED,
        threshold=ThresholdRef(kind="count", limit=3),
        supervisors=[
            sv("sv-edge-01", Outcome.NOT_STARTED, reason="wave main halted"),
            sv("sv-edge-02", Outcome.NOT_STARTED, vcenter="vc-west", reason="wave main halted"),
        ],
    )
    return [canary, main, final]


def sample_report() -> Report:
    """A finished run whose second wave halted: every run outcome appears at least once."""
    waves = sample_waves()
    return Report(
        run_id="20261205T220000Z-q4-supervisor-upgrade-3f9a",
        plan=PlanRef(name="q4-supervisor-upgrade", path="plans/q4.toml", sha256="ab" * 32),
        mode="run",
        started_at=T0,
        finished_at=at(121.2345),
        result=RunResult.HALTED,
        exit_code=3,
        totals=compute_totals(waves),
        waves=waves,
        vcenters=[
            VCenterReport(name="vc-east", url="https://vc-east.corp.example", requests=412),
            VCenterReport(
                name="vc-west", url="https://vc-west.corp.example", requests=388, retries=4
            ),
            VCenterReport(
                name="vc-south", url="https://vc-south.corp.example", requests=3, errors=3
            ),
        ],
        decisions=[
            Decision(
                at=at(32),
                wave="canary",
                rule="max_precheck_errors",
                errors=0,
                failures=0,
                size=3,
                limit=0,
                verdict="continue",
            ),
            Decision(
                at=at(51),
                wave="main",
                rule="max_precheck_error_percent",
                errors=1,
                failures=0,
                size=9,
                limit=12.5,
                verdict="continue",
            ),
            Decision(
                at=at(52),
                wave="main",
                rule="max_precheck_error_percent",
                errors=2,
                failures=0,
                size=9,
                limit=12.5,
                verdict="halt",
                culprits=[
                    Culprit(supervisor=ODD_NAME, ids=["vsphere.pods.capacity"]),
                    Culprit(supervisor="sv-prod-03", ids=["vsphere.pods.capacity"]),
                ],
            ),
        ],
    )


def partial_dry_run_report() -> Report:
    """A dry run still in flight: dry-run outcomes plus Supervisors still pending."""
    wave = WaveReport(
        name="all",
        status=WaveStatus.COMPLETED,
        threshold=ThresholdRef(kind="count", limit=1),
        started_at=at(0),
        supervisors=[
            sv("sv-a", Outcome.WOULD_UPGRADE, start=0, end=2),
            sv("sv-b", Outcome.IN_PROGRESS, start=0, end=1, reason="an upgrade is running"),
            sv("sv-c", None, start=1),
            sv("sv-d", None),
        ],
    )
    return Report(
        run_id="20261205T220000Z-q4-supervisor-upgrade-dry0",
        plan=PlanRef(name="q4-supervisor-upgrade", path="plans/q4.toml", sha256="cd" * 32),
        mode="dry-run",
        started_at=T0,
        totals=compute_totals([wave]),
        waves=[wave],
    )


LONG_TASK = (
    "52b0c5e4-1d2c-4f6a-9b1e-8c7d6e5f4a3b:com.vmware.vcenter.namespace_management.software.clusters"
)
LONG_NAME = "sv-" + "very-long-supervisor-name-" * 4 + "end"
LONG_REASON = "the Supervisor " + "did not become healthy within the health timeout " * 3
BLOCKED = ("ERROR", "vcenter.wcp.upgrade.precheck.blocked", "Upgrade blocked by prechecks")


def stopped_simulated_report(extra: int = 0) -> Report:
    """A simulated run, interrupted, resumed and then stopped by SIGTERM, with long values.

    ``extra`` adds that many more upgraded Supervisors with long names to the first wave
    (to exercise the layout of very large tables).
    """
    first = [
        SupervisorReport(
            vcenter="vc-" + "east-datacenter-" * 3 + "01.corp.example",
            id="domain-c1001",
            name=LONG_NAME,
            from_version="v1.28.3+vmware.1-fips-vsc0.1.8-23016537",
            to_version="v1.29.1+vmware.2-fips-vsc0.1.9-23503862",
            outcome=Outcome.UNHEALTHY,
            reason=LONG_REASON,
            task_id=LONG_TASK,
            started_at=at(1),
            finished_at=at(30),
            health_wait_seconds=900.0,
            control_plane_nodes=3,
        ),
        SupervisorReport(
            vcenter="vc-east",
            id="domain-c1002",
            name="sv-ok",
            from_version="9.0.0",
            to_version="9.1.0",
            outcome=Outcome.UPGRADED,
            task_id="9f8e7d6c-0000-4000-8000-000000000002:" + LONG_TASK.split(":")[1],
            started_at=at(1),
            finished_at=at(20),
            health_wait_seconds=42.5,
            control_plane_nodes=3,
        ),
        sv(
            "sv-warned",
            Outcome.PRECHECK_WARNING,
            start=2,
            end=3,
            reason="prechecks reported WARNING",
            messages=(TKC, BLOCKED, TKC),
        ),
    ]
    first += [
        sv(f"{LONG_NAME}-{i:05d}", Outcome.UPGRADED, start=1, end=20, task=LONG_TASK)
        for i in range(extra)
    ]
    waves = [
        WaveReport(
            name="canary",
            status=WaveStatus.STOPPED,
            threshold=ThresholdRef(kind="count", limit=0),
            failure_threshold=ThresholdRef(kind="percent", limit=5),
            upgrade_failures=1,
            started_at=at(0),
            finished_at=at(31),
            supervisors=first,
        ),
        WaveReport(
            name="main",
            status=WaveStatus.NOT_STARTED,
            threshold=ThresholdRef(kind="count", limit=2),
            failure_threshold=ThresholdRef(kind="count", limit=1),
            supervisors=[sv("sv-later", Outcome.NOT_STARTED, reason="run stopped")],
        ),
    ]
    return Report(
        run_id="20261205T220000Z-q4-supervisor-upgrade-5b5b",
        plan=PlanRef(name="q4-supervisor-upgrade", path="plans/q4.toml", sha256="ef" * 32),
        mode="run",
        simulated=True,
        scenario_sha256="12" * 32,
        tool_version="0.2.0",
        operator="alice@jump-01.corp.example",
        change_ref="CHG-" + "1234567890" * 5,
        started_at=T0,
        finished_at=at(31),
        result=RunResult.STOPPED,
        exit_code=4,
        totals=compute_totals(waves),
        waves=waves,
        vcenters=[
            VCenterReport(
                name="vc-east",
                url="https://vc-east.corp.example",
                requests=99,
                retries=2,
                errors=1,
                paced_waits=17,
                breaker_opens=1,
            )
        ],
        decisions=[
            Decision(at=at(0.5), wave="canary", rule="approval", verdict="approved"),
            Decision(
                at=at(2.5),
                wave="canary",
                rule="window_fit",
                size=3,
                verdict="refused",
                culprits=[Culprit(supervisor="sv-ok", ids=[])],
            ),
        ],
        history=[
            HistoryEntry(at=at(0), event="started", by="alice@jump-01.corp.example"),
            HistoryEntry(at=at(0.5), event="approved", wave="canary", by="bob", reason="CAB ok"),
            HistoryEntry(at=at(10), event="interrupted", reason="no stop record (process died)"),
            HistoryEntry(at=at(12), event="resumed", by="alice@jump-01.corp.example"),
            HistoryEntry(at=at(31), event="stopped", reason="SIGTERM"),
        ],
        notifications=[
            NotificationReport(
                at=at(31),
                target="https://hooks.slack.com/services/***",
                event="run_stopped",
                status="failed",
                attempts=3,
            )
        ],
    )
