"""Property: whatever bytes a plan file holds, ``load_plan`` raises PlanError and nothing else,
and ``validate`` exits 0 or 2 with every error located (never 70, never a traceback).

Structured mutations of a valid plan (keys deleted or renamed, values swapped for random
TOML values of any type, tables emptied) reach the model and rule code paths; raw bytes and
text edits reach the decoder and the TOML parser.
"""

from __future__ import annotations

import io
import json
import tomllib
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path

import trustme
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from fleetupgrade.errors import Issue, PlanError
from fleetupgrade.plan import Plan, load_plan
from fleetupgrade.plan.validate import validate_command
from tests.toml_mutation import mutate, toml_document
from tests.toml_mutation import paths as key_paths

CA_PEM = trustme.CA().cert_pem.bytes()
BASE = """\
version = 1
name = "fuzz"
[defaults]
desired_version = "9.1.0"
max_concurrent_total = 2
poll_interval = "5s"
[window]
start = 2026-12-05T22:00:00Z
end = 2026-12-06T04:00:00Z
grace = "30m"
[[vcenters]]
name = "vc-east"
url = "https://vc-east.example"
username = "svc"
password_env = "VC_PASSWORD"
max_concurrent = 2
[[vcenters]]
name = "vc-west"
url = "http://127.0.0.1:8443"
username_env = "VC_USER"
password_file = "pw"
ca_file = "ca.pem"
tls_thumbprint = "sha256:AB:AB:AB:AB:AB:AB:AB:AB:AB:AB:AB:AB:AB:AB:AB:AB:AB:AB:AB:AB:AB:AB:AB:AB:AB:AB:AB:AB:AB:AB:AB:AB"
[[waves]]
name = "canary"
max_precheck_errors = 0
max_upgrade_failures = 0
pause_after = "15m"
supervisors = [{ vcenter = "vc-east", name = "sv-1" }]
[[waves]]
name = "rest"
max_precheck_error_percent = 12.5
supervisors = [
  { vcenter = "vc-east", id = "domain-c1", desired_version = "9.2.0" },
  { vcenter = "vc-west", name = "sv-2", ignore_precheck_warnings = true },
]
"""

SETTINGS = settings(
    max_examples=120, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)

_scalars = (
    st.booleans()
    | st.integers(min_value=-(2**70), max_value=2**70)
    | st.floats()
    | st.text(max_size=20)
    | st.sampled_from(["", "0s", "90s", "-5m", "vc-east", "9.1.0", "https://x", "password", "{x}"])
    | st.datetimes(max_value=datetime(9000, 1, 1))
    | st.datetimes(max_value=datetime(9000, 1, 1), timezones=st.just(UTC))
    | st.dates()
    | st.times()
)
_values = st.recursive(
    _scalars,
    lambda inner: (
        st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=8), inner, max_size=3)
    ),
    max_leaves=6,
)


def _setup(tmp_path: Path) -> Path:
    (tmp_path / "pw").write_text("long-enough-secret\n", encoding="utf-8")
    (tmp_path / "ca.pem").write_bytes(CA_PEM)
    return tmp_path / "plan.toml"


def _load_only_plan_error(path: Path) -> None:
    issues: tuple[Issue, ...] | None = None
    try:
        plan = load_plan(path)
    except PlanError as exc:
        issues = exc.issues
    else:
        assert isinstance(plan, Plan)
    if issues is not None:
        assert issues, "a PlanError always carries at least one issue"
        assert all(issue.message for issue in issues)


def test_base_plan_is_valid(tmp_path: Path) -> None:
    """The seed of the mutations is itself a valid plan (in every serialisation)."""
    path = _setup(tmp_path)
    path.write_text(toml_document(tomllib.loads(BASE)), encoding="utf-8")
    assert load_plan(path).name == "fuzz"
    path.write_text(toml_document(tomllib.loads(FULL)), encoding="utf-8")
    assert load_plan(path).notify[1].format == "slack"


@SETTINGS
@given(data=st.data())
def test_mutated_plans_raise_only_plan_error(tmp_path: Path, data: st.DataObject) -> None:
    """Deleted, renamed, emptied and retyped keys: PlanError with issues, or a valid plan."""
    document = tomllib.loads(BASE)
    for _ in range(data.draw(st.integers(1, 3), label="mutations")):
        paths = key_paths(document)
        if not paths:
            break
        path = data.draw(st.sampled_from(paths), label="path")
        action = data.draw(
            st.sampled_from(["replace", "delete", "rename", "empty"]), label="action"
        )
        mutate(document, path, action, data.draw(_values, label="value"))
    plan_path = _setup(tmp_path)
    plan_path.write_text(toml_document(document), encoding="utf-8", errors="surrogatepass")
    _load_only_plan_error(plan_path)


@SETTINGS
@given(content=st.binary(max_size=200))
def test_random_bytes_raise_only_plan_error(tmp_path: Path, content: bytes) -> None:
    """Arbitrary bytes (binary junk, invalid UTF-8) are a PlanError."""
    path = _setup(tmp_path)
    path.write_bytes(content)
    _load_only_plan_error(path)


@SETTINGS
@given(
    position=st.integers(0, len(BASE)),
    cut=st.integers(0, 40),
    insert=st.text(max_size=10),
)
def test_text_edits_raise_only_plan_error(
    tmp_path: Path, position: int, cut: int, insert: str
) -> None:
    """Cutting and inserting characters anywhere in a valid plan: PlanError or a valid plan."""
    path = _setup(tmp_path)
    text = BASE[:position] + insert + BASE[position + cut :]
    path.write_bytes(text.encode("utf-8", "surrogatepass"))
    _load_only_plan_error(path)


def test_pathological_inputs_raise_plan_error(tmp_path: Path) -> None:
    """Deep nesting, NUL bytes in paths, absurd numbers and durations: still PlanError."""
    path = _setup(tmp_path)
    cases = [
        "a = " + "[" * 3000 + "]" * 3000,
        BASE.replace('ca_file = "ca.pem"', 'ca_file = "a\\u0000b"'),
        BASE.replace('ca_file = "ca.pem"', 'ca_file = "' + "x" * 5000 + '"'),
        BASE.replace("max_precheck_error_percent = 12.5", "max_precheck_error_percent = 1e400"),
        BASE.replace("max_concurrent_total = 2", f"max_concurrent_total = {2**63}"),
        BASE.replace('grace = "30m"', f'grace = "{10**30}d"'),
    ]
    for text in cases:
        path.write_text(text, encoding="utf-8")
        _load_only_plan_error(path)


FULL = (
    'change_ref = "CHG-1"\n'
    + BASE.replace(
        'poll_interval = "5s"',
        'poll_interval = "5s"\nmax_failure_percent = 10\nrequire_approval = true\n'
        'approval_timeout = "1h"\nhealth_timeout = "10m"\nexpected_upgrade_duration_per_node = "20m"\n'
        "max_requests_per_second = 10",
    ).replace('grace = "30m"', 'grace = "30m"\nadmission = "start"')
    + '[[notify]]\nurl_env = "FU_FUZZ_HOOK"\nsecret_env = "FU_FUZZ_SECRET"\n'
    + '[[notify]]\nurl = "https://hooks.example/x"\nformat = "slack"\nevents = ["run_started"]\n'
)
_hostile = st.sampled_from(
    [
        datetime(9999, 12, 31, 23, 59, 59, tzinfo=UTC),
        datetime(9999, 12, 31, 23, 0, tzinfo=timezone(timedelta(hours=-5))),
        datetime(9999, 12, 31, 23, 0, tzinfo=timezone(timedelta(hours=5))),
        datetime(1, 1, 1, tzinfo=timezone(timedelta(hours=5))),
        "99999999999d",
        "1e400s",
        "٣٠s",
        "３０s",
        "https://admin:hunter2@h.example",
        "https:/admin:hunter2@h",
        "https://h.example:0",
        "https://h example",
        "svc:admin",
        "svc\r\nX",
        "run_started",
        "slack",
        "fit",
    ]
)
_any = st.recursive(
    _scalars | _hostile,
    lambda inner: (
        st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=8), inner, max_size=3)
    ),
    max_leaves=6,
)


@settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(data=st.data())
def test_validate_exits_0_or_2_with_located_errors(tmp_path: Path, data: st.DataObject) -> None:
    """validate on a mutated full plan: exit 0 or 2, every error located, no secret echoed."""
    document = tomllib.loads(FULL)
    for _ in range(data.draw(st.integers(1, 3), label="mutations")):
        paths = key_paths(document)
        if not paths:
            break
        path = data.draw(st.sampled_from(paths), label="path")
        action = data.draw(
            st.sampled_from(["replace", "replace", "delete", "rename", "empty"]), label="action"
        )
        mutate(document, path, action, data.draw(_any, label="value"))
    plan_path = _setup(tmp_path)
    plan_path.write_text(toml_document(document), encoding="utf-8", errors="surrogatepass")
    out = io.StringIO()
    code = validate_command([plan_path], fmt="json", out=out)
    assert code in (0, 2)
    (checked,) = json.loads(out.getvalue())["plans"]
    assert checked["valid"] == (code == 0)
    for error in checked["errors"]:
        assert error["location"] or error["line"], error
    assert "hunter2" not in out.getvalue()
