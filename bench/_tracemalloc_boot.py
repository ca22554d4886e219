"""Run the ``fleetupgrade`` CLI under tracemalloc; dump the top allocations at exit.

``FLEETUPGRADE_TRACEMALLOC=PATH`` names the dump: the peak traced size, then the top 40
allocation sites by file and by line and the top 15 by traceback (10 frames), from a
snapshot taken near the peak (a new one each time traced memory grows by 10 %). The bench uses
it as ``python bench/_tracemalloc_boot.py run PLAN …`` in place of ``python -m fleetupgrade``.
"""

from __future__ import annotations

import atexit
import os
import sys
import threading
import time
import tracemalloc
from pathlib import Path

_HIGH: list[tracemalloc.Snapshot] = []


def _watch_peak() -> None:
    """Keep a snapshot near the peak: a new one each time traced memory grows by 10 %."""
    kept = 0
    while True:
        time.sleep(0.5)
        current, _ = tracemalloc.get_traced_memory()
        if current > kept * 1.1:
            _HIGH[:] = [tracemalloc.take_snapshot()]
            kept = current


def _dump(path: Path) -> None:
    snapshot = _HIGH[0] if _HIGH else tracemalloc.take_snapshot()
    current, peak = tracemalloc.get_traced_memory()
    size = sum(stat.size for stat in snapshot.statistics("filename"))
    lines = [
        f"traced now {current / 2**20:.1f} MiB, peak {peak / 2**20:.1f} MiB;"
        f" the snapshot below holds {size / 2**20:.1f} MiB",
        "",
    ]
    for stat in snapshot.statistics("filename")[:25]:
        lines.append(str(stat))
    lines.append("")
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
    threading.Thread(target=_watch_peak, daemon=True).start()
    from fleetupgrade.cli.main import cli

    sys.argv[0] = "fleetupgrade"
    cli()


if __name__ == "__main__":
    main()
