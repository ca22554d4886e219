"""Hostile and careless plans through ``fleetupgrade validate``: located errors, exit 2,
never a traceback, never a credential echoed."""

from __future__ import annotations

import json
import os
from collections.abc import Callable
from pathlib import Path

import pytest

from fleetupgrade.errors import CredentialsError
from fleetupgrade.plan import load_plan, password_file_too_open, resolve_credentials
from fleetupgrade.redact_urls import mask_userinfo
from tests.plan.conftest import BASE, CA_PEM, insert_after, validate

Write = Callable[[str], Path]
EAST_URL = 'url = "https://vc-east.example"'


@pytest.fixture(autouse=True)
def _passwords(monkeypatch: pytest.MonkeyPatch) -> None:
    """Long-enough passwords in the environment, so only the case under test warns."""
    monkeypatch.setenv("FU_TEST_EAST_PASSWORD", "correct-horse")
    monkeypatch.setenv("FU_TEST_NORTH_PASSWORD", "battery-staple")


@pytest.mark.parametrize(
    ("username", "expected"),
    [
        ("svc:admin", "must not contain ':'"),
        ("svc\\r\\nX-Injected", "must not contain control characters"),
        ("svc\\tname", "must not contain control characters"),
    ],
)
def test_username_with_colon_or_control_characters(
    write: Write, username: str, expected: str
) -> None:
    """A username HTTP Basic cannot carry is a located error (and not echoed)."""
    path = write(BASE.replace('username = "svc@vsphere.local"', f'username = "{username}"', 1))
    code, output = validate(str(path))
    assert code == 2
    assert f"line 8: vcenters[0].username: a username {expected}" in output
    assert "admin" not in output
    assert "Injected" not in output


@pytest.mark.parametrize("value", ["svc:admin", "svc\r\n", "a\x00b"])
def test_username_env_value_is_checked_at_run_time(write: Write, value: str) -> None:
    """resolve_credentials refuses a username_env value with ':' or a control character."""
    text = BASE.replace('username = "svc@vsphere.local"', 'username_env = "FU_USER"', 1)
    vcenter = load_plan(write(text)).vcenters[0]
    with pytest.raises(CredentialsError, match="FU_USER \\(username_env\\): a username must"):
        resolve_credentials(vcenter, {"FU_USER": value, "FU_TEST_EAST_PASSWORD": "x" * 9})


@pytest.mark.parametrize(
    ("content", "expected"),
    [
        (b"", "is empty: expected PEM certificates"),
        (b"   \n", "is empty: expected PEM certificates"),
        (b"hello", "is not a PEM CA bundle"),
        (b"-----BEGIN CERTIFICATE-----\nnot base64\n-----END CERTIFICATE-----\n", "is not a PEM"),
        (CA_PEM[:200], "is not a PEM CA bundle"),
    ],
)
def test_ca_file_is_loaded_as_the_run_will(
    write: Write, tmp_path: Path, content: bytes, expected: str
) -> None:
    """Empty, non-PEM or truncated CA bundles are errors naming the file and why."""
    (tmp_path / "ca.pem").write_bytes(content)
    path = write(insert_after(BASE, EAST_URL, 'ca_file = "ca.pem"'))
    code, output = validate(str(path))
    assert code == 2
    assert f"line 8: vcenters[0].ca_file: {tmp_path / 'ca.pem'} {expected}" in output


def test_ca_file_directory_and_good_bundle(write: Write, tmp_path: Path) -> None:
    """A directory is not a CA file; a real PEM bundle validates."""
    (tmp_path / "certs").mkdir()
    code, output = validate(str(write(insert_after(BASE, EAST_URL, 'ca_file = "certs"'))))
    assert code == 2
    assert f"vcenters[0].ca_file: not a file: {tmp_path / 'certs'}" in output
    (tmp_path / "ca.pem").write_bytes(CA_PEM)
    code, output = validate(str(write(insert_after(BASE, EAST_URL, 'ca_file = "ca.pem"'))))
    assert code == 0, output


@pytest.mark.skipif(os.geteuid() == 0, reason="root reads every file")
def test_unreadable_ca_file(write: Write, tmp_path: Path) -> None:
    """A CA file the user cannot read is a located error naming it."""
    ca = tmp_path / "ca.pem"
    ca.write_bytes(CA_PEM)
    ca.chmod(0)
    code, output = validate(str(write(insert_after(BASE, EAST_URL, 'ca_file = "ca.pem"'))))
    assert code == 2
    assert "vcenters[0].ca_file: cannot read" in output


def _window(text: str, body: str) -> str:
    return text.replace("[[vcenters]]", f"[window]\n{body}\n[[vcenters]]", 1)


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        (
            'start = 9999-12-31T00:00:00Z\nend = 9999-12-31T23:59:59Z\ngrace = "2d"',
            "line 8: window.grace: end + grace is beyond the last representable instant",
        ),
        (
            'start = 2026-12-05T00:00:00Z\nend = 9999-12-31T23:00:00+05:00\ngrace = "5h"',
            "line 8: window.grace: end + grace is beyond the last representable instant",
        ),
        (
            "start = 2026-12-06T22:00:00Z\nend = 2026-12-06T04:00:00Z",
            "line 5: window: start must be before end",
        ),
        (
            "start = 2026-12-06T04:00:00Z\nend = 2026-12-06T04:00:00Z",
            "line 5: window: start must be before end",
        ),
        (
            "start = 2026-12-06T04:00:00Z\nend = 9999-12-31T23:00:00-05:00",
            "line 7: window.end: out of range",
        ),
        (
            "start = 0001-01-01T00:00:00+05:00\nend = 2026-12-06T04:00:00Z",
            "line 6: window.start: out of range",
        ),
    ],
)
def test_window_edges_are_located_errors(write: Write, body: str, expected: str) -> None:
    """Overflowing or inverted windows: exit 2 with a located error, never exit 70."""
    code, output = validate(str(write(_window(BASE, body))))
    assert code == 2, output
    assert expected in output


@pytest.mark.parametrize("duration", ["٣٠s", "３０s", "1.５h"])
def test_non_ascii_digits_in_durations_are_refused(write: Write, duration: str) -> None:
    """Durations use ASCII digits: look-alike digits are an error, not 30 seconds."""
    path = write(insert_after(BASE, 'desired_version = "9.1.0"', f'poll_interval = "{duration}"'))
    code, output = validate(str(path))
    assert code == 2
    assert "line 5: defaults.poll_interval: a duration is written with ASCII digits" in output


@pytest.mark.parametrize("version", ["٣٠s", "9.1.0 ", "9.1/0", "９.1.0"])
def test_versions_are_ascii_ids(write: Write, version: str) -> None:
    """A desired version is an ASCII id (it travels in URLs and reports), located when not."""
    path = write(BASE.replace('desired_version = "9.1.0"', f'desired_version = "{version}"'))
    code, output = validate(str(path))
    assert code == 2, output
    assert "line 4: defaults.desired_version: a version uses ASCII letters" in output


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("https://vc east.example", "must not contain spaces or control characters"),
        ("https://vc-east.example /api", "must not contain spaces or control characters"),
        ("https://vc-east.example:0", "port 0 cannot be connected to"),
        ("https://admin@vc-east.example", "must not carry credentials"),
        ("https://admin:hunter2@vc-east.example", "must not carry credentials"),
    ],
)
def test_bad_urls(write: Write, url: str, expected: str) -> None:
    """Spaces, port 0 and userinfo in a URL are located errors."""
    code, output = validate(str(write(BASE.replace("https://vc-east.example", url))))
    assert code == 2
    assert "line 7: vcenters[0].url: " in output
    assert expected in output
    assert "hunter2" not in output


@pytest.mark.parametrize(
    ("old", "new"),
    [
        ("https://vc-east.example", "https://admin:hunter2@vc-east.example"),
        ("https://vc-east.example", "https:/admin:hunter2@vc-east.example"),
        ("https://vc-east.example", "https:\\\\\\\\admin:hunter2@vc-east.example"),
        ("https://vc-east.example", "ftp://admin:hunter2@vc-east.example"),
        ('vcenter = "vc-east", name = "sv-01"', 'vcenter = "https://admin:hunter2@h", name = "x"'),
        ('name = "q4"', 'name = "https://admin:hunter2@h"'),
        ('desired_version = "9.1.0"', 'desired_version = "https://admin:hunter2@h"\nx = 1'),
    ],
)
@pytest.mark.parametrize("fmt", ["text", "json"])
def test_credentials_in_urls_are_never_echoed(write: Write, old: str, new: str, fmt: str) -> None:
    """Whatever field a credential URL lands in, no output shows its password."""
    code, output = validate("--format", fmt, str(write(BASE.replace(old, new, 1))))
    assert code == 2
    assert "hunter2" not in output
    if fmt == "json":
        json.loads(output)


@pytest.mark.parametrize(
    ("text", "masked"),
    [
        ("https://admin:hunter2@vc", "https://***@vc"),
        ("see 'ftp://u:p@ss@host/x' here", "see 'ftp://***@host/x' here"),
        ("https:/u:p@h", "https:/***@h"),
        ("https:\\\\u:p@h", "https:\\\\***@h"),
        ("svc@vsphere.local has no scheme", "svc@vsphere.local has no scheme"),
        ("vcenters[0].username: bad", "vcenters[0].username: bad"),
    ],
)
def test_mask_userinfo(text: str, masked: str) -> None:
    """Userinfo after any scheme (slashes, backslashes or none) becomes ***."""
    assert mask_userinfo(text) == masked


def _password_file(text: str) -> str:
    return text.replace(
        'password_env = "FU_TEST_EAST_PASSWORD"', 'password_file = "secrets/east.pw"', 1
    )


def test_missing_password_file_warns_in_validate_and_fails_the_run(write: Write) -> None:
    """validate warns (exit 0) about a missing password_file; the run cannot read it."""
    path = write(_password_file(BASE))
    code, output = validate(str(path))
    assert code == 0, output
    assert "warning: line 9: vcenters[0].password_file: vCenter vc-east: cannot read" in output
    with pytest.raises(CredentialsError, match="cannot read password_file"):
        resolve_credentials(load_plan(path).vcenters[0], {})


def test_password_file_open_to_others_warns(write: Write, tmp_path: Path) -> None:
    """A group- or world-readable password file is a validate warning; 0600 is quiet."""
    secret = tmp_path / "secrets" / "east.pw"
    secret.parent.mkdir()
    secret.write_text("correct-horse\n", encoding="utf-8")
    secret.chmod(0o644)
    path = write(_password_file(BASE))
    assert password_file_too_open(secret)
    code, output = validate(str(path))
    assert code == 0
    assert "is readable by group or others: chmod 600 it" in output
    assert "correct-horse" not in output
    secret.chmod(0o600)
    assert not password_file_too_open(secret)
    assert not password_file_too_open(tmp_path / "missing")
    code, output = validate(str(path))
    assert "readable by group" not in output


@pytest.mark.parametrize("source", ["env", "file"])
def test_short_password_warns(
    write: Write, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, source: str
) -> None:
    """A password under 8 characters is a warning: it cannot be masked safely in logs."""
    text = BASE
    if source == "env":
        monkeypatch.setenv("FU_TEST_EAST_PASSWORD", "abc")
    else:
        (tmp_path / "secrets").mkdir()
        (tmp_path / "secrets" / "east.pw").write_text("abc\n", encoding="utf-8")
        (tmp_path / "secrets" / "east.pw").chmod(0o600)
        text = _password_file(text)
    code, output = validate(str(write(text)))
    assert code == 0
    assert "short passwords cannot be masked safely in logs" in output
    assert "abc" not in output.replace("abc.", "")
