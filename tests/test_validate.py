"""``fleetupgrade validate`` and ``fleetupgrade schema`` from the command line."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from fleetupgrade.cli.main import cli

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
        f'{path}: line 10: wave "w": max_precheck_error: unknown key '
        "'max_precheck_error'; did you mean 'max_precheck_errors'?" in output
    )
    assert (
        'line 11: wave "w": supervisors[0].vcenter: unknown vCenter '
        "'vc-west' (known: vc-east)" in output
    )
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
        "line": 11,
        "wave": "w",
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


GOOD = (
    """\
version = 1
name = "ok"
[defaults]
desired_version = "9.1.0"
max_concurrent_total = 5
[window]
start = 2020-01-01T22:00:00Z
end = 2020-01-02T04:00:00Z
[[vcenters]]
name = "vc-east"
url = "https://vc-east.example"
username = "svc"
password_env = "FLEETUPGRADE_TEST_VALIDATE_PW"
max_concurrent = 3
[[vcenters]]
name = "vc-spare"
url = "https://vc-spare.example"
username = "svc"
password_env = "FLEETUPGRADE_TEST_VALIDATE_PW"
[[waves]]
name = "prod-east"
max_precheck_error_percent = 10
supervisors = [
"""
    + "".join(f'  {{ vcenter = "vc-east", id = "domain-c{i}" }},\n' for i in range(18))
    + "]\n"
)


def test_percent_wave_arithmetic_and_validate_warnings(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """10 % of 18 halts at the 2nd ERROR; unused vCenters and past windows are warnings only."""
    monkeypatch.setenv("FLEETUPGRADE_TEST_VALIDATE_PW", "long-enough")
    path = tmp_path / "ok.toml"
    path.write_text(GOOD, encoding="utf-8")
    code, output = _invoke("validate", str(path))
    assert code == 0, output
    assert "wave prod-east: 18 Supervisor(s), 10% of 18 → halts at the 2nd ERROR" in output
    assert "vCenter vc-east https://vc-east.example (max 3 at once)" in output
    assert "fleet-wide cap 5" in output
    assert "warning: line 15: vcenters[1]: vCenter vc-spare is not used by any wave" in output
    assert "warning: line 8: window.end: the window ended at 2020-01-02T04:00:00+00:00" in output


def test_json_summary_carries_the_threshold_arithmetic(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """JSON gives the rule and the halting ERROR count, and warnings apart from errors."""
    monkeypatch.delenv("FLEETUPGRADE_TEST_VALIDATE_PW", raising=False)
    path = tmp_path / "ok.toml"
    path.write_text(GOOD, encoding="utf-8")
    code, output = _invoke("validate", "--format", "json", str(path))
    assert code == 0
    (plan,) = json.loads(output)["plans"]
    assert plan["valid"] is True
    assert plan["errors"] == []
    (wave,) = plan["summary"]["waves"]
    assert wave["supervisors"] == 18
    assert wave["halts_at_error"] == 2
    assert wave["threshold_rule"] == "max_precheck_error_percent: errors*100 > 10*size"
    locations = [w["location"] for w in plan["warnings"]]
    assert "vcenters[0].password_env" in locations
    assert plan["summary"]["vcenters"][0] == {
        "name": "vc-east",
        "url": "https://vc-east.example",
        "max_concurrent": 3,
        "max_requests_per_second": 20.0,
    }


def test_missing_file_in_json_is_an_invalid_plan(tmp_path: Path) -> None:
    """A missing plan is reported in the JSON document too, exit 2."""
    code, output = _invoke("validate", "--format", "json", str(tmp_path / "nope.toml"))
    assert code == 2
    (plan,) = json.loads(output)["plans"]
    assert plan["valid"] is False
    assert plan["summary"] is None
    assert "cannot read the plan" in plan["errors"][0]["message"]


def test_syntax_error_is_printed_with_line_and_column(tmp_path: Path) -> None:
    """A TOML syntax error reads `file: line L, column C: …`."""
    path = tmp_path / "broken.toml"
    path.write_text("version = 1\nname = q4\n", encoding="utf-8")
    code, output = _invoke("validate", str(path))
    assert code == 2
    assert f"{path}: line 2, column 8: TOML syntax error: Invalid value" in output


def test_schema_command_output_is_the_committed_file() -> None:
    """`fleetupgrade schema` prints exactly plans/plan.schema.json."""
    code, output = _invoke("schema")
    assert code == 0
    assert output == (ROOT / "plans" / "plan.schema.json").read_text(encoding="utf-8")
