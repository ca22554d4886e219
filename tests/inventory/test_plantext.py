"""The plan writer: valid TOML, escaped strings, comments, relative paths, stable bytes."""

from __future__ import annotations

import tomllib
from dataclasses import replace
from decimal import Decimal
from pathlib import Path

from hypothesis import given
from hypothesis import strategies as st

from fleetupgrade.inventory.model import Inventory, SupervisorRow
from fleetupgrade.inventory.newplan import (
    NewPlanOptions,
    default_plan_name,
    draft_plan,
    format_percent,
)
from fleetupgrade.inventory.plantext import render_plan, toml_string
from fleetupgrade.inventory.waves import WaveSize
from fleetupgrade.plan import parse_plan
from fleetupgrade.plan.model import VCenterConfig


def row(vcenter: str, id_: str, current: str = "9.0.0", **kw: object) -> SupervisorRow:
    """A READY, healthy Supervisor offered 9.1.0 unless told otherwise."""
    values: dict[str, object] = {
        "vcenter": vcenter,
        "id": id_,
        "name": f"name of {id_}",
        "current_version": current,
        "available_versions": ("9.1.0",),
        "state": "READY",
        "desired_version": None,
        "config_status": "RUNNING",
        "kubernetes_status": "READY",
        "last_upgraded_date": None,
    }
    values.update(kw)
    return SupervisorRow(**values)  # type: ignore[arg-type]


def inventory(tmp_path: Path) -> Inventory:
    """Two vCenters, one Supervisor of each kind."""
    ca = tmp_path / "certs" / "ca.pem"
    return Inventory(
        fleet="prod",
        vcenters=tuple(
            VCenterConfig(
                name=name,
                url=f"https://{name}.example",
                username="svc@vsphere.local",
                password_env="VC_PASSWORD",
                ca_file=str(ca),
            )
            for name in ("vc-a", "vc-b")
        ),
        supervisors=(
            row("vc-a", "s1"),
            row("vc-a", "s2"),
            row("vc-b", "s1"),
            row("vc-b", "cur", current="9.1.0", available_versions=()),
            row("vc-b", "busy", state="INPROGRESS", desired_version="9.1.0"),
            row("vc-b", "err", state="ERROR"),
            row("vc-b", "old", available_versions=("9.0.5",)),
        ),
        errors=(),
        defaults=(("poll_interval", "10s"), ("request_timeout", "30s")),
    )


def test_plan_text_is_a_valid_plan_with_comments(tmp_path: Path) -> None:
    """The text parses as a plan whose waves hold exactly the upgradeable Supervisors."""
    result = draft_plan(
        inventory(tmp_path), NewPlanOptions(target="9.1.0", wave_size=WaveSize(count=1))
    )
    text = render_plan(result.draft, base=tmp_path)
    data = tomllib.loads(text)
    assert data["defaults"] == {
        "desired_version": "9.1.0",
        "poll_interval": "10s",
        "request_timeout": "30s",
    }
    assert data["vcenters"][0]["ca_file"] == "certs/ca.pem"
    assert "password" not in data["vcenters"][0]
    ids = [(s["vcenter"], s["id"]) for w in data["waves"] for s in w["supervisors"]]
    assert sorted(ids) == [("vc-a", "s1"), ("vc-a", "s2"), ("vc-b", "s1")]
    assert data["waves"][0]["name"] == "canary"
    assert "# name of s1" in text
    for needle in (
        "in_progress (1)",
        "error_state (1)",
        "already_current (1)",
        "not_available (1)",
    ):
        assert needle in text
    assert "9.1.0 is not available (available: 9.0.5)" in text


def test_plan_text_is_deterministic(tmp_path: Path) -> None:
    """The same inventory and options give the same bytes."""
    options = NewPlanOptions(target="9.1.0", max_per_vcenter=1, approve_after_canary=True)
    texts = {
        render_plan(draft_plan(inventory(tmp_path), options).draft, base=tmp_path) for _ in range(3)
    }
    assert len(texts) == 1


def test_approval_goes_on_the_wave_after_the_canary(tmp_path: Path) -> None:
    """--approve-after-canary gates the first wave after the canary, not the canary."""
    options = NewPlanOptions(target="9.1.0", canary=1, approve_after_canary=True)
    data = tomllib.loads(render_plan(draft_plan(inventory(tmp_path), options).draft, base=tmp_path))
    assert "require_approval" not in data["waves"][0]
    assert data["waves"][1]["require_approval"] is True
    assert data["waves"][1]["max_precheck_error_percent"] == 10
    assert data["waves"][1]["max_failure_percent"] == 5


def test_pause_only_between_waves(tmp_path: Path) -> None:
    """pause_after is on every wave but the last."""
    options = NewPlanOptions(target="9.1.0", canary=1, wave_size=WaveSize(count=1))
    data = tomllib.loads(render_plan(draft_plan(inventory(tmp_path), options).draft, base=tmp_path))
    assert [w.get("pause_after") for w in data["waves"]] == ["15m", "15m", None]


def test_plan_text_passes_the_plan_loader(tmp_path: Path) -> None:
    """What ``validate`` checks offline accepts the written plan, gates and all."""
    inv = inventory(tmp_path)
    vcenters = [v.model_copy(update={"ca_file": None}) for v in inv.vcenters]
    vcenters[0] = vcenters[0].model_copy(
        update={"max_concurrent": 3, "max_requests_per_second": 2.5}
    )
    inv = replace(inv, vcenters=tuple(vcenters))
    options = NewPlanOptions(target="9.1.0", canary=1, approve_after_canary=True)
    text = render_plan(draft_plan(inv, options).draft, base=tmp_path)
    plan = parse_plan(text, source="new.toml", base=tmp_path)
    assert plan.name == "prod-to-9-1-0"
    assert [w.name for w in plan.waves] == ["canary", "wave-1", "wave-2"]
    assert plan.waves[1].require_approval is True
    assert plan.vcenters[0].max_concurrent == 3
    assert plan.vcenters[0].max_requests_per_second == 2.5


@given(st.text(max_size=30))
def test_toml_string_round_trips(text: str) -> None:
    """Any text, control characters and quotes included, reads back unchanged."""
    assert tomllib.loads(f"v = {toml_string(text)}")["v"] == text


@given(st.text(max_size=30))
def test_names_never_break_the_document(name: str) -> None:
    """A Supervisor name with newlines or quotes stays inside its comment."""
    inv = Inventory(
        fleet="f",
        vcenters=(
            VCenterConfig(name="vc", url="https://vc.example", username="u", password_env="P"),
        ),
        supervisors=(row("vc", "s1", name=name),),
        errors=(),
    )
    text = render_plan(draft_plan(inv, NewPlanOptions(target="9.1.0")).draft, base=Path("/"))
    data = tomllib.loads(text)
    assert data["waves"][0]["supervisors"] == [{"vcenter": "vc", "id": "s1"}]


def test_default_plan_name_fits_the_name_rules() -> None:
    """Fleet and version become a [a-z0-9-] name of at most 63 characters."""
    assert default_plan_name("prod", "9.1.0") == "prod-to-9-1-0"
    assert len(default_plan_name("x" * 80, "9.1")) <= 63
    assert format_percent(Decimal("12.50")) == "12.5"
    assert format_percent(Decimal("1E+1")) == "10"


def test_approval_without_canary_is_a_warning(tmp_path: Path) -> None:
    """--approve-after-canary with --canary 0 says it has no effect."""
    result = draft_plan(
        inventory(tmp_path), NewPlanOptions(target="9.1.0", canary=0, approve_after_canary=True)
    )
    assert result.layout.canary == ()
    assert "no effect" in result.summary()
