"""``fleetupgrade report RUN_DIR``: re-render a run's report from its ``report.json``.

The run itself writes every format at its end; this command exists for the formats
someone needs later (text on a terminal, a fresh ``-o`` copy for a ticket) and for runs
whose renderings were lost. It uses the very renderers the run used, so re-rendering a
finished run gives byte-identical files.
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from pathlib import Path
from typing import TextIO

from fleetupgrade.outcomes import ExitCode
from fleetupgrade.report.errors import ReportError
from fleetupgrade.report.files import atomic_write_text, load_report
from fleetupgrade.report.html import render_html
from fleetupgrade.report.junit import render_junit
from fleetupgrade.report.markdown import render_markdown
from fleetupgrade.report.model import Report, render_json
from fleetupgrade.report.text import render_text

FORMATS: dict[str, Callable[[Report], str]] = {
    "text": render_text,
    "md": render_markdown,
    "json": render_json,
    "html": render_html,
    "junit": render_junit,
}


def render(report: Report, fmt: str) -> str:
    """Render ``report`` in one of :data:`FORMATS`; ReportError names the valid ones."""
    try:
        renderer = FORMATS[fmt]
    except KeyError:
        raise ReportError(
            f"unknown report format {fmt!r}: use one of {', '.join(FORMATS)}"
        ) from None
    return renderer(report)


def _is_terminal(out: TextIO) -> bool:
    try:
        return out.isatty()
    except (AttributeError, ValueError):
        return False


def report_command(
    run_dir: Path, *, fmt: str, output: Path | None, stdout: TextIO | None = None
) -> int:
    """Print (or write to ``output``) the run's report in ``fmt``; returns the exit code.

    Text printed to a terminal is coloured; anything else (``-o``, pipes) is plain.
    Raises ReportError (the CLI turns it into a message and exit 2) when the run directory
    holds no readable report or ``output`` cannot be written.
    """
    report = load_report(run_dir)
    if output is None:
        out = stdout if stdout is not None else sys.stdout
        colour = fmt == "text" and _is_terminal(out)
        text = render_text(report, color=True) if colour else render(report, fmt)
        out.write(text)
        out.flush()
        return ExitCode.OK
    text = render(report, fmt)
    try:
        atomic_write_text(output, text)
    except OSError as exc:
        raise ReportError(f"cannot write {output}: {exc}") from exc
    return ExitCode.OK
