"""Where a crash report goes: into the run's own directory, never the working directory.

An internal error (exit 70) leaves a traceback for whoever fixes the bug. It belongs with
the run it broke, next to ``events.jsonl``; before a run directory exists, in the runs
directory. The current directory may be read-only, shared or someone's home; it is never
written. A traceback can quote secrets (a repr, a URL), so the text is redacted and the
file is created 0600 like every file of a run directory (docs/design.md, "Run directory").
"""

from __future__ import annotations

import os
from datetime import UTC, datetime
from pathlib import Path

from fleetupgrade.logs.redaction import redact_text

__all__ = ["crash_log_path", "write_crash_report"]


def crash_log_path(run_dir: Path | None, runs_dir: Path) -> Path:
    """A new crash report's path: in ``run_dir`` if there is one yet, else in ``runs_dir``.

    The name carries the UTC instant and process id, so a resumed run that crashes again
    keeps the first report.
    """
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%S.%fZ")
    name = f"crash-{stamp}-{os.getpid()}.log"
    return (run_dir if run_dir is not None else runs_dir) / name


def write_crash_report(path: Path, text: str) -> None:
    """Write ``text`` (redacted) to ``path``, created 0600 in a 0700 directory if need be.

    Raises :class:`OSError` when it cannot; the caller then says that no crash report
    could be written rather than fail a second time.
    """
    path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as handle:
        handle.write(redact_text(text))
