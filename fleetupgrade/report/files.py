"""Report files in a run directory: written atomically, read back with clear errors.

The engine rewrites the report after every wave and at the end, and a run can be killed at
any instant, so each file is written to a temporary file in the same directory, flushed
to disk and moved over the old one with ``os.replace``: a reader (or a resumed run) sees
either the previous complete report or the new one, never half a file. Every file is
created mode 0600 (``mkstemp``): reports name hosts and Supervisors of the fleet.
"""

from __future__ import annotations

import contextlib
import json
import os
import tempfile
from collections.abc import Callable
from pathlib import Path

from pydantic import ValidationError

from fleetupgrade.report.errors import ReportError
from fleetupgrade.report.html import render_html
from fleetupgrade.report.junit import render_junit
from fleetupgrade.report.markdown import render_markdown
from fleetupgrade.report.model import SCHEMA_VERSION, Report, render_json

REPORT_JSON = "report.json"
RENDERERS: dict[str, Callable[[Report], str]] = {
    "report.md": render_markdown,
    "report.html": render_html,
    "junit.xml": render_junit,
    REPORT_JSON: render_json,
}
"""File name → renderer; report.json last, so it is never newer than its renderings."""


def _write_temp(path: Path, text: str) -> str:
    """``text`` in a durable temporary file beside ``path`` (mode 0600); its name."""
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "w", encoding="utf-8", newline="") as handle:
            handle.write(text)
            handle.flush()
            os.fsync(handle.fileno())
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise
    return tmp


def atomic_write_text(path: Path, text: str) -> None:
    """Replace ``path`` with ``text`` (UTF-8, newlines untouched, mode 0600) atomically."""
    tmp = _write_temp(path, text)
    try:
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise


def _fsync_dir(directory: Path) -> None:
    """Make the renames durable too (best effort: not every platform can open a dir)."""
    try:
        fd = os.open(directory, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def write_report_files(report: Report, run_dir: Path) -> None:
    """Write report.json, report.md, report.html and junit.xml into ``run_dir``.

    Every file is rendered and written aside before any replaces its old self, so a
    renderer bug cannot leave a mix of old and new files behind; one rendering at a time
    is held in memory (a 10,000-Supervisor report is megabytes in each format).
    """
    written: list[tuple[str, Path]] = []
    try:
        for name, render in RENDERERS.items():
            written.append((_write_temp(run_dir / name, render(report)), run_dir / name))
        while written:
            tmp, path = written[0]
            os.replace(tmp, path)
            written.pop(0)
    except OSError as exc:
        raise ReportError(f"cannot write the report into {run_dir}: {exc}") from exc
    finally:
        for tmp, _ in written:
            with contextlib.suppress(OSError):
                os.unlink(tmp)
    _fsync_dir(run_dir)


def write_report_json(report: Report, run_dir: Path) -> None:
    """Write only ``report.json`` (atomically): the cheap between-wave checkpoint.

    The renderings can be produced from it at any time (``fleetupgrade report``), so a
    run may call this after every wave and :func:`write_report_files` at the end.
    """
    text = render_json(report)
    try:
        atomic_write_text(run_dir / REPORT_JSON, text)
    except OSError as exc:
        raise ReportError(f"cannot write the report into {run_dir}: {exc}") from exc
    _fsync_dir(run_dir)


def load_report(run_dir: Path) -> Report:
    """Read a run's ``report.json``; ReportError says what is wrong and where."""
    if not run_dir.is_dir():
        raise ReportError(f"{run_dir}: no such run directory")
    path = run_dir / REPORT_JSON
    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        raise ReportError(
            f"{path}: no report yet (the run has not finished its first wave, "
            "or this is not a run directory)"
        ) from None
    except OSError as exc:
        raise ReportError(f"{path}: cannot read: {exc}") from exc
    try:
        data = json.loads(raw)
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ReportError(f"{path}: not valid JSON ({exc})") from exc
    if not isinstance(data, dict):
        raise ReportError(f"{path}: not a report (expected a JSON object)")
    version = data.get("schema_version")
    if isinstance(version, int) and version > SCHEMA_VERSION:
        raise ReportError(
            f"{path}: schema_version {version} was written by a newer fleetupgrade "
            f"(this one reads up to {SCHEMA_VERSION})"
        )
    try:
        return Report.model_validate(data)
    except ValidationError as exc:
        problems = "; ".join(
            f"{'.'.join(str(p) for p in err['loc']) or '<root>'}: {err['msg']}"
            for err in exc.errors()[:5]
        )
        more = f" (and {exc.error_count() - 5} more)" if exc.error_count() > 5 else ""
        raise ReportError(f"{path}: not a valid report: {problems}{more}") from exc
