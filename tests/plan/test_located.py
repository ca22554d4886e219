"""validate's output: every issue with its TOML line and wave, and each wave's two gates."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import pytest

from fleetupgrade.plan.lines import LineIndex, deep_nesting_line, parse_location
from tests.plan.conftest import BASE, insert_after, validate

Write = Callable[[str], Path]


def test_empty_supervisors_reads_with_line_and_wave(write: Write) -> None:
    """The issue's own example: ``line 17: wave "canary": supervisors: must not be empty``."""
    path = write(BASE.replace('[{ vcenter = "vc-east", name = "sv-01" }]', "[]"))
    code, output = validate(str(path))
    assert code == 2
    assert f'error: {path}: line 17: wave "canary": supervisors: must not be empty' in output


def test_every_semantic_error_has_a_line(write: Write) -> None:
    """Errors anywhere in the plan (top, defaults, vCenter, wave, Supervisor) carry a line."""
    text = (
        BASE.replace('name = "q4"', 'name = "Q4"')
        .replace('desired_version = "9.1.0"', 'desired_version = "9.1.0"\nmistake = 1')
        .replace('url = "https://vc-north.example"', 'url = "ftp://vc-north.example"')
        .replace('{ vcenter = "vc-north", id = "domain-c3" }', '{ vcenter = "vc-x", id = "c3" }')
        .replace('name = "rest"', 'name = "rest"\nmax_failures = "1"')
    )
    code, output = validate("--format", "json", str(write(text)))
    assert code == 2
    (plan,) = json.loads(output)["plans"]
    found = {e["location"]: (e["line"], e["wave"]) for e in plan["errors"]}
    assert found == {
        "name": (2, None),
        "defaults.mistake": (5, None),
        "vcenters[1].url": (13, None),
        "waves[1].max_failures": (21, "rest"),
        "waves[1].supervisors[2].vcenter": (25, "rest"),
    }


def test_missing_key_points_at_its_table(write: Write) -> None:
    """A required key that is absent is located at the header of its table."""
    code, output = validate(str(write(BASE.replace('name = "vc-north"\n', ""))))
    assert code == 2
    assert "line 10: vcenters[1].name: required key is missing" in output


def test_gates_approval_and_pause_are_printed_per_wave(write: Write) -> None:
    """Each wave shows both gates' arithmetic, whether it waits for approval, and its pause."""
    text = insert_after(BASE, 'desired_version = "9.1.0"', 'approval_timeout = "1h"')
    text = insert_after(
        text,
        'name = "rest"',
        "max_precheck_error_percent = 25\nmax_failure_percent = 50\nrequire_approval = true\n"
        'pause_after = "15m"',
    )
    code, output = validate(str(write(text)))
    assert code == 0, output
    assert "wave canary: 1 Supervisor(s), max 0 ERROR(s) → halts at the 1st ERROR" in output
    assert (
        "precheck gate: halts at the 1st ERROR of 1; failure gate: halts at the 1st failure of 1"
        in output
    )
    assert (
        "precheck gate: halts at the 2nd ERROR of 4; failure gate: halts at the 3rd failure of 4"
        in output
    )
    assert "approval required (timeout 1h); pause 15m after; health timeout 15m" in output
    assert "no approval; no pause; health timeout 15m" in output


def test_json_summary_has_both_gates(write: Write) -> None:
    """--format json carries each gate's sentence, rule and halting count."""
    code, output = validate("--format", "json", str(write(BASE)))
    assert code == 0
    rest = json.loads(output)["plans"][0]["summary"]["waves"][1]
    assert rest["precheck_gate"] == "halts at the 1st ERROR of 4"
    assert rest["failure_gate"] == "halts at the 1st failure of 4"
    assert rest["failure_rule"] == "max_failures: failures > 0"
    assert rest["halts_at_failure"] == 1
    assert rest["require_approval"] is False


def test_fleet_file_is_valid_with_a_note(write: Write) -> None:
    """validate accepts a plan without waves and notes that run needs them."""
    code, output = validate(str(write(BASE.split("[[waves]]", maxsplit=1)[0])))
    assert code == 0, output
    assert "note: fleet file: `run` needs [[waves]]" in output
    assert "not used by any wave" not in output


def test_deprecated_alias_is_a_located_warning(write: Write) -> None:
    """max_upgrade_failures validates (exit 0) with a warning at its line."""
    code, output = validate(
        str(write(insert_after(BASE, 'name = "rest"', "max_upgrade_failures = 1")))
    )
    assert code == 0
    assert (
        'warning: line 20: wave "rest": max_upgrade_failures: max_upgrade_failures is deprecated'
        in output
    )


@pytest.mark.parametrize(
    ("location", "line"),
    [
        ("waves[1].supervisors[2].id", 9),
        ("waves[1].supervisors[2]", 9),
        ("waves[1]", 4),
        ("waves[0].name", 2),
        ("defaults", None),
        ('vcenters[0]."odd.key"', None),
    ],
)
def test_line_index_finds_nested_entries(location: str, line: int | None) -> None:
    """Array-of-tables, multi-line inline arrays and strings with brackets are walked."""
    text = (
        '[[waves]]\nname = "a"  # [not a table]\nx = "]"\n[[waves]]\nname = "b"\n'
        'supervisors = [\n  { id = "x" }, { id = "y" },\n  # , { id = "no" }\n'
        '  { id = "z" },\n]\n'
    )
    assert LineIndex(text).line_of(location) == line


def test_location_parsing() -> None:
    """Issue locations split into keys and indices."""
    assert parse_location("waves[2].supervisors[0].id") == ("waves", 2, "supervisors", 0, "id")


def test_deep_nesting_has_a_line(write: Write) -> None:
    """TOML nested too deeply is reported with the line where it starts."""
    text = 'version = 1\nname = "x"\n\na = ' + "[" * 3000 + "]" * 3000 + "\n"
    assert deep_nesting_line(text) == 4
    code, output = validate(str(write(text)))
    assert code == 2
    assert "line 4: TOML nested too deeply" in output


def test_line_index_skips_multiline_strings_and_dotted_keys() -> None:
    """Table headers inside multi-line strings are text; dotted and quoted keys are found."""
    text = (
        'note = """\n[[waves]]\nname = "fake"\n"""\n'
        "lit = '''\n[[waves]]\n'''\n"
        'esc = "a \\" [[waves]]"\n'
        "[[waves]]\n"
        'meta.owner = "x"\n'
        '"quoted key" = 1\n'
    )
    index = LineIndex(text)
    assert index.line_of("waves[0]") == 9
    assert index.line_of("waves[0].meta.owner") == 10
    assert index.line_of("waves[0].quoted key") == 11
    assert index.line_of("waves[1]") is None


def test_errors_come_in_file_order(write: Write) -> None:
    """Model errors and cross-checks are interleaved by line, as an operator fixes them."""
    text = (
        BASE.replace('desired_version = "9.1.0"', 'desired_version = "9.1.0"\npoll_interval = 5')
        .replace('username = "svc@vsphere.local"', 'username = "svc:x"', 1)
        .replace('name = "rest"', 'name = "rest"\nmax_failures = -1')
        .replace("https://vc-north.example", "ftp://vc-north.example")
    )
    code, output = validate("--format", "json", str(write(text)))
    assert code == 2
    lines = [e["line"] for e in json.loads(output)["plans"][0]["errors"]]
    assert lines == [5, 9, 13, 21]
