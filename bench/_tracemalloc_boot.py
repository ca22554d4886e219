"""Run the ``fleetupgrade`` CLI under tracemalloc; dump the top allocations at exit.

``FLEETUPGRADE_TRACEMALLOC=PATH`` names the dump: the peak traced size, then the top 40
allocation sites by line and the top 15 by traceback (10 frames) at exit. The bench uses
it as ``python bench/_tracemalloc_boot.py run PLAN …`` in place of ``python -m fleetupgrade``.
"""

from __future__ import annotations

import atexit
import os
import sys
import tracemalloc
from pathlib import Path


def _dump(path: Path) -> None:
    snapshot = tracemalloc.take_snapshot()
    current, peak = tracemalloc.get_traced_memory()
    lines = [f"traced now {current / 2**20:.1f} MiB, peak {peak / 2**20:.1f} MiB", ""]
    for stat in snapshot.statistics("lineno")[:40]:
        lines.append(str(stat))
    lines.append("")
    for stat in snapshot.statistics("traceback")[:15]:
        lines.append(f"{stat.size / 2**20:.1f} MiB in {stat.count} blocks")
        lines.extend("    " + line for line in stat.traceback.format())
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")


def main() -> None:
    """Start tracing, register the dump, hand over to the CLI."""
    target = Path(os.environ["FLEETUPGRADE_TRACEMALLOC"])
    tracemalloc.start(10)
    atexit.register(_dump, target)
    from fleetupgrade.cli.main import cli

    sys.argv[0] = "fleetupgrade"
    cli()


if __name__ == "__main__":
    main()
