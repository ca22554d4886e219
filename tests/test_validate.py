"""``fleetupgrade validate`` and ``fleetupgrade schema`` from the command line."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from fleetupgrade.cli import cli

ROOT = Path(__file__).resolve().parents[1]
BAD = """\
version = 1
name = "bad"
[[vcenters]]
name = "vc-east"
url = "https://vc-east.example"
username = "svc"
password_env = "VC_EAST_PASSWORD"
[[waves]]
name = "w"
max_precheck_error = 1
supervisors = [{ vcenter = "vc-west", id = "domain-c1" }]
"""


def _invoke(*args: str) -> tuple[int, str]:
    result = CliRunner().invoke(cli, list(args))
    return result.exit_code, result.output


def test_valid_plan_prints_summary_and_threshold_arithmetic(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A valid plan exits 0 and prints each wave's threshold arithmetic."""
    monkeypatch.delenv("FLEETUPGRADE_DEMO_PASSWORD", raising=False)
    code, output = _invoke("validate", str(ROOT / "plans/demo.toml"))
    assert code == 0
    assert "valid" in output
    assert "wave east-west: 5 Supervisor(s), max 0 ERROR(s) → halts at the 1st ERROR" in output
    assert "warning:" in output  # the password variable is not set here: a warning only


def test_invalid_plan_lists_located_errors_and_exits_2(tmp_path: Path) -> None:
    """Every problem is printed with file and location; exit 2; no traceback."""
    path = tmp_path / "bad.toml"
    path.write_text(BAD, encoding="utf-8")
    code, output = _invoke("validate", str(path), str(ROOT / "plans/example.toml"))
    assert code == 2
    assert (
        f"{path}: waves[0].max_precheck_error: unknown key 'max_precheck_error'; did you mean 'max_precheck_errors'?"
        in output
    )
    assert "waves[0].supervisors[0].vcenter: unknown vCenter 'vc-west' (known: vc-east)" in output
    assert "example.toml: valid" in output
    assert "Traceback" not in output


@pytest.mark.parametrize("content", [b"\xff\xfe\x00", b"version = [", b"[[waves]]\nname = 1\n"])
def test_malformed_files_never_trace_back(tmp_path: Path, content: bytes) -> None:
    """Binary junk, broken TOML and wrong types: exit 2 with a message, never a traceback."""
    path = tmp_path / "junk.toml"
    path.write_bytes(content)
    code, output = _invoke("validate", str(path))
    assert code == 2
    assert "Traceback" not in output
    assert "junk.toml" in output


def test_missing_file_exits_2(tmp_path: Path) -> None:
    """A plan that does not exist is a located error, exit 2."""
    code, output = _invoke("validate", str(tmp_path / "nope.toml"))
    assert code == 2
    assert "cannot read the plan" in output


def test_json_format_for_machines(tmp_path: Path) -> None:
    """--format json gives every plan's errors, warnings and summary."""
    path = tmp_path / "bad.toml"
    path.write_text(BAD, encoding="utf-8")
    code, output = _invoke("validate", "--format", "json", str(path), str(ROOT / "plans/demo.toml"))
    assert code == 2
    document = json.loads(output)
    bad, demo = document["plans"]
    assert not bad["valid"]
    assert {
        "location": "waves[0].supervisors[0].vcenter",
        "message": "unknown vCenter 'vc-west' (known: vc-east)",
    } in bad["errors"]
    assert demo["valid"]
    assert demo["summary"]["waves"][0]["threshold"].endswith("halts at the 1st ERROR")


def test_schema_command_prints_the_json_schema() -> None:
    """`fleetupgrade schema` prints a JSON Schema that forbids unknown keys."""
    code, output = _invoke("schema")
    assert code == 0
    schema = json.loads(output)
    assert schema["additionalProperties"] is False
    assert "waves" in schema["properties"]
