"""Benchmark: a whole simulated fleet through ``fleetupgrade run --simulate``.

Measures wall time and peak memory of one process that serves the simulator AND runs
the engine against it, for a generated fleet (default 500 vCenters × 20 Supervisors, the
size the simulator must serve). Prints one JSON line; bench/README.md keeps the figures.

    python bench/bench_fleet.py --vcenters 500 --per-vcenter 20 --speed 100 --poll-interval 5m
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path


def write_inputs(
    directory: Path, vcenters: int, per_vcenter: int, speed: float, concurrent: int, poll: str
) -> Path:
    """A generated scenario and a plan with one wave per 100 vCenters."""
    scenario = directory / "scenario.toml"
    scenario.write_text(
        f"""[sim]
seed = 1
speed = {speed}

[generate]
vcenters = {vcenters}
supervisors_per_vcenter = {per_vcenter}
precheck_duration = "1m"
upgrade_duration = "20m"
precheck_error_rate = 0.0
precheck_warning_rate = 0.0
failure_rate = 0.0
""",
        encoding="utf-8",
    )
    width = max(4, len(str(vcenters)))
    names = [f"gen-vc-{i:0{width}d}" for i in range(1, vcenters + 1)]
    lines = [
        "version = 1",
        'name = "bench"',
        "[defaults]",
        'desired_version = "9.1.0"',
        f"max_concurrent_per_vcenter = {concurrent}",
        f'poll_interval = "{poll}"',
    ]
    for name in names:
        lines += [
            "[[vcenters]]",
            f'name = "{name}"',
            'url = "https://127.0.0.1"',
            'username = "administrator@vsphere.local"',
            'password_env = "UNUSED"',
        ]
    for start in range(0, vcenters, 100):
        lines += [
            "[[waves]]",
            f'name = "wave-{start // 100 + 1}"',
            "max_precheck_errors = 1000000",
            "supervisors = [",
        ]
        for name in names[start : start + 100]:
            lines += [
                f'  {{ vcenter = "{name}", id = "supervisor-{i}" }},'
                for i in range(1, per_vcenter + 1)
            ]
        lines.append("]")
    plan = directory / "plan.toml"
    plan.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return scenario


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--vcenters", type=int, default=500)
    parser.add_argument("--per-vcenter", type=int, default=20)
    parser.add_argument("--speed", type=float, default=100.0)
    parser.add_argument("--poll-interval", default="5m", help="plan poll_interval (simulated)")
    parser.add_argument("--concurrent", type=int, default=5)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        directory = Path(tmp)
        scenario = write_inputs(
            directory,
            args.vcenters,
            args.per_vcenter,
            args.speed,
            args.concurrent,
            args.poll_interval,
        )
        started = time.perf_counter()
        completed = subprocess.run(
            [
                sys.executable,
                "-m",
                "fleetupgrade",
                "run",
                str(directory / "plan.toml"),
                "--simulate",
                str(scenario),
                "--runs-dir",
                str(directory / "runs"),
                "--no-progress",
                "--log-format",
                "json",
                "--log-level",
                "warning",
            ],
            capture_output=True,
            text=True,
            check=False,
        )
        elapsed = time.perf_counter() - started
        peak_kib = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
        report = json.loads(next((directory / "runs").glob("*/report.json")).read_text())
        print(
            json.dumps(
                {
                    "vcenters": args.vcenters,
                    "supervisors": args.vcenters * args.per_vcenter,
                    "speed": args.speed,
                    "exit_code": completed.returncode,
                    "seconds": round(elapsed, 1),
                    "peak_rss_mib": round(peak_kib / 1024),
                    "totals": report["totals"],
                    "requests": sum(v["requests"] for v in report["vcenters"]),
                }
            )
        )


if __name__ == "__main__":
    main()
