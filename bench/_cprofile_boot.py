"""Run the ``fleetupgrade`` CLI under cProfile; write the stats at exit.

``FLEETUPGRADE_CPROFILE=PATH`` names the output: pstats data at PATH and the top 40
functions by cumulative and by own time at PATH.txt. The bench uses it as
``python bench/_cprofile_boot.py run PLAN …`` in place of ``python -m fleetupgrade``
(``bench_scale.py --profile PATH``), to see where the run process spends its CPU.
"""

from __future__ import annotations

import cProfile
import io
import os
import pstats
import sys
from pathlib import Path


def main() -> None:
    """Profile the CLI, then write the stats whatever its exit."""
    target = Path(os.environ["FLEETUPGRADE_CPROFILE"])
    from fleetupgrade.cli.main import cli

    sys.argv[0] = "fleetupgrade"
    profile = cProfile.Profile()
    try:
        profile.runcall(cli)
    finally:
        profile.dump_stats(target)
        text = io.StringIO()
        stats = pstats.Stats(profile, stream=text)
        stats.sort_stats("cumulative").print_stats(40)
        stats.sort_stats("tottime").print_stats(40)
        target.with_name(target.name + ".txt").write_text(text.getvalue(), encoding="utf-8")


if __name__ == "__main__":
    main()
