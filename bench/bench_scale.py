"""Benchmark: ``fleetupgrade run`` against ``fleetupgrade sim``, each in its own process.

The simulator serves a generated fleet (``[generate]``) over HTTPS on loopback and writes
its ``--ready-file``; the bench writes a plan from the ready file's URLs and CA, runs
``fleetupgrade run`` as a second process and measures that process alone: peak RSS and CPU
time (``resource`` of the waited child), HTTP requests per Supervisor by route (the
simulator's ``/stats``), run start → first create and last outcome → run finished (the
timestamps of events.jsonl), and the makespan (the run process from start to exit)
against its lower bound: per wave, the busiest vCenter's rounds
(``ceil(count / max_concurrent_per_vcenter)``) × job duration, plus one poll interval; and
against the jobs alone. The makespan is split into process start → run started, the run,
and run finished → exit.

    python bench/bench_scale.py                # 500 × 20, 10-minute jobs at speed 3600
    python bench/bench_scale.py --small        # 100 on 10 vCenters, 5-second jobs
    python bench/bench_scale.py --runs 3 --json

``FLEETUPGRADE_TRACEMALLOC=PATH`` (``--tracemalloc PATH``) makes the run process dump a
tracemalloc top-40 by line at exit (through ``bench/_tracemalloc_boot.py``);
``FLEETUPGRADE_CPROFILE=PATH`` (``--profile PATH``) runs it under cProfile instead
(``bench/_cprofile_boot.py``, top functions in PATH.txt).
The old one-process benchmark stays as ``bench/bench_fleet.py``.
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import math
import os
import signal
import ssl
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
PASSWORD_ENV = "BENCH_VC_PASSWORD"
PASSWORD = "sim-password"  # the simulator's default user
SINGLE_READ_ROUTES = (
    "GET /api/vcenter/namespace-management/software/supervisors/upgrades/{supervisor}",
    "GET /api/cis/tasks/{task}",
)


@dataclass(frozen=True, slots=True)
class Shape:
    """One benchmark's fleet, job length and plan limits."""

    vcenters: int
    per_vcenter: int
    job_seconds: float  # real seconds of one upgrade (precheck included)
    speed: float
    poll: float  # real seconds
    concurrent: int
    waves: int
    canary: bool  # first wave: one Supervisor per vCenter, then the rest in one wave
    expected: float | None = None  # the plan's expected_upgrade_duration, real seconds

    @property
    def supervisors(self) -> int:
        """Supervisors in the fleet."""
        return self.vcenters * self.per_vcenter


def wave_split(shape: Shape) -> list[list[tuple[str, int]]]:
    """The plan's waves as (vCenter, Supervisor number) lists."""
    names = [f"gen-vc-{i:04d}" for i in range(1, shape.vcenters + 1)]
    if shape.canary:
        first = [(n, 1) for n in names]
        rest = [(n, i) for n in names for i in range(2, shape.per_vcenter + 1)]
        return [first, rest]
    per = math.ceil(shape.vcenters / shape.waves)
    return [
        [(n, i) for n in names[start : start + per] for i in range(1, shape.per_vcenter + 1)]
        for start in range(0, shape.vcenters, per)
    ]


def lower_bound(shape: Shape, *, poll_per_wave: bool = True) -> float:
    """Sum over waves of the busiest vCenter's rounds × job duration + one poll interval.

    ``poll_per_wave=False`` leaves the poll intervals out: the jobs alone (the bound of
    the issue's table, 15 s for the small fleet, against the Deliver section's 17 s).
    """
    total = 0.0
    for wave in wave_split(shape):
        counts: dict[str, int] = {}
        for vc, _ in wave:
            counts[vc] = counts.get(vc, 0) + 1
        rounds = math.ceil(max(counts.values()) / shape.concurrent)
        total += rounds * shape.job_seconds + (shape.poll if poll_per_wave else 0.0)
    return total


def write_scenario(directory: Path, shape: Shape) -> Path:
    """A ``[generate]`` fleet where every upgrade succeeds and takes ``job_seconds``."""
    simulated = shape.job_seconds * shape.speed
    precheck = min(60.0, simulated / 10)
    path = directory / "scenario.toml"
    path.write_text(
        f"""[sim]
seed = 1
speed = {shape.speed}

[generate]
vcenters = {shape.vcenters}
supervisors_per_vcenter = {shape.per_vcenter}
precheck_duration = "{precheck:g}s"
upgrade_duration = "{simulated - precheck:g}s"
""",
        encoding="utf-8",
    )
    return path


def write_plan(directory: Path, shape: Shape, ready: dict[str, Any]) -> Path:
    """A plan over the simulator's URLs and CA (poll interval in simulated time)."""
    lines = [
        "version = 1",
        'name = "bench-scale"',
        "[defaults]",
        'desired_version = "9.1.0"',
        f"max_concurrent_per_vcenter = {shape.concurrent}",
        f'poll_interval = "{shape.poll * 1000:g}ms"',
        f'upgrade_timeout = "{max(4 * 3600, shape.job_seconds * 20):g}s"',
        f'stall_timeout = "{max(3600, shape.job_seconds * 10):g}s"',
    ]
    if shape.expected is not None:
        lines.append(f'expected_upgrade_duration = "{shape.expected * 1000:g}ms"')
    for name, url in sorted(ready["vcenters"].items()):
        lines += [
            "[[vcenters]]",
            f'name = "{name}"',
            f'url = "{url}"',
            'username = "administrator@vsphere.local"',
            f'password_env = "{PASSWORD_ENV}"',
            f'ca_file = "{ready["ca_file"]}"',
        ]
    for index, wave in enumerate(wave_split(shape), 1):
        lines += ["[[waves]]", f'name = "wave-{index}"', "supervisors = ["]
        lines += [f'  {{ vcenter = "{vc}", id = "supervisor-{i}" }},' for vc, i in wave]
        lines.append("]")
    path = directory / "plan.toml"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def start_sim(directory: Path, scenario: Path) -> tuple[subprocess.Popen[bytes], dict[str, Any]]:
    """``fleetupgrade sim`` in its own process; returns it with its ready-file document."""
    ready = directory / "ready.json"
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "fleetupgrade",
            "sim",
            str(scenario),
            "--ready-file",
            str(ready),
        ],
        stdout=subprocess.DEVNULL,
        stderr=open(directory / "sim.stderr", "wb"),  # noqa: SIM115
    )
    deadline = time.monotonic() + 120
    while not ready.exists():
        if proc.poll() is not None or time.monotonic() > deadline:
            raise SystemExit(f"simulator did not start: {(directory / 'sim.stderr').read_text()}")
        time.sleep(0.1)
    return proc, json.loads(ready.read_text(encoding="utf-8"))


def sim_stats(ready: dict[str, Any]) -> dict[str, Any]:
    """The simulator's ``/stats`` document."""
    context = ssl.create_default_context(cafile=ready["ca_file"])
    url = ready["admin_url"].rstrip("/") + "/stats"
    with urllib.request.urlopen(url, context=context, timeout=120) as answer:
        data: dict[str, Any] = json.load(answer)
    return data


@dataclass(frozen=True, slots=True)
class Engine:
    """What the run process cost: exit code, wall and CPU seconds, peak RSS, its span."""

    code: int
    wall: float
    rss_mib: float
    cpu: float
    began: float  # wall clock (time.time()) when the process was started
    ended: float  # and when it had exited


def compile_package() -> None:
    """Write the package's bytecode, as an installed wheel has it.

    An editable install compiles on import, and with ``PYTHONDONTWRITEBYTECODE`` set (as on
    this machine) it would compile every module again in every run process.
    """
    spec = importlib.util.find_spec("fleetupgrade")
    if spec is None or spec.submodule_search_locations is None:
        raise SystemExit("the fleetupgrade package is not importable here")
    for location in spec.submodule_search_locations:
        subprocess.run([sys.executable, "-m", "compileall", "-q", location], check=True)


def run_engine(directory: Path, plan: Path, tracemalloc: Path | None) -> Engine:
    """Run the plan in a child process and measure it."""
    env = dict(os.environ, **{PASSWORD_ENV: PASSWORD})
    command = [sys.executable]
    if tracemalloc is not None:
        env["FLEETUPGRADE_TRACEMALLOC"] = str(tracemalloc)
        command += [str(HERE / "_tracemalloc_boot.py")]
    elif env.get("FLEETUPGRADE_CPROFILE"):
        command += [str(HERE / "_cprofile_boot.py")]
    else:
        command += ["-m", "fleetupgrade"]
    command += [
        "run",
        str(plan),
        "--runs-dir",
        str(directory / "runs"),
        "--no-progress",
        "--log-level",
        "warning",
    ]
    began = time.time()
    started = time.perf_counter()
    proc = subprocess.Popen(
        command,
        env=env,
        stdout=open(directory / "run.stdout", "wb"),  # noqa: SIM115
        stderr=open(directory / "run.stderr", "wb"),  # noqa: SIM115
    )
    _, status, usage = os.wait4(proc.pid, 0)
    wall = time.perf_counter() - started
    return Engine(
        code=os.waitstatus_to_exitcode(status),
        wall=wall,
        rss_mib=usage.ru_maxrss / 1024,
        cpu=usage.ru_utime + usage.ru_stime,
        began=began,
        ended=began + wall,
    )


def _instant(text: str) -> float:
    return datetime.fromisoformat(text.replace("Z", "+00:00")).timestamp()


def event_latencies(run_dir: Path, engine: Engine) -> dict[str, float | None]:
    """Run start → first create and last Supervisor outcome → run finished (events.jsonl).

    Also where the process's wall time goes around the run: process start → run started
    (interpreter, imports, plan, run directory) and run finished → exit (the report files).
    """
    started = first_create = last_outcome = finished = None
    with (run_dir / "events.jsonl").open(encoding="utf-8") as events:
        for line in events:
            entry = json.loads(line)
            name = entry.get("event")
            stamp = entry.get("timestamp") or entry.get("time") or entry.get("ts")
            if stamp is None:
                continue
            at = _instant(stamp)
            if name == "run_started" and started is None:
                started = at
            elif name == "upgrade_job_created" and first_create is None:
                first_create = at
            elif name in ("supervisor_finished", "supervisor_done") or (
                entry.get("outcome") is not None and name not in ("run_finished", "run_stopped")
            ):
                last_outcome = at
            elif name in ("run_finished", "run_stopped"):
                finished = at
    return {
        "first_create_s": None
        if started is None or first_create is None
        else first_create - started,
        "end_s": None if finished is None or last_outcome is None else finished - last_outcome,
        "span_s": None if started is None or finished is None else finished - started,
        "startup_s": None if started is None else started - engine.began,
        "exit_s": None if finished is None else engine.ended - finished,
    }


def measure(shape: Shape, tracemalloc: Path | None, keep: Path | None) -> dict[str, Any]:
    """One benchmark run: a fresh simulator, one run, the figures."""
    with tempfile.TemporaryDirectory(prefix="bench-scale-") as tmp:
        directory = keep if keep is not None else Path(tmp)
        directory.mkdir(parents=True, exist_ok=True)
        sim, ready = start_sim(directory, write_scenario(directory, shape))
        try:
            plan = write_plan(directory, shape, ready)
            engine = run_engine(directory, plan, tracemalloc)
            stats = sim_stats(ready)
        finally:
            sim.send_signal(signal.SIGINT)
            try:
                sim.wait(30)
            except subprocess.TimeoutExpired:
                sim.kill()
        run_dir = next((directory / "runs").glob("*/report.json")).parent
        report = json.loads((run_dir / "report.json").read_text(encoding="utf-8"))
        requests = stats["requests"]
        total = sum(requests.values())
        singles = sum(requests.get(r, 0) for r in SINGLE_READ_ROUTES)
        creates = stats["creates"]
        bound = lower_bound(shape)
        jobs = lower_bound(shape, poll_per_wave=False)
        return {
            "supervisors": shape.supervisors,
            "exit_code": engine.code,
            "totals": report.get("totals"),
            "peak_rss_mib": round(engine.rss_mib, 1),
            "cpu_s": round(engine.cpu, 2),
            "wall_s": round(engine.wall, 2),
            "lower_bound_s": round(bound, 2),
            "wall_over_bound": round(engine.wall / bound, 3),
            "jobs_bound_s": round(jobs, 2),
            "wall_over_jobs": round(engine.wall / jobs, 3),
            "requests": total,
            "requests_per_supervisor": round(total / shape.supervisors, 3),
            "single_reads_per_supervisor": round(singles / shape.supervisors, 3),
            "routes": requests,
            "creates_more_than_one": sum(1 for c in creates.values() if c > 1),
            **{
                k: None if v is None else round(v, 2)
                for k, v in event_latencies(run_dir, engine).items()
            },
        }


TARGETS = {
    "peak_rss_mib": 200.0,
    "requests_per_supervisor": 2.0,
    "single_reads_per_supervisor": 0.3,
    "first_create_s": 3.0,
    "end_s": 2.0,
    "cpu_s": 30.0,
    "wall_over_bound": 1.10,
    "wall_over_jobs": 1.10,
}
LABELS = {
    "peak_rss_mib": "orchestrator peak RSS (MiB)",
    "requests_per_supervisor": "HTTP requests per Supervisor, all routes",
    "single_reads_per_supervisor": "per-Supervisor single reads",
    "first_create_s": "run start → first create (s)",
    "end_s": "last outcome → run finished (s)",
    "cpu_s": "CPU time of the orchestrator (s)",
    "wall_s": "makespan: the run process, start to exit (s)",
    "startup_s": "  of which: process start → run started (s)",
    "span_s": "  of which: run started → run finished (s)",
    "exit_s": "  of which: run finished → exit (s)",
    "lower_bound_s": "lower bound, jobs + one poll per wave (s)",
    "wall_over_bound": "makespan / lower bound",
    "jobs_bound_s": "lower bound, the jobs alone (s)",
    "wall_over_jobs": "makespan / jobs alone",
}


def table(results: list[dict[str, Any]], *, small: bool) -> str:
    """The issue's table: median (min–max) of every figure, and whether it meets its target.

    The makespan target (≤ 1.10 × the lower bound) is the small fleet's; at 500 × 20 the
    jobs are shorter than the poll interval, so the bound is informative only.
    """
    lines = ["| figure | median | min–max | target | met |", "| --- | --- | --- | --- | --- |"]
    for key, label in LABELS.items():
        values = [r[key] for r in results if r.get(key) is not None]
        if not values:
            lines.append(f"| {label} | n/a | | | |")
            continue
        median = statistics.median(values)
        target = TARGETS.get(key)
        if key in ("wall_over_bound", "wall_over_jobs") and not small:
            target = None
        met = "" if target is None else ("yes" if median <= target else "NO")
        spread = f"{min(values):g}–{max(values):g}"
        bound = "" if target is None else f"≤ {target:g}"
        lines.append(f"| {label} | {median:g} | {spread} | {bound} | {met} |")
    return "\n".join(lines)


def main() -> None:
    """Parse flags, run the benchmark ``--runs`` times, print the table."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--small", action="store_true", help="100 on 10 vCenters, 5 s jobs")
    parser.add_argument("--vcenters", type=int)
    parser.add_argument("--per-vcenter", type=int)
    parser.add_argument("--job-seconds", type=float, help="real seconds of one upgrade")
    parser.add_argument("--speed", type=float)
    parser.add_argument("--poll", type=float, default=1.0, help="poll interval, real seconds")
    parser.add_argument("--concurrent", type=int)
    parser.add_argument("--waves", type=int, default=4)
    parser.add_argument("--runs", type=int, default=1)
    parser.add_argument(
        "--expected",
        type=float,
        help="real seconds the plan declares as expected_upgrade_duration (default: none)",
    )
    parser.add_argument("--json", action="store_true", help="also print each run as JSON")
    parser.add_argument("--tracemalloc", type=Path, help="dump the run's top allocations here")
    parser.add_argument("--profile", type=Path, help="run under cProfile, stats written here")
    parser.add_argument("--keep", type=Path, help="keep inputs and the run directory here")
    args = parser.parse_args()
    if args.profile is not None:
        os.environ["FLEETUPGRADE_CPROFILE"] = str(args.profile.resolve())
    if args.small:
        shape = Shape(
            vcenters=args.vcenters or 10,
            per_vcenter=args.per_vcenter or 10,
            job_seconds=args.job_seconds or 5.0,
            speed=args.speed or 120.0,
            poll=args.poll,
            concurrent=args.concurrent or 5,
            waves=2,
            canary=True,
            expected=args.expected,
        )
    else:
        shape = Shape(
            vcenters=args.vcenters or 500,
            per_vcenter=args.per_vcenter or 20,
            job_seconds=args.job_seconds or 600 / 3600,
            speed=args.speed or 3600.0,
            poll=args.poll,
            concurrent=args.concurrent or 4,
            waves=args.waves,
            canary=False,
            expected=args.expected,
        )
    compile_package()
    results = []
    for index in range(args.runs):
        result = measure(shape, args.tracemalloc, args.keep)
        results.append(result)
        if args.json:
            print(json.dumps({"run": index + 1, **result}), flush=True)
    print(f"{shape.supervisors} Supervisors on {shape.vcenters} vCenters, {args.runs} run(s)")
    print(table(results, small=args.small))


if __name__ == "__main__":
    main()
