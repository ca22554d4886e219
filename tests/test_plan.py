"""Plan loading: every rule of DESIGN §2 with its located message, all at once."""

from __future__ import annotations

import contextlib
import json
from fractions import Fraction
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from fleetupgrade import load_plan
from fleetupgrade.errors import CredentialsError, PlanError
from fleetupgrade.plan import Threshold, credential_issues, plan_json_schema, resolve_credentials

ROOT = Path(__file__).resolve().parents[1]

GOOD = """\
version = 1
name = "q4"
[defaults]
desired_version = "9.1.0"
[[vcenters]]
name = "vc-east"
url = "https://vc-east.example"
username = "svc@vsphere.local"
password_env = "VC_EAST_PASSWORD"
[[vcenters]]
name = "vc-north"
url = "https://vc-north.example"
username = "svc@vsphere.local"
password_env = "VC_NORTH_PASSWORD"
[[waves]]
name = "canary"
supervisors = [{ vcenter = "vc-east", name = "sv-01" }]
[[waves]]
name = "rest"
max_precheck_error_percent = 10
supervisors = [{ vcenter = "vc-east", id = "domain-c1" }, { vcenter = "vc-north", id = "domain-c2" }]
"""


def _write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "plan.toml"
    path.write_text(text, encoding="utf-8")
    return path


def _problems(tmp_path: Path, text: str) -> list[str]:
    with pytest.raises(PlanError) as info:
        load_plan(_write(tmp_path, text))
    return [str(issue) for issue in info.value.issues]


def test_good_plan_loads(tmp_path: Path) -> None:
    """A valid plan loads with its hash, text and resolved settings."""
    plan = load_plan(_write(tmp_path, GOOD))
    assert plan.name == "q4"
    assert len(plan.sha256) == 64
    assert plan.source_text == GOOD
    assert plan.max_concurrent_for("vc-east") == 1
    assert plan.desired_version_for(plan.waves[0].supervisors[0]) == "9.1.0"
    assert plan.threshold_for(plan.waves[1]) == Threshold("percent", Fraction(10))
    assert plan.threshold_for(plan.waves[0]) == Threshold("count", 0)


@pytest.mark.parametrize(
    ("old", "new", "expected"),
    [
        ('name = "q4"', 'name = "Q4 plan"', "name: use lower-case letters"),
        ("version = 1", "version = 2", "version: Input should be 1"),
        (
            'desired_version = "9.1.0"',
            'desired_version = "9.1.0"\nmax_precheck_error = 1',
            "defaults.max_precheck_error: unknown key 'max_precheck_error'; did you mean 'max_precheck_errors'?",
        ),
        (
            'password_env = "VC_EAST_PASSWORD"',
            'password = "hunter2"',
            "vcenters[0].password: a literal password is not allowed",
        ),
        (
            'password_env = "VC_EAST_PASSWORD"',
            'password_env = "A"\npassword_file = "pw"',
            "vcenters[0]: set exactly one of password_env or password_file",
        ),
        (
            'username = "svc@vsphere.local"\npassword_env = "VC_EAST',
            'username_env = "U"\nusername = "u"\npassword_env = "VC_EAST',
            "vcenters[0]: set exactly one of username or username_env",
        ),
        (
            'url = "https://vc-east.example"',
            'url = "http://vc-east.example"',
            "vcenters[0].url: plain http is allowed only to a loopback address",
        ),
        (
            'name = "vc-north"',
            'name = "vc-east"',
            "vcenters[1].name: duplicate vCenter name 'vc-east'",
        ),
        (
            '{ vcenter = "vc-north", id = "domain-c2" }',
            '{ vcenter = "vc-west", id = "domain-c2" }',
            "waves[1].supervisors[1].vcenter: unknown vCenter 'vc-west' (known: vc-east, vc-north)",
        ),
        (
            '{ vcenter = "vc-north", id = "domain-c2" }',
            '{ vcenter = "vc-east", id = "domain-c1" }',
            "waves[1].supervisors[1]: vc-east/domain-c1 appears twice in the plan (first at waves[1].supervisors[0])",
        ),
        (
            '{ vcenter = "vc-east", name = "sv-01" }',
            '{ vcenter = "vc-east", name = "sv-01", id = "x" }',
            "waves[0].supervisors[0]: set exactly one of id or name",
        ),
        ('desired_version = "9.1.0"', "", "waves[0].supervisors[0]: no desired_version"),
        ('name = "rest"', 'name = "canary"', "waves[1].name: duplicate wave name 'canary'"),
        (
            "max_precheck_error_percent = 10",
            "max_precheck_error_percent = 10\nmax_precheck_errors = 1",
            "waves[1]: set at most one of max_precheck_errors or max_precheck_error_percent",
        ),
        (
            "max_precheck_error_percent = 10",
            "max_precheck_error_percent = 0",
            "waves[1].max_precheck_error_percent: Input should be greater than 0",
        ),
        (
            "max_precheck_error_percent = 10",
            "max_precheck_error_percent = 101",
            "waves[1].max_precheck_error_percent: Input should be less than or equal to 100",
        ),
        (
            "max_precheck_error_percent = 10",
            "max_precheck_errors = -1",
            "waves[1].max_precheck_errors: Input should be greater than or equal to 0",
        ),
        (
            'desired_version = "9.1.0"',
            'desired_version = "9.1.0"\nmax_concurrent_per_vcenter = 0',
            "defaults.max_concurrent_per_vcenter: Input should be greater than or equal to 1",
        ),
        (
            'desired_version = "9.1.0"',
            'desired_version = "9.1.0"\npoll_interval = "15x"',
            "defaults.poll_interval: invalid duration '15x'",
        ),
        (
            'desired_version = "9.1.0"',
            'desired_version = "9.1.0"\nupgrade_timeout = "0s"',
            "defaults.upgrade_timeout: Input should be greater than 0s",
        ),
        (
            'supervisors = [{ vcenter = "vc-east", name = "sv-01" }]',
            "supervisors = []",
            "waves[0].supervisors: must not be empty",
        ),
        (
            'url = "https://vc-east.example"',
            'url = "https://vc-east.example"\ntls_thumbprint = "AB:CD"',
            "vcenters[0].tls_thumbprint: expected 'sha256:'",
        ),
        (
            'url = "https://vc-east.example"',
            'url = "https://vc-east.example"\nca_file = "missing.pem"',
            "vcenters[0].ca_file: file not found",
        ),
    ],
)
def test_each_rule_has_a_located_message(tmp_path: Path, old: str, new: str, expected: str) -> None:
    """Each rule breaks with its own message at the exact location."""
    assert old in GOOD
    problems = _problems(tmp_path, GOOD.replace(old, new, 1))
    assert any(expected in p for p in problems), problems


@pytest.mark.parametrize(
    ("window", "expected"),
    [
        (
            "start = 2026-12-05T22:00:00\nend = 2026-12-06T04:00:00Z",
            "window.start: a window time needs an offset",
        ),
        (
            "start = 2026-12-06T22:00:00Z\nend = 2026-12-06T04:00:00Z",
            "window: start must be before end",
        ),
        (
            'start = 2026-12-05T22:00:00Z\nend = 2026-12-06T04:00:00Z\ngrace = "-5m"',
            "window.grace: invalid duration",
        ),
    ],
)
def test_window_rules(tmp_path: Path, window: str, expected: str) -> None:
    """Window times carry an offset, start precedes end, grace is a duration."""
    problems = _problems(
        tmp_path, GOOD.replace("[[vcenters]]", f"[window]\n{window}\n[[vcenters]]", 1)
    )
    assert any(expected in p for p in problems), problems


def test_every_problem_is_reported_at_once(tmp_path: Path) -> None:
    """Several mistakes in different sections come back together."""
    text = GOOD.replace("version = 1", "version = 3").replace('name = "rest"', 'name = "canary"')
    text = text.replace(
        '{ vcenter = "vc-north", id = "domain-c2" }', '{ vcenter = "vc-x", id = "domain-c2" }'
    )
    problems = _problems(tmp_path, text)
    assert len(problems) >= 3


def test_toml_syntax_error_has_line_and_column(tmp_path: Path) -> None:
    """A TOML syntax error names the line and column."""
    problems = _problems(tmp_path, GOOD.replace('name = "q4"', "name = q4"))
    assert len(problems) == 1
    assert "line 2" in problems[0]
    assert "column" in problems[0]


def test_paths_are_relative_to_the_plan(tmp_path: Path) -> None:
    """ca_file and password_file resolve next to the plan file, not the working directory."""
    (tmp_path / "ca.pem").write_text("x", encoding="utf-8")
    (tmp_path / "pw").write_text("s3cret\n", encoding="utf-8")
    text = GOOD.replace(
        'password_env = "VC_EAST_PASSWORD"', 'password_file = "pw"\nca_file = "ca.pem"'
    )
    plan = load_plan(_write(tmp_path, text))
    assert plan.vcenters[0].ca_file == (tmp_path / "ca.pem").resolve()
    assert resolve_credentials(plan.vcenters[0], {}) == ("svc@vsphere.local", "s3cret")


def test_credentials_come_from_the_environment(tmp_path: Path) -> None:
    """Missing variables are warnings for validate and CredentialsError for run."""
    plan = load_plan(_write(tmp_path, GOOD))
    warnings = credential_issues(plan, {"VC_EAST_PASSWORD": "x"})
    assert [w.severity for w in warnings] == ["warning"]
    assert "VC_NORTH_PASSWORD" in warnings[0].message
    with pytest.raises(CredentialsError, match="VC_NORTH_PASSWORD"):
        resolve_credentials(plan.vcenters[1], {})


@pytest.mark.parametrize(
    ("kind", "limit", "size", "halting"),
    [
        ("count", 0, 5, 1),
        ("count", 1, 5, 2),
        ("count", 5, 5, None),
        ("percent", Fraction(10), 18, 2),
        ("percent", Fraction(25), 4, 2),
        ("percent", Fraction(100), 3, None),
        ("percent", Fraction("24.9"), 4, 1),
    ],
)
def test_threshold_arithmetic_is_exact(
    kind: str, limit: int | Fraction, size: int, halting: int | None
) -> None:
    """The halting ERROR count follows E > n and E*100 > p*N with no rounding."""
    threshold = Threshold(kind, limit)  # type: ignore[arg-type]
    assert threshold.halting_error_count(size) == halting
    assert ("never halts" in threshold.describe(size)) == (halting is None)


def test_describe_reads_like_the_design() -> None:
    """10 % of an 18-Supervisor wave halts at the 2nd ERROR."""
    assert Threshold("percent", Fraction(10)).describe(18) == "10% of 18 → halts at the 2nd ERROR"


def test_committed_schema_matches(tmp_path: Path) -> None:
    """plans/plan.schema.json is the output of `fleetupgrade schema` (editors use it)."""
    committed = json.loads((ROOT / "plans" / "plan.schema.json").read_text(encoding="utf-8"))
    assert committed == plan_json_schema()


@pytest.mark.parametrize("name", ["demo.toml", "example.toml"])
def test_shipped_plans_are_valid(name: str) -> None:
    """The demo and the annotated example validate."""
    assert load_plan(ROOT / "plans" / name).version == 1


_values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(-5, 200)
    | st.floats(allow_nan=False)
    | st.text(max_size=12),
    lambda inner: (
        st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=8), inner, max_size=3)
    ),
    max_leaves=8,
)


def _toml(value: object) -> str:
    if value is None:
        return '""'
    return json.dumps(value) if not isinstance(value, dict | list) else json.dumps(str(value))


@settings(
    max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    lines=st.lists(st.integers(0, GOOD.count("\n")), max_size=3),
    key=st.sampled_from(
        ["name", "version", "url", "vcenter", "id", "supervisors", "max_precheck_errors", "grace"]
    ),
    value=_values,
    noise=st.binary(max_size=20),
)
def test_mutated_plans_only_raise_plan_error(
    tmp_path: Path, lines: list[int], key: str, value: object, noise: bytes
) -> None:
    """Deleting lines, changing values and adding noise only ever raises PlanError."""
    kept = [line for i, line in enumerate(GOOD.splitlines()) if i not in lines]
    text = "\n".join(kept)
    text = text.replace(f"{key} =", f"{key} = {_toml(value)}\n# was", 1)
    path = tmp_path / "fuzz.toml"
    path.write_bytes(text.encode("utf-8") + (noise if lines and lines[0] % 2 else b""))
    with contextlib.suppress(PlanError):
        load_plan(path)
