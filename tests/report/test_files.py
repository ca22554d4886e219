"""Report files: atomic writes, clear errors for bad run dirs, byte-identical re-rendering."""

from __future__ import annotations

import io
import json
import os
from pathlib import Path

import pytest
from click.testing import CliRunner

from fleetupgrade.cli.main import cli
from fleetupgrade.report import ReportError, load_report, write_report_files, write_report_json
from fleetupgrade.report.command import report_command
from tests.report.sample import partial_dry_run_report, sample_report, stopped_simulated_report

FILES = ("report.json", "report.md", "report.html", "junit.xml")
FORMAT_FILES = {
    "json": "report.json",
    "md": "report.md",
    "html": "report.html",
    "junit": "junit.xml",
}


def test_write_report_files_writes_all_four(tmp_path: Path) -> None:
    """All four files appear, no temporary file is left behind, and JSON loads back."""
    report = sample_report()
    write_report_files(report, tmp_path)
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(FILES)
    assert load_report(tmp_path) == report


def test_rewrite_replaces_files_atomically(tmp_path: Path) -> None:
    """A later report replaces the earlier one file by file (new inode, never truncated)."""
    write_report_files(partial_dry_run_report(), tmp_path)
    before = {name: (tmp_path / name).stat().st_ino for name in FILES}
    write_report_files(sample_report(), tmp_path)
    after = {name: (tmp_path / name).stat().st_ino for name in FILES}
    assert all(before[name] != after[name] for name in FILES)
    assert load_report(tmp_path) == sample_report()


def test_failed_write_leaves_previous_report(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """If a write fails midway the old report stays readable and no temp file lingers."""
    write_report_files(partial_dry_run_report(), tmp_path)
    real_replace = os.replace

    def failing_replace(src: str, dst: str | Path) -> None:
        if str(dst).endswith("report.html"):
            raise OSError(28, "No space left on device")
        real_replace(src, dst)

    monkeypatch.setattr(os, "replace", failing_replace)
    with pytest.raises(ReportError, match="No space left"):
        write_report_files(sample_report(), tmp_path)
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(FILES)
    assert load_report(tmp_path) == partial_dry_run_report()


@pytest.mark.parametrize("fmt", sorted(FORMAT_FILES))
def test_rerender_is_byte_identical(tmp_path: Path, fmt: str) -> None:
    """`report -o` from a finished run reproduces the run's own file byte for byte."""
    run_dir = tmp_path / "run"
    run_dir.mkdir()
    write_report_files(sample_report(), run_dir)
    out = tmp_path / f"again.{fmt}"
    assert report_command(run_dir, fmt=fmt, output=out) == 0
    assert out.read_bytes() == (run_dir / FORMAT_FILES[fmt]).read_bytes()


def test_report_to_stdout(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """Without -o the rendering goes to stdout."""
    write_report_files(sample_report(), tmp_path)
    assert report_command(tmp_path, fmt="text", output=None) == 0
    assert capsys.readouterr().out.startswith("fleetupgrade report: q4-supervisor-upgrade\n")


def test_cli_report_command(tmp_path: Path) -> None:
    """The CLI wiring: `fleetupgrade report DIR --format md` prints Markdown, exit 0."""
    write_report_files(sample_report(), tmp_path)
    result = CliRunner().invoke(cli, ["report", str(tmp_path), "--format", "md"])
    assert result.exit_code == 0, result.output
    assert result.output.startswith("# Supervisor upgrade report")


def test_cli_bad_run_dir_exits_2(tmp_path: Path) -> None:
    """A directory without a report is a clear message and exit 2, not a traceback."""
    result = CliRunner().invoke(cli, ["report", str(tmp_path)])
    assert result.exit_code == 2
    assert "no report yet" in result.output
    assert "Traceback" not in result.output


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (None, "no such run directory"),
        (b"", "no report yet"),
        (b"{not json", "not valid JSON"),
        (b"[1, 2]", "expected a JSON object"),
        (b'{"schema_version": 99}', "schema_version 99 was written by a newer fleetupgrade"),
        (b'{"schema_version": 1, "run_id": "x"}', "not a valid report: plan: Field required"),
        (b"\xff\xfe", "not valid JSON"),
    ],
)
def test_load_report_errors_are_clear(tmp_path: Path, content: bytes | None, message: str) -> None:
    """Each way a run directory can be unusable gets its own message naming the path."""
    run_dir = tmp_path / "run"
    if content is not None:
        run_dir.mkdir()
        if content:
            (run_dir / "report.json").write_bytes(content)
    with pytest.raises(ReportError, match=message) as info:
        load_report(run_dir)
    assert str(run_dir) in str(info.value)


def test_invalid_report_lists_first_problems(tmp_path: Path) -> None:
    """Validation problems are summarised (location: message), not dumped."""
    data = json.loads((sample_report()).model_dump_json())
    data["waves"][1]["supervisors"][0]["outcome"] = "exploded"
    (tmp_path / "report.json").write_text(json.dumps(data), encoding="utf-8")
    with pytest.raises(ReportError, match=r"waves\.1\.supervisors\.0\.outcome: Input should be"):
        load_report(tmp_path)


def test_unknown_format_is_a_report_error(tmp_path: Path) -> None:
    """An unknown format names the valid ones."""
    write_report_files(sample_report(), tmp_path)
    with pytest.raises(ReportError, match="use one of text, md, json, html, junit"):
        report_command(tmp_path, fmt="pdf", output=None)


def test_unwritable_output_is_a_report_error(tmp_path: Path) -> None:
    """-o into a missing directory is a clear error."""
    write_report_files(sample_report(), tmp_path)
    with pytest.raises(ReportError, match="cannot write"):
        report_command(tmp_path, fmt="md", output=tmp_path / "missing" / "r.md")


def test_report_files_are_private(tmp_path: Path) -> None:
    """Every report file (and an -o copy) is written mode 0600."""
    write_report_files(sample_report(), tmp_path)
    out = tmp_path / "copy.md"
    report_command(tmp_path, fmt="md", output=out)
    for path in [*(tmp_path / name for name in FILES), out]:
        assert path.stat().st_mode & 0o777 == 0o600, path.name


def test_write_report_json_writes_only_the_json(tmp_path: Path) -> None:
    """The between-wave checkpoint writes report.json alone, atomically, 0600."""
    write_report_files(partial_dry_run_report(), tmp_path)
    before = {name: (tmp_path / name).read_bytes() for name in FILES if name != "report.json"}
    inode = (tmp_path / "report.json").stat().st_ino
    write_report_json(sample_report(), tmp_path)
    assert load_report(tmp_path) == sample_report()
    assert (tmp_path / "report.json").stat().st_ino != inode
    assert (tmp_path / "report.json").stat().st_mode & 0o777 == 0o600
    assert {name: (tmp_path / name).read_bytes() for name in before} == before
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(FILES)


def test_write_report_json_into_missing_dir_is_a_report_error(tmp_path: Path) -> None:
    """A run directory that vanished is a ReportError naming it, not an OSError."""
    with pytest.raises(ReportError, match="missing"):
        write_report_json(sample_report(), tmp_path / "missing")


@pytest.mark.parametrize("fmt", sorted(FORMAT_FILES))
def test_rerender_of_simulated_stopped_run_is_byte_identical(tmp_path: Path, fmt: str) -> None:
    """Re-rendering a schema-2 report with every new section reproduces the files."""
    run_dir = tmp_path / "run"
    run_dir.mkdir()
    write_report_files(stopped_simulated_report(), run_dir)
    out = tmp_path / f"again.{fmt}"
    assert report_command(run_dir, fmt=fmt, output=out) == 0
    assert out.read_bytes() == (run_dir / FORMAT_FILES[fmt]).read_bytes()


class _Terminal(io.StringIO):
    """A stdout that says it is a terminal."""

    def isatty(self) -> bool:
        return True


def test_text_to_a_terminal_is_coloured_and_to_a_pipe_plain(tmp_path: Path) -> None:
    """`report` colours text only when stdout is a terminal."""
    write_report_files(sample_report(), tmp_path)
    terminal, pipe = _Terminal(), io.StringIO()
    report_command(tmp_path, fmt="text", output=None, stdout=terminal)
    report_command(tmp_path, fmt="text", output=None, stdout=pipe)
    assert "\x1b[" in terminal.getvalue()
    assert "\x1b[" not in pipe.getvalue()
