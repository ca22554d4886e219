"""Property, end to end: a plan either validates and then runs (never exit 70), or fails
``validate`` with exit 2 and every error located.

Hypothesis mutates a valid, simulatable plan with hostile values (the ones an adversarial
pass found: non-ASCII digits, URLs with spaces or port 0, usernames with ':' or CR/LF,
windows at the end of time, huge numbers) and runs ``validate --format json``; each plan
that validates is then run as ``run --dry-run --simulate`` (the simulator derived from the
plan), so what validate lets through is proven to run. Bounded: 40 examples, ~3 s.
"""

from __future__ import annotations

import json
import tomllib
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from fleetupgrade.cli.main import cli as fleet
from tests.ops_support import fresh_logging  # noqa: F401 - autouse fixture
from tests.toml_mutation import paths, toml_value

BASE = """\
version = 1
name = "fuzz-e2e"

[defaults]
desired_version = "9.1.0"
poll_interval = "20ms"
request_timeout = "5s"
max_concurrent_total = 2

[window]
start = 2026-12-05T22:00:00Z
end = 2026-12-06T04:00:00Z
grace = "30m"

[[vcenters]]
name = "vc-east"
url = "https://vc-east.example"
username = "administrator@vsphere.local"
password_env = "FU_FUZZ_PASSWORD"
max_concurrent = 2

[[waves]]
name = "canary"
max_precheck_errors = 0
supervisors = [{ vcenter = "vc-east", id = "supervisor-1" }]

[[waves]]
name = "rest"
pause_after = "1s"
supervisors = [{ vcenter = "vc-east", id = "supervisor-2" }, { vcenter = "vc-east", name = "sv-3" }]
"""

HOSTILE: list[Any] = [
    datetime(9999, 12, 31, 23, 59, 59, tzinfo=UTC),
    datetime(1, 1, 1, tzinfo=timezone(timedelta(hours=5))),
    "2d",
    "99999999999d",
    "٣٠s",
    "３０s",
    "0s",
    "-5m",
    "",
    "https://h example",
    "https://h.example:0",
    "https://admin:hunter2@h.example",
    "svc:admin",
    "svc\r\nX",
    "vc-east",
    "9.1.0",
    0,
    -1,
    2**63,
    1e400,
    True,
    [],
    {},
]


def _set(document: dict[str, Any], path: tuple[Any, ...], value: Any, delete: bool) -> None:
    parent: Any = document
    for part in path[:-1]:
        parent = parent[part]
    if delete:
        del parent[path[-1]]
    else:
        parent[path[-1]] = value


def _invoke(*args: str) -> Any:
    result = CliRunner().invoke(fleet, list(args), env={"FU_FUZZ_PASSWORD": "fuzz-password-123"})
    assert result.exception is None or isinstance(result.exception, SystemExit), result.output
    return result


@pytest.mark.slow
@settings(
    max_examples=40,
    deadline=None,
    derandomize=True,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(data=st.data())
def test_hardening_fuzz_validate_then_dry_run(tmp_path: Path, data: st.DataObject) -> None:
    """Every mutated plan validates and dry-runs without exit 70, or fails validate (2, located)."""
    document = tomllib.loads(BASE)
    for _ in range(data.draw(st.sampled_from([1, 1, 2]), label="mutations")):
        path = data.draw(st.sampled_from(paths(document)), label="path")
        delete = data.draw(st.booleans(), label="delete")
        _set(document, path, data.draw(st.sampled_from(HOSTILE), label="value"), delete)
    plan = tmp_path / f"plan-{data.draw(st.integers(0, 10**9), label='n')}.toml"
    plan.write_text(
        "\n".join(f"{json.dumps(k)} = {toml_value(v)}" for k, v in document.items()) + "\n",
        encoding="utf-8",
    )
    checked = _invoke("validate", "--format", "json", str(plan))
    assert checked.exit_code in (0, 2), checked.output
    if checked.exit_code == 2:
        [verdict] = json.loads(checked.stdout)["plans"]
        assert verdict["errors"], checked.output
        for error in verdict["errors"]:
            assert error["line"] is not None or error["location"], error
            assert error["message"]
        return
    ran = _invoke("run", str(plan), "--dry-run", "--simulate", "--runs-dir", str(tmp_path / "runs"))
    assert ran.exit_code != 70, ran.output
    assert ran.exit_code in (0, 1, 2, 3, 4), ran.output
