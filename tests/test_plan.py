"""Plan loading: every rule of docs/plan.md with its located message, all at once."""

from __future__ import annotations

import contextlib
import json
from fractions import Fraction
from pathlib import Path

import pytest
import trustme
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from fleetupgrade import load_plan
from fleetupgrade.errors import CredentialsError, PlanError
from fleetupgrade.plan import Threshold, credential_issues, plan_json_schema, resolve_credentials

ROOT = Path(__file__).resolve().parents[1]
CA_PEM = trustme.CA().cert_pem.bytes()

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
    """Each issue as ``location: message`` (the machine path, without line and wave)."""
    with pytest.raises(PlanError) as info:
        load_plan(_write(tmp_path, text))
    return [
        f"{issue.location}: {issue.message}" if issue.location else issue.message
        for issue in info.value.issues
    ]


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
        (
            "version = 1",
            "version = 2",
            "version: unsupported plan version 2: this fleetupgrade reads version 1",
        ),
        ("version = 1", 'version = "1"', "version: expected the integer 1, got a string"),
        (
            '[[waves]]\nname = "canary"',
            '[[waves]]\nname = "canary"\nmax_precheck_errors = "3"',
            "waves[0].max_precheck_errors: expected an integer, got a string",
        ),
        (
            'desired_version = "9.1.0"',
            'desired_version = "9.1.0"\nignore_precheck_warnings = "yes"',
            "defaults.ignore_precheck_warnings: expected a boolean (true or false), got a string",
        ),
        (
            'desired_version = "9.1.0"',
            'desired_version = "9.1.0"\nmax_concurrent_total = -1',
            "defaults.max_concurrent_total: Input should be greater than or equal to 0",
        ),
        (
            'desired_version = "9.1.0"',
            'desired_version = "9.1.0"\nmax_concurrent_total = 2.0',
            "defaults.max_concurrent_total: expected an integer, got a float",
        ),
        (
            'url = "https://vc-east.example"',
            'url = "https://vc-east.example"\nmax_concurrent = 0',
            "vcenters[0].max_concurrent: Input should be greater than or equal to 1",
        ),
        (
            "max_precheck_error_percent = 10",
            "max_upgrade_failures = -1",
            "waves[1].max_upgrade_failures: Input should be greater than or equal to 0",
        ),
        (
            "max_precheck_error_percent = 10",
            'pause_after = "0s"',
            "waves[1].pause_after: Input should be greater than 0s",
        ),
        (
            "max_precheck_error_percent = 10",
            'max_precheck_error_percent = "10"',
            "waves[1].max_precheck_error_percent: expected a number, got a string",
        ),
        (
            'desired_version = "9.1.0"',
            'desired_version = "9.1.0"\npoll_interval = 30',
            "defaults.poll_interval: a duration is a string like '90s', '15m' or '4h', not an integer",
        ),
        (
            'desired_version = "9.1.0"',
            'desired_version = "9.1.0"\nmystery = 1',
            "defaults.mystery: unknown key 'mystery' (known keys: desired_version,",
        ),
        (
            'username = "svc@vsphere.local"\npassword_env = "VC_EAST',
            'password_env = "VC_EAST',
            "vcenters[0]: set exactly one of username or username_env",
        ),
        (
            'password_env = "VC_EAST_PASSWORD"',
            "",
            "vcenters[0]: set exactly one of password_env or password_file",
        ),
        (
            'url = "https://vc-east.example"',
            'url = "ftp://vc-east.example"',
            "vcenters[0].url: not an https URL: 'ftp://vc-east.example'",
        ),
        (
            'url = "https://vc-east.example"',
            'url = "https://vc-east.example:99999"',
            "vcenters[0].url: not a valid URL: Port out of range",
        ),
        (
            'url = "https://vc-east.example"',
            'url = "https://vc-east.example/?x=1"',
            "vcenters[0].url: no query or fragment",
        ),
        (
            '{ vcenter = "vc-north", id = "domain-c2" }',
            '{ vcenter = "vc-east", name = "sv-01" }',
            'waves[1].supervisors[1]: vc-east/sv-01 (name) appears twice in the plan: wave "canary" '
            'supervisors[0] and wave "rest" supervisors[1]',
        ),
        (
            '{ vcenter = "vc-east", name = "sv-01" }',
            '{ vcenter = "vc-east" }',
            "waves[0].supervisors[0]: set exactly one of id or name",
        ),
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
            'waves[1].supervisors[1]: vc-east/domain-c1 (id) appears twice in the plan: wave "rest" '
            'supervisors[0] and wave "rest" supervisors[1]',
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
    (tmp_path / "ca.pem").write_bytes(CA_PEM)
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
    warnings = credential_issues(plan, {"VC_EAST_PASSWORD": "long-enough"})
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


def test_toml_syntax_error_is_located_like_other_issues(tmp_path: Path) -> None:
    """The syntax error's line and column are its location."""
    (problem,) = _problems(tmp_path, GOOD.replace('name = "q4"', "name = q4"))
    assert problem == "line 2, column 8: TOML syntax error: Invalid value"


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (
            GOOD.split("[[waves]]", maxsplit=1)[0].replace("[defaults]", "waves = []\n[defaults]"),
            "waves: must not be empty (a fleet file has no waves key at all)",
        ),
        (
            'version = 1\nname = "x"\nvcenters = "vc-east"\n',
            "vcenters: expected an array, got a string",
        ),
        ('version = 1\nname = "x"\ndefaults = 5\n', "defaults: expected a table, got an integer"),
    ],
)
def test_structure_errors(tmp_path: Path, text: str, expected: str) -> None:
    """Empty waves and wrongly shaped sections are located errors."""
    assert expected in _problems(tmp_path, text)


def test_missing_desired_version_is_located_on_each_supervisor(tmp_path: Path) -> None:
    """Without a default, every Supervisor lacking its own version is named."""
    problems = _problems(tmp_path, GOOD.replace('desired_version = "9.1.0"', ""))
    located = [p for p in problems if "no desired_version" in p]
    assert [p.split(":")[0] for p in located] == [
        "waves[0].supervisors[0]",
        "waves[1].supervisors[0]",
        "waves[1].supervisors[1]",
    ]


@pytest.mark.parametrize(
    ("old", "new", "secret"),
    [
        (
            'url = "https://vc-east.example"',
            'url = "https://admin:hunter2@vc-east.example"',
            "hunter2",
        ),
        ('password_env = "VC_EAST_PASSWORD"', 'password_env = "hunter2!"', "hunter2"),
        ('password_env = "VC_EAST_PASSWORD"', 'password = "hunter2"', "hunter2"),
    ],
)
def test_secrets_are_refused_and_never_echoed(
    tmp_path: Path, old: str, new: str, secret: str
) -> None:
    """A secret in the plan is an error whose message does not repeat it."""
    problems = _problems(tmp_path, GOOD.replace(old, new, 1))
    assert any(p.startswith("vcenters[0]") for p in problems), problems
    assert not any(secret in p for p in problems), problems


@pytest.mark.parametrize(
    "url", ["http://127.0.0.1:8443", "http://127.3.2.1", "http://[::1]:80", "http://localhost:1"]
)
def test_plain_http_is_allowed_to_loopback(tmp_path: Path, url: str) -> None:
    """http:// is accepted only for loopback addresses (the simulator, tunnels)."""
    plan = load_plan(_write(tmp_path, GOOD.replace("https://vc-east.example", url)))
    assert plan.vcenters[0].url == url


def test_valid_thumbprint_and_window_load(tmp_path: Path) -> None:
    """A well-formed pin and an offset window (TOML or RFC 3339 text) load as given."""
    pin = "sha256:" + ":".join(["AB"] * 32)
    text = GOOD.replace(
        'url = "https://vc-east.example"',
        f'url = "https://vc-east.example"\ntls_thumbprint = "{pin}"',
    ).replace(
        "[[vcenters]]",
        '[window]\nstart = 2026-12-05T22:00:00+01:00\nend = "2026-12-06T04:00:00Z"\n'
        'grace = "0s"\n[[vcenters]]',
        1,
    )
    plan = load_plan(_write(tmp_path, text))
    assert plan.vcenters[0].tls_thumbprint == pin
    assert plan.window is not None
    assert plan.window.start.utcoffset() is not None
    assert plan.window.end > plan.window.start


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("2026-12-05", "window.start: expected a date-time with an offset"),
        ("1700000000", "window.start: expected a date-time with an offset"),
        ('"tomorrow"', "window.start: not an RFC 3339 date-time"),
    ],
)
def test_window_times_must_be_offset_datetimes(tmp_path: Path, value: str, expected: str) -> None:
    """Dates, numbers and prose are not window times."""
    text = GOOD.replace(
        "[[vcenters]]", f"[window]\nstart = {value}\nend = 2026-12-06T04:00:00Z\n[[vcenters]]", 1
    )
    assert any(expected in p for p in _problems(tmp_path, text))


def test_source_text_and_sha256_are_the_exact_bytes(tmp_path: Path) -> None:
    """CRLF line endings and a BOM survive: the run copies the plan byte for byte."""
    import hashlib

    data = ("\ufeff" + GOOD.replace("\n", "\r\n")).encode("utf-8")
    path = tmp_path / "plan.toml"
    path.write_bytes(data)
    plan = load_plan(path)
    assert plan.source_text.encode("utf-8") == data
    assert plan.sha256 == hashlib.sha256(data).hexdigest()
    assert plan.path == path.resolve()


def test_missing_file_is_a_plan_error(tmp_path: Path) -> None:
    """A plan that does not exist raises PlanError, nothing else."""
    with pytest.raises(PlanError, match="cannot read the plan"):
        load_plan(tmp_path / "nope.toml")


def test_plan_accessors(tmp_path: Path) -> None:
    """Overrides win over defaults; an unknown vCenter is a KeyError."""
    text = GOOD.replace(
        '{ vcenter = "vc-east", name = "sv-01" }',
        '{ vcenter = "vc-east", name = "sv-01", desired_version = "9.2.0", '
        "ignore_precheck_warnings = true }",
    ).replace(
        'url = "https://vc-north.example"', 'url = "https://vc-north.example"\nmax_concurrent = 4'
    )
    plan = load_plan(_write(tmp_path, text))
    first = plan.waves[0].supervisors[0]
    assert first.label == "vc-east/sv-01"
    assert plan.desired_version_for(first) == "9.2.0"
    assert plan.ignore_warnings_for(first) is True
    assert plan.ignore_warnings_for(plan.waves[1].supervisors[0]) is False
    assert plan.max_concurrent_for("vc-north") == 4
    with pytest.raises(KeyError, match="vc-west"):
        plan.vcenter("vc-west")


@pytest.mark.parametrize(
    ("threshold", "size", "rule", "described"),
    [
        (
            Threshold("count", 0),
            3,
            "max_precheck_errors: errors > 0",
            "max 0 ERROR(s) → halts at the 1st ERROR",
        ),
        (
            Threshold("count", 3),
            3,
            "max_precheck_errors: errors > 3",
            "max 3 ERROR(s) → never halts",
        ),
        (
            Threshold("percent", Fraction("12.5")),
            40,
            "max_precheck_error_percent: errors*100 > 12.5*size",
            "12.5% of 40 → halts at the 6th ERROR",
        ),
        (
            Threshold("percent", Fraction("0.1")),
            5,
            "max_precheck_error_percent: errors*100 > 0.1*size",
            "0.1% of 5 → halts at the 1st ERROR",
        ),
    ],
)
def test_threshold_rule_and_description(
    threshold: Threshold, size: int, rule: str, described: str
) -> None:
    """The decision log's rule and validate's sentence show the limit as written."""
    assert threshold.rule == rule
    assert threshold.describe(size) == described


@pytest.mark.parametrize("size", [1, 7, 18, 100])
@pytest.mark.parametrize("percent", ["0.5", "10", "12.5", "33.33", "50", "99.9", "100"])
def test_halting_count_agrees_with_halts(size: int, percent: str) -> None:
    """halting_error_count is exactly the first E for which halts() is true."""
    threshold = Threshold("percent", Fraction(percent))
    first = next((e for e in range(size + 1) if threshold.halts(e, size)), None)
    assert threshold.halting_error_count(size) == first


def test_percent_is_kept_exact_from_the_toml_text(tmp_path: Path) -> None:
    """24.9 % stays 249/10, never a binary float."""
    plan = load_plan(
        _write(
            tmp_path,
            GOOD.replace("max_precheck_error_percent = 10", "max_precheck_error_percent = 24.9"),
        )
    )
    assert plan.threshold_for(plan.waves[1]) == Threshold("percent", Fraction(249, 10))


def test_credentials_from_username_env_and_files(tmp_path: Path) -> None:
    """username_env, an empty variable, CRLF password files and unreadable files."""
    (tmp_path / "pw").write_bytes(b"s3cret\r\n")
    text = GOOD.replace(
        'username = "svc@vsphere.local"\npassword_env = "VC_EAST_PASSWORD"',
        'username_env = "VC_USER"\npassword_file = "pw"',
    )
    plan = load_plan(_write(tmp_path, text))
    east = plan.vcenters[0]
    assert resolve_credentials(east, {"VC_USER": "svc"}) == ("svc", "s3cret")
    with pytest.raises(CredentialsError, match="VC_USER \\(username_env\\) is empty"):
        resolve_credentials(east, {"VC_USER": ""})
    (tmp_path / "pw").write_bytes(b"\xff\xfe")
    with pytest.raises(CredentialsError, match="not UTF-8"):
        resolve_credentials(east, {"VC_USER": "svc"})
    (tmp_path / "pw").unlink()
    (tmp_path / "pw").mkdir()
    with pytest.raises(CredentialsError, match="cannot read password_file"):
        resolve_credentials(east, {"VC_USER": "svc"})


def test_credential_warnings_are_located_per_key(tmp_path: Path) -> None:
    """Each unreadable credential is its own warning, at its key."""
    text = GOOD.replace(
        'username = "svc@vsphere.local"\npassword_env = "VC_EAST_PASSWORD"',
        'username_env = "VC_USER"\npassword_env = "VC_EAST_PASSWORD"',
    )
    plan = load_plan(_write(tmp_path, text))
    locations = [w.location for w in credential_issues(plan, {})]
    assert locations == [
        "vcenters[0].username_env",
        "vcenters[0].password_env",
        "vcenters[1].password_env",
    ]


def test_schema_speaks_toml() -> None:
    """No nulls (TOML has none), durations as plan strings, exactly-one-of rules included."""
    schema = plan_json_schema()
    text = json.dumps(schema)
    assert '"null"' not in text
    assert "PT30S" not in text
    defaults = schema["$defs"]["Defaults"]["properties"]
    assert defaults["poll_interval"]["default"] == "30s"
    assert schema["$defs"]["SupervisorRef"]["oneOf"] == [
        {"required": ["id"]},
        {"required": ["name"]},
    ]
    assert schema["$defs"]["Window"]["properties"]["start"]["format"] == "date-time"
    assert "path" not in schema["properties"]
    assert "sha256" not in schema["properties"]


@pytest.mark.parametrize("name", ["demo.toml", "example.toml"])
def test_shipped_plans_name_the_schema(name: str) -> None:
    """Editors find the schema through the first line."""
    first = (ROOT / "plans" / name).read_text(encoding="utf-8").splitlines()[0]
    assert first == "#:schema ./plan.schema.json"


def test_demo_plan_matches_the_demo_scenario() -> None:
    """Every Supervisor of the demo plan exists in the demo scenario, on the same vCenter."""
    import tomllib

    scenario = tomllib.loads((ROOT / "plans/scenarios/demo.toml").read_text(encoding="utf-8"))
    served = {
        (vc["name"], key, sup[key])
        for vc in scenario["vcenters"]
        for sup in vc.get("supervisors", [])
        for key in ("id", "name")
    }
    plan = load_plan(ROOT / "plans" / "demo.toml")
    for _, _, ref in ((w, i, r) for w in plan.waves for i, r in enumerate(w.supervisors)):
        key = "id" if ref.id is not None else "name"
        assert (ref.vcenter, key, ref.id or ref.name) in served, ref.label


def test_unknown_vcenter_in_a_large_fleet_suggests_the_closest(tmp_path: Path) -> None:
    """With hundreds of vCenters the message names the closest, not all of them."""
    vcenters = "".join(
        f'[[vcenters]]\nname = "vc-{i:03d}"\nurl = "https://vc-{i:03d}.example"\n'
        'username = "svc"\npassword_env = "PW"\n'
        for i in range(50)
    )
    text = (
        'version = 1\nname = "big"\n[defaults]\ndesired_version = "9.1.0"\n'
        + vcenters
        + '[[waves]]\nname = "w"\nsupervisors = [{ vcenter = "vc-0x7", id = "a" }]\n'
    )
    (problem,) = _problems(tmp_path, text)
    assert problem.startswith(
        "waves[0].supervisors[0].vcenter: unknown vCenter 'vc-0x7' (did you mean"
    )
    assert "50 vCenters are declared" in problem


def test_invalid_entries_do_not_make_a_list_look_empty(tmp_path: Path) -> None:
    """A wave whose only Supervisor is invalid is not also reported as empty."""
    problems = _problems(
        tmp_path,
        GOOD.replace('{ vcenter = "vc-east", name = "sv-01" }', '{ vcenter = 1, name = "sv-01" }'),
    )
    assert problems == ["waves[0].supervisors[0].vcenter: expected a string, got an integer"]
