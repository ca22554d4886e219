"""Benchmark: writing every report file of a 10,000-Supervisor run.

Builds a synthetic but realistic :class:`Report` (4 waves, 50 vCenters, vCenter-style
task ids, precheck messages on one Supervisor in ten, a halted last wave, decisions,
history, notifications), then times each renderer, ``write_report_files`` (all four
files, fsynced) and ``write_report_json`` (the between-wave checkpoint). The target is
``write_report_files`` ≤ 2 s. Prints the figures, then one JSON line.

    python bench/bench_report.py [--supervisors 10000] [--waves 4] [--repeat 3]
"""

from __future__ import annotations

import argparse
import json
import statistics
import tempfile
import time
import uuid
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from functools import partial
from pathlib import Path
from random import Random

from fleetupgrade.outcomes import Outcome, RunResult, WaveStatus
from fleetupgrade.report import (
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
    render_html,
    render_json,
    render_junit,
    render_markdown,
    render_text,
    write_report_files,
    write_report_json,
)

T0 = datetime(2026, 12, 5, 22, 0, tzinfo=UTC)
SERVICE = "com.vmware.vcenter.namespace_management.software.clusters"


def build_report(supervisors: int, waves: int, vcenters: int = 50, seed: int = 1) -> Report:
    """A finished run whose last wave halted on precheck errors."""
    rng = Random(seed)
    per_wave = supervisors // waves
    wave_reports = []
    decisions = []
    for w in range(waves):
        start = T0 + timedelta(hours=2 * w)
        last = w == waves - 1
        svs = []
        for i in range(per_wave):
            n = w * per_wave + i
            vc = f"vc-{n % vcenters:03d}.corp.example"
            began = start + timedelta(seconds=rng.uniform(0, 3600))
            roll = rng.random()
            messages: list[ReportMessage] = []
            task: str | None = str(uuid.UUID(int=rng.getrandbits(128))) + ":" + SERVICE
            outcome, reason = Outcome.UPGRADED, None
            health: float | None = rng.uniform(10, 300)
            if last and roll < 0.1:
                outcome, reason, task, health = (
                    Outcome.PRECHECK_ERROR, "prechecks reported ERROR", None, None,
                )  # fmt: skip
                messages = [
                    ReportMessage(severity="ERROR", id="vsphere.pods.capacity",
                                  text="Not enough capacity for control plane VMs"),
                    ReportMessage(severity="ERROR", id="vcenter.wcp.upgrade.precheck.blocked",
                                  text="The upgrade is blocked by precheck failures"),
                ]  # fmt: skip
            elif roll < 0.12:
                outcome, reason, health = Outcome.FAILED, "control plane node 2 failed", None
            ended = began + timedelta(minutes=rng.uniform(15, 45))
            svs.append(
                SupervisorReport(
                    vcenter=vc,
                    id=f"domain-c{n}",
                    name=f"sv-{vc[:6]}-cluster-{n:05d}",
                    from_version="v1.28.3+vmware.1-fips-vsc0.1.8-23016537",
                    to_version="v1.29.1+vmware.2-fips-vsc0.1.9-23503862",
                    outcome=outcome,
                    reason=reason,
                    task_id=task,
                    started_at=began,
                    finished_at=ended,
                    health_wait_seconds=health,
                    control_plane_nodes=3,
                    messages=messages,
                )
            )
        errors = sum(sv.outcome == Outcome.PRECHECK_ERROR for sv in svs)
        culprits = [
            Culprit(supervisor=sv.label, ids=["vsphere.pods.capacity"])
            for sv in svs
            if sv.outcome == Outcome.PRECHECK_ERROR
        ][:3]
        decisions.append(
            Decision(
                at=start + timedelta(minutes=50),
                wave=f"wave-{w + 1}",
                rule="max_precheck_errors",
                errors=errors,
                size=len(svs),
                limit=2,
                verdict="halt" if last else "continue",
                culprits=culprits if last else [],
            )
        )
        wave_reports.append(
            WaveReport(
                name=f"wave-{w + 1}",
                status=WaveStatus.HALTED if last else WaveStatus.COMPLETED,
                threshold=ThresholdRef(kind="count", limit=2),
                failure_threshold=ThresholdRef(kind="percent", limit=15),
                precheck_errors=errors,
                upgrade_failures=sum(sv.outcome == Outcome.FAILED for sv in svs),
                started_at=start,
                finished_at=start + timedelta(minutes=100),
                supervisors=svs,
            )
        )
    return Report(
        run_id="20261205T220000Z-bench-report-0001",
        plan=PlanRef(name="bench-report", path="plans/bench.toml", sha256="ab" * 32),
        mode="run",
        simulated=True,
        scenario_sha256="cd" * 32,
        tool_version="0.1.0",
        operator="ops@jump-01",
        change_ref="CHG-1234",
        started_at=T0,
        finished_at=T0 + timedelta(hours=2 * waves),
        result=RunResult.HALTED,
        exit_code=3,
        totals=compute_totals(wave_reports),
        waves=wave_reports,
        vcenters=[
            VCenterReport(
                name=f"vc-{i:03d}.corp.example",
                url=f"https://vc-{i:03d}.corp.example",
                requests=1200,
                retries=3,
                paced_waits=40,
            )
            for i in range(vcenters)
        ],
        decisions=decisions,
        history=[HistoryEntry(at=T0, event="started", by="ops@jump-01")],
        notifications=[
            NotificationReport(
                at=T0 + timedelta(hours=7),
                target="https://hooks.example/***",
                event="wave_halted",
                status="delivered",
            )
        ],
    )


def _best(action: Callable[[], object], repeat: int) -> tuple[float, float]:
    """(best, median) wall seconds of ``repeat`` runs."""
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        action()
        times.append(time.perf_counter() - start)
    return min(times), statistics.median(times)


def main() -> None:
    """Build the report, time each step, print a table and one JSON line."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--supervisors", type=int, default=10_000)
    parser.add_argument("--waves", type=int, default=4)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--text", action="store_true", help="also time the terminal rendering")
    args = parser.parse_args()

    start = time.perf_counter()
    report = build_report(args.supervisors, args.waves)
    built = time.perf_counter() - start
    figures: dict[str, float] = {"build_s": round(built, 3)}
    renderers: dict[str, Callable[[Report], str]] = {
        "json": render_json, "md": render_markdown, "html": render_html, "junit": render_junit,
    }  # fmt: skip
    if args.text:
        renderers["text"] = render_text
    sizes = {}
    for name, render in renderers.items():
        best, _ = _best(partial(render, report), args.repeat)
        figures[f"render_{name}_s"] = round(best, 3)
        sizes[name] = len(render(report).encode())
    with tempfile.TemporaryDirectory() as tmp:
        run_dir = Path(tmp)
        best, median = _best(lambda: write_report_files(report, run_dir), args.repeat)
        figures["write_report_files_s"] = round(best, 3)
        figures["write_report_files_median_s"] = round(median, 3)
        best, median = _best(lambda: write_report_json(report, run_dir), args.repeat)
        figures["write_report_json_s"] = round(best, 3)
        files = {p.name: p.stat().st_size for p in sorted(run_dir.iterdir())}
    print(f"{args.supervisors} Supervisors in {args.waves} waves, best of {args.repeat}:")
    for key, value in figures.items():
        print(f"  {key:<30} {value:8.3f}")
    for name, size in files.items():
        print(f"  {name:<30} {size / 1e6:8.2f} MB")
    verdict = "OK" if figures["write_report_files_s"] <= 2.0 else "OVER BUDGET"
    print(f"  write_report_files target 2 s: {verdict}")
    print(json.dumps({"supervisors": args.supervisors, "waves": args.waves, **figures,
                      "bytes": files}))  # fmt: skip


if __name__ == "__main__":
    main()
