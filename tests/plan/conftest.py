"""Shared plan texts and helpers for the plan tests: a valid base plan to bend."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
import trustme
from click.testing import CliRunner

from fleetupgrade.cli.main import cli

CA_PEM = trustme.CA().cert_pem.bytes()

BASE = """\
version = 1
name = "q4"
[defaults]
desired_version = "9.1.0"
[[vcenters]]
name = "vc-east"
url = "https://vc-east.example"
username = "svc@vsphere.local"
password_env = "FU_TEST_EAST_PASSWORD"
[[vcenters]]
name = "vc-north"
url = "https://vc-north.example"
username = "svc@vsphere.local"
password_env = "FU_TEST_NORTH_PASSWORD"
[[waves]]
name = "canary"
supervisors = [{ vcenter = "vc-east", name = "sv-01" }]
[[waves]]
name = "rest"
supervisors = [
  { vcenter = "vc-east", id = "domain-c1" },
  { vcenter = "vc-north", id = "domain-c2" },
  { vcenter = "vc-north", id = "domain-c3" },
  { vcenter = "vc-north", id = "domain-c4" },
]
"""


def insert_after(text: str, anchor: str, extra: str) -> str:
    """``text`` with ``extra`` on the lines right after the first line equal to ``anchor``."""
    lines = text.splitlines()
    index = lines.index(anchor)
    return "\n".join([*lines[: index + 1], *extra.splitlines(), *lines[index + 1 :]]) + "\n"


@pytest.fixture
def write(tmp_path: Path) -> Callable[[str], Path]:
    """Write a plan text to ``plan.toml`` in a fresh directory; return its path."""

    def _write(text: str) -> Path:
        path = tmp_path / "plan.toml"
        path.write_text(text, encoding="utf-8")
        return path

    return _write


def validate(*args: str) -> tuple[int, str]:
    """Run ``fleetupgrade validate ARGS`` in-process; exit code and combined output."""
    result = CliRunner().invoke(cli, ["validate", *args])
    assert result.exception is None or isinstance(result.exception, SystemExit), result.output
    return result.exit_code, result.output
