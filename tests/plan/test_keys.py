"""The plan keys the engine reads: gates, approval, health, pacing, window admission, notify."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from fractions import Fraction
from pathlib import Path

import pytest

from fleetupgrade.errors import FleetFileError, PlanError
from fleetupgrade.plan import DEFAULT_NOTIFY_EVENTS, Threshold, load_plan
from tests.plan.conftest import BASE, insert_after

Write = Callable[[str], Path]


def _errors(write: Write, text: str) -> list[str]:
    with pytest.raises(PlanError) as info:
        load_plan(write(text))
    return [f"{i.location}: {i.message}" for i in info.value.issues]


def test_defaults_of_the_new_keys(write: Write) -> None:
    """Without the new keys: first failure halts, no approval, 15m health, 20 req/s, fit."""
    plan = load_plan(write(BASE))
    canary, rest = plan.waves
    assert plan.failure_threshold_for(rest) == Threshold("count", 0, "failure")
    assert plan.requires_approval(canary) is False
    assert plan.defaults.approval_timeout == timedelta(0)
    assert plan.health_timeout_for(canary) == timedelta(minutes=15)
    assert plan.expected_duration(3) is None
    assert plan.requests_per_second_for("vc-east") == 20.0
    assert plan.change_ref is None
    assert plan.notify == ()
    assert plan.is_fleet_file is False
    assert plan.warnings == ()


def test_overrides_per_wave_and_per_vcenter(write: Write) -> None:
    """Wave and vCenter values win over [defaults]; a percentage stays exact."""
    text = insert_after(
        BASE,
        'desired_version = "9.1.0"',
        'max_failures = 2\nrequire_approval = true\napproval_timeout = "2h"\n'
        'health_timeout = "0s"\nexpected_upgrade_duration_per_node = "20m"\n'
        "max_requests_per_second = 5",
    )
    text = insert_after(
        text, 'name = "canary"', "max_failure_percent = 12.5\nrequire_approval = false"
    )
    text = insert_after(text, 'name = "rest"', 'health_timeout = "30m"')
    text = insert_after(text, 'url = "https://vc-north.example"', "max_requests_per_second = 2.5")
    text = 'change_ref = "CHG-1234"\n' + text
    plan = load_plan(write(text))
    canary, rest = plan.waves
    assert plan.failure_threshold_for(canary) == Threshold("percent", Fraction(25, 2), "failure")
    assert plan.failure_threshold_for(rest) == Threshold("count", 2, "failure")
    assert plan.requires_approval(canary) is False
    assert plan.requires_approval(rest) is True
    assert plan.defaults.approval_timeout == timedelta(hours=2)
    assert plan.health_timeout_for(canary) == timedelta(0)
    assert plan.health_timeout_for(rest) == timedelta(minutes=30)
    assert plan.expected_duration(3) == timedelta(hours=1)
    assert plan.requests_per_second_for("vc-east") == 5.0
    assert plan.requests_per_second_for("vc-north") == 2.5
    assert plan.change_ref == "CHG-1234"


def test_expected_duration_for_the_whole_upgrade(write: Write) -> None:
    """expected_upgrade_duration does not depend on the number of nodes; 0s means unknown."""
    text = insert_after(BASE, 'desired_version = "9.1.0"', 'expected_upgrade_duration = "90m"')
    assert load_plan(write(text)).expected_duration(5) == timedelta(minutes=90)
    text = insert_after(BASE, 'desired_version = "9.1.0"', 'expected_upgrade_duration = "0s"')
    assert load_plan(write(text)).expected_duration(5) is None


def test_window_admission(write: Write) -> None:
    """admission defaults to fit; start is accepted; anything else is an error."""
    window = "[window]\nstart = 2026-12-05T22:00:00Z\nend = 2026-12-06T04:00:00Z\n"
    text = BASE.replace("[[vcenters]]", window + "[[vcenters]]", 1)
    plan = load_plan(write(text))
    assert plan.window is not None
    assert plan.window.admission == "fit"
    text = BASE.replace("[[vcenters]]", window + 'admission = "start"\n[[vcenters]]', 1)
    window_model = load_plan(write(text)).window
    assert window_model is not None
    assert window_model.admission == "start"
    text = BASE.replace("[[vcenters]]", window + 'admission = "late"\n[[vcenters]]', 1)
    assert any(e.startswith("window.admission: Input should be") for e in _errors(write, text))


@pytest.mark.parametrize(
    ("where", "extra", "expected"),
    [
        (
            'desired_version = "9.1.0"',
            "max_failures = 1\nmax_failure_percent = 10",
            "defaults: set at most one of max_failures or max_failure_percent",
        ),
        (
            'name = "rest"',
            "max_failures = 1\nmax_failure_percent = 10",
            "waves[1]: set at most one of max_failures or max_failure_percent",
        ),
        (
            'name = "rest"',
            "max_failures = 1\nmax_upgrade_failures = 1",
            "waves[1]: set at most one of max_upgrade_failures or max_failures",
        ),
        (
            'desired_version = "9.1.0"',
            'expected_upgrade_duration = "1h"\nexpected_upgrade_duration_per_node = "20m"',
            "defaults: set at most one of expected_upgrade_duration or "
            "expected_upgrade_duration_per_node",
        ),
        ('name = "rest"', "max_failures = -1", "waves[1].max_failures: Input should be greater"),
        ('name = "rest"', "max_failure_percent = 0", "waves[1].max_failure_percent: Input"),
        ('name = "rest"', 'require_approval = "yes"', "waves[1].require_approval: expected a bool"),
        (
            'desired_version = "9.1.0"',
            'approval_timeout = "-1m"',
            "defaults.approval_timeout: invalid duration",
        ),
        (
            'desired_version = "9.1.0"',
            "max_requests_per_second = 0",
            "defaults.max_requests_per_second: Input should be greater than 0",
        ),
        (
            'url = "https://vc-east.example"',
            'max_requests_per_second = "fast"',
            "vcenters[0].max_requests_per_second: expected a number, got a string",
        ),
        (
            'url = "https://vc-east.example"',
            "max_requests_per_second = true",
            "vcenters[0].max_requests_per_second: expected a number, got a boolean",
        ),
        ('name = "q4"', 'change_ref = "CHG-1\\nInjected"', "change_ref: must be one line"),
        ('name = "q4"', 'change_ref = ""', "change_ref: must not be empty"),
    ],
)
def test_new_key_rules(write: Write, where: str, extra: str, expected: str) -> None:
    """Each new key has its type, range and not-both rule, located."""
    errors = _errors(write, insert_after(BASE, where, extra))
    assert any(e.startswith(expected) for e in errors), errors


def test_deprecated_alias_loads_with_a_warning(write: Write) -> None:
    """max_upgrade_failures still works as max_failures, with a located warning."""
    plan = load_plan(write(insert_after(BASE, 'name = "rest"', "max_upgrade_failures = 1")))
    assert plan.failure_threshold_for(plan.waves[1]) == Threshold("count", 1, "failure")
    (warning,) = plan.warnings
    assert warning.severity == "warning"
    assert warning.location == "waves[1].max_upgrade_failures"
    assert "deprecated: write max_failures" in warning.message
    assert str(warning).startswith('line 20: wave "rest": max_upgrade_failures:')


def test_wave_override_beats_default_percent(write: Write) -> None:
    """A wave count overrides a default percentage, and a wave percentage a default count."""
    text = insert_after(BASE, 'desired_version = "9.1.0"', "max_failure_percent = 50")
    text = insert_after(text, 'name = "canary"', "max_failures = 0")
    plan = load_plan(write(text))
    assert plan.failure_threshold_for(plan.waves[0]) == Threshold("count", 0, "failure")
    assert plan.failure_threshold_for(plan.waves[1]) == Threshold("percent", 50, "failure")


@pytest.mark.parametrize(
    ("threshold", "size", "key", "rule", "described"),
    [
        (
            Threshold("count", 0, "failure"),
            4,
            "max_failures",
            "max_failures: failures > 0",
            "max 0 failure(s) → halts at the 1st failure of 4",
        ),
        (
            Threshold("percent", Fraction(25), "failure"),
            4,
            "max_failure_percent",
            "max_failure_percent: failures*100 > 25*size",
            "25% of 4 → halts at the 2nd failure of 4",
        ),
        (
            Threshold("count", 4, "failure"),
            4,
            "max_failures",
            "max_failures: failures > 4",
            "max 4 failure(s) → never halts",
        ),
        (
            Threshold("percent", Fraction(10)),
            18,
            "max_precheck_error_percent",
            "max_precheck_error_percent: errors*100 > 10*size",
            "10% of 18 → halts at the 2nd ERROR",
        ),
    ],
)
def test_threshold_names_its_key(
    threshold: Threshold, size: int, key: str, rule: str, described: str
) -> None:
    """A threshold says which plan key it came from, its rule and its arithmetic."""
    assert threshold.key == key
    assert threshold.rule == rule
    assert threshold.describe(size) == described


def test_failure_gate_uses_the_same_exact_arithmetic() -> None:
    """F*100 > p*N with no rounding: 24.9 % of 4 halts at the 1st failure, 25 % at the 2nd."""
    assert Threshold("percent", Fraction("24.9"), "failure").halts(1, 4)
    assert not Threshold("percent", Fraction(25), "failure").halts(1, 4)
    assert Threshold("percent", Fraction(25), "failure").halts_at(4) == (
        "halts at the 2nd failure of 4"
    )


def test_fleet_file_loads_and_run_refuses_it(write: Write) -> None:
    """A plan without [[waves]] is a fleet file: it loads, but require_waves refuses it."""
    fleet = BASE.split("[[waves]]", maxsplit=1)[0]
    plan = load_plan(write(fleet))
    assert plan.is_fleet_file
    assert plan.waves == ()
    with pytest.raises(FleetFileError, match=r"fleet file \(no \[\[waves\]\]\)"):
        plan.require_waves()
    with pytest.raises(FleetFileError) as info:
        load_plan(write(fleet), allow_fleet=False)
    assert isinstance(info.value, PlanError)  # the run maps it to exit 2 like any plan error
    load_plan(write(BASE)).require_waves()  # a plan with waves passes


def test_notify_targets_parse_with_defaults(write: Write) -> None:
    """[[notify]] takes url or url_env, events default to the four that need a human."""
    text = (
        BASE
        + '[[notify]]\nurl_env = "FU_HOOK"\n'
        + '[[notify]]\nurl = "https://hooks.example/T0/B0"\nformat = "slack"\n'
        + 'events = ["run_started", "vcenter_unreachable"]\nsecret_env = "FU_HOOK_SECRET"\n'
    )
    plan = load_plan(write(text))
    first, second = plan.notify
    assert first.events == DEFAULT_NOTIFY_EVENTS
    assert first.format == "json"
    assert second.events == ("run_started", "vcenter_unreachable")
    assert second.format == "slack"
    assert "hooks.example" not in repr(second)


@pytest.mark.parametrize(
    ("target", "expected"),
    [
        (
            'url_env = "A"\nurl = "https://h.example"',
            "notify[0]: set exactly one of url or url_env",
        ),
        ('format = "json"', "notify[0]: set exactly one of url or url_env"),
        ('url_env = "A"\nevents = ["run_exploded"]', "notify[0].events[0]: Input should be"),
        ('url_env = "A"\nevents = []', "notify[0].events: must not be empty"),
        ('url_env = "A"\nformat = "xml"', "notify[0].format: Input should be 'json' or 'slack'"),
        ('url_env = "https://h.example"', "notify[0].url_env: must be the NAME of an environment"),
        ('url = "http://hooks.example/x"', "notify[0].url: plain http is allowed only to a loop"),
        ('url = "https://u:p@hooks.example/x"', "notify[0].url: a URL must not carry credentials"),
        ('url_env = "A"\nevents = ["run_started", "run_started"]', "notify[0].events: listed twi"),
    ],
)
def test_notify_rules(write: Write, target: str, expected: str) -> None:
    """Each notify mistake is located; the URL itself is never in the message."""
    errors = _errors(write, BASE + "[[notify]]\n" + target + "\n")
    assert any(e.startswith(expected) for e in errors), errors
    assert not any("hooks.example" in e for e in errors), errors


def test_http_notify_to_loopback_is_fine(write: Write) -> None:
    """A local receiver over plain http (a test, a relay on the host) is accepted."""
    plan = load_plan(write(BASE + '[[notify]]\nurl = "http://127.0.0.1:9000/hook?x=1"\n'))
    assert plan.notify[0].url == "http://127.0.0.1:9000/hook?x=1"


@pytest.mark.parametrize(
    ("old", "new", "expected"),
    [
        (
            '{ vcenter = "vc-north", id = "domain-c3" }',
            '{ vcenter = "vc-east", name = "sv-01" }',
            "waves[1].supervisors[2]: vc-east/sv-01 (name) appears twice in the plan: "
            'wave "canary" supervisors[0] and wave "rest" supervisors[2]',
        ),
        (
            '{ vcenter = "vc-north", id = "domain-c3" }',
            '{ vcenter = "vc-north", id = "domain-c2" }',
            "waves[1].supervisors[2]: vc-north/domain-c2 (id) appears twice in the plan: "
            'wave "rest" supervisors[1] and wave "rest" supervisors[2]',
        ),
    ],
)
def test_one_supervisor_one_entry_names_both(
    write: Write, old: str, new: str, expected: str
) -> None:
    """The same id or name twice on a vCenter names both entries: wave, index, id/name."""
    errors = _errors(write, BASE.replace(old, new))
    assert expected in errors, errors
