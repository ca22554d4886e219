"""Scenario files (docs/simulator.md): defaults, located errors, [generate] and the shipped plans."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest

from fleetupgrade.errors import ScenarioError
from fleetupgrade.sim import Scenario, load_scenario, parse_scenario
from fleetupgrade.sim.generate import all_vcenters

ROOT = Path(__file__).resolve().parents[2]


def issues_of(text: str) -> list[str]:
    """The issue lines a bad scenario produces."""
    with pytest.raises(ScenarioError) as caught:
        parse_scenario(text, "bad.toml")
    assert caught.value.source == "bad.toml"
    return [str(issue) for issue in caught.value.issues]


def test_defaults() -> None:
    """Omitted keys take the documented defaults, including the default user."""
    scenario = parse_scenario('[[vcenters]]\nname = "vc"\n[[vcenters.supervisors]]\nid = "s-1"\n')
    assert (scenario.sim.seed, scenario.sim.speed, scenario.sim.latency) == (0, 1.0, timedelta(0))
    [user] = scenario.users
    assert (user.username, user.password, user.privileges) == (
        "administrator@vsphere.local",
        "sim-password",
        ["Namespaces.Upgrade"],
    )
    sup = scenario.vcenters[0].supervisors[0]
    assert sup.name == "s-1"
    assert (sup.current_version, sup.available_versions) == ("9.0.0", ["9.1.0"])
    assert (sup.control_plane_nodes, sup.fail_at_percent, sup.unsupported) == (3, 0, False)
    assert (sup.precheck_duration, sup.upgrade_duration) == (
        timedelta(seconds=30),
        timedelta(minutes=20),
    )
    assert sup.prechecks == []
    faults = scenario.vcenters[0].faults
    assert not faults.down
    assert faults.http_503_rate == faults.reset_rate == 0.0
    assert faults.session_ttl is None


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (
            '[[vcenters]]\nname = "vc"\n[[vcenters.supervisors]]\nid = "a"\n'
            '[[vcenters.supervisors]]\nid = "b"\nupgrade_duration = "20 minutes"\n',
            "vcenters[0].supervisors[1].upgrade_duration: invalid duration '20 minutes'",
        ),
        (
            '[sim]\nspeed = 0\n[[vcenters]]\nname = "vc"\n',
            "sim.speed: Input should be greater than 0",
        ),
        ('[sim]\nsped = 2\n[[vcenters]]\nname = "vc"\n', "sim.sped: unknown key"),
        (
            '[[vcenters]]\nname = "vc"\nfaults = { reset_rate = 1.5 }\n',
            "vcenters[0].faults.reset_rate",
        ),
        (
            '[[vcenters]]\nname = "vc"\nfaults = { latency = 5 }\n',
            "vcenters[0].faults.latency: expected a duration",
        ),
        (
            '[[vcenters]]\nname = "vc"\n[[vcenters.supervisors]]\nid = "a"\n'
            'prechecks = [{ severity = "FATAL", id = "x", text = "t" }]\n',
            "vcenters[0].supervisors[0].prechecks[0].severity",
        ),
        (
            '[[vcenters]]\nname = "vc"\n[[vcenters.supervisors]]\nid = "a"\n'
            '[[vcenters.supervisors]]\nid = "a"\n',
            "vcenters[0].supervisors: duplicate Supervisor id 'a'",
        ),
        (
            '[[vcenters]]\nname = "vc"\n[[vcenters]]\nname = "vc"\n',
            "vcenters: duplicate vCenter name 'vc'",
        ),
        (
            '[[vcenters]]\nname = "vc"\n[[vcenters.supervisors]]\nid = "a"\n'
            'available_versions = ["9.0.0"]\n',
            "vcenters[0].supervisors[0]: available_versions must not contain current_version",
        ),
        (
            '[[vcenters]]\nname = "vc"\n[[vcenters.supervisors]]\nid = "a b"\n',
            "vcenters[0].supervisors[0].id",
        ),
        ("[sim]\nseed = 1\n", "no vCenter"),
        (
            "[[users]]\nusername = 'u'\n[[vcenters]]\nname = 'vc'\n",
            "users[0].password: required key missing",
        ),
        (
            '[[vcenters]]\nname = "gen-vc-0001"\n'
            "[generate]\nvcenters = 1\nsupervisors_per_vcenter = 1\n",
            "generate: generated vCenter name 'gen-vc-0001' is also listed",
        ),
        ("[sim\nseed = 1\n", "line 1, column 5: TOML syntax error"),
    ],
)
def test_located_issues(text: str, expected: str) -> None:
    """Each problem is reported with its location."""
    assert any(expected in issue for issue in issues_of(text)), issues_of(text)


def test_every_issue_at_once() -> None:
    """All problems of a file are listed together."""
    issues = issues_of('[sim]\nspeed = -1\nseed = "x"\n[[vcenters]]\nname = "vc"\nbogus = 1\n')
    assert len(issues) == 3


def test_load_missing_file(tmp_path: Path) -> None:
    """An unreadable file is a ScenarioError naming the path."""
    with pytest.raises(ScenarioError, match="cannot read"):
        load_scenario(tmp_path / "missing.toml")


def test_model_validate_from_python() -> None:
    """The engine can build a Scenario from Python data (timedeltas accepted)."""
    scenario = Scenario.model_validate(
        {
            "sim": {"speed": 100.0},
            "vcenters": [
                {
                    "name": "vc",
                    "supervisors": [{"id": "s", "upgrade_duration": timedelta(minutes=1)}],
                }
            ],
        }
    )
    assert scenario.vcenters[0].supervisors[0].upgrade_duration == timedelta(minutes=1)


GENERATE = """
[sim]
seed = {seed}
[generate]
vcenters = 30
supervisors_per_vcenter = 20
precheck_error_rate = 0.1
precheck_warning_rate = 0.2
failure_rate = 0.1
"""


def fates(seed: int) -> list[tuple[str, str, str, tuple[str, ...], int]]:
    """Every generated Supervisor's identity and fate for a seed."""
    return [
        (vc.name, s.id, s.name, tuple(p.severity for p in s.prechecks), s.fail_at_percent)
        for vc in all_vcenters(parse_scenario(GENERATE.format(seed=seed)))
        for s in vc.supervisors
    ]


def test_generate_is_deterministic() -> None:
    """[generate] names and outcomes depend only on the seed."""
    first = fates(3)
    assert first == fates(3)
    assert first != fates(4)
    assert first[0][:3] == ("gen-vc-0001", "supervisor-1", "sv-0001-01")
    assert first[-1][:3] == ("gen-vc-0030", "supervisor-20", "sv-0030-20")
    severities = [f[3] for f in first]
    assert 20 < severities.count(("ERROR",)) < 100
    assert 60 < severities.count(("WARNING",)) < 180
    assert 20 < sum(1 for f in first if f[4]) < 100


@pytest.mark.parametrize("path", sorted((ROOT / "plans" / "scenarios").glob("*.toml")))
def test_shipped_scenarios_load(path: Path) -> None:
    """Every scenario under plans/scenarios/ is valid."""
    assert load_scenario(path).vcenters or load_scenario(path).generate


def test_demo_fleet() -> None:
    """The demo: vc-east/west/north, ~8 Supervisors, a WARNING and an ERROR precheck."""
    demo = load_scenario(ROOT / "plans" / "scenarios" / "demo.toml")
    assert [vc.name for vc in demo.vcenters] == ["vc-east", "vc-west", "vc-north"]
    sups = [s for vc in demo.vcenters for s in vc.supervisors]
    assert len(sups) == 8
    assert all(s.id.startswith("supervisor-") and s.name.startswith("sv-") for s in sups)
    severities = [p.severity for s in sups for p in s.prechecks]
    assert "WARNING" in severities
    assert "ERROR" in severities
    longest = max(s.precheck_duration + s.upgrade_duration for s in sups)
    assert longest.total_seconds() / demo.sim.speed < 5
