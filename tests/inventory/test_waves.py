"""Wave layout: canary across vCenters, balanced waves, caps, every Supervisor exactly once."""

from __future__ import annotations

from collections import Counter

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from fleetupgrade.inventory.waves import (
    Layout,
    Member,
    WaveSize,
    build_layout,
    default_canary_size,
)


def fleet(**sizes: int) -> list[Member]:
    """``fleet(a=2, b=1)``: Supervisors s00, s01 on vCenter a, s00 on b."""
    return [Member(vc, f"s{i:02}") for vc, n in sizes.items() for i in range(n)]


def test_canary_takes_one_per_vcenter_in_name_order() -> None:
    """The canary spans distinct vCenters first, lowest id of each, vCenters by name."""
    layout = build_layout(fleet(b=3, a=3, c=3), canary=2, wave_size=WaveSize(count=10))
    assert layout.canary == (Member("a", "s00"), Member("b", "s00"))


def test_canary_larger_than_vcenter_count_goes_round_robin() -> None:
    """With more canaries than vCenters, a second round starts from the first vCenter."""
    layout = build_layout(fleet(a=3, b=3), canary=3, wave_size=WaveSize(count=10))
    assert Counter(m.vcenter for m in layout.canary) == {"a": 2, "b": 1}


def test_default_canary_is_one_per_vcenter_at_most_five() -> None:
    """Default canary size: the number of vCenters, capped at five."""
    assert default_canary_size(fleet(a=4, b=4)) == 2
    assert default_canary_size(fleet(**{f"v{i}": 1 for i in range(9)})) == 5
    assert default_canary_size([]) == 0


def test_waves_are_balanced_round_robin() -> None:
    """Each wave takes vCenters in turn, the biggest backlog first."""
    layout = build_layout(fleet(a=6, b=2), canary=0, wave_size=WaveSize(count=4))
    assert [Counter(m.vcenter for m in w) for w in layout.waves] == [
        {"a": 2, "b": 2},
        {"a": 4},
    ]


def test_per_vcenter_cap_splits_waves() -> None:
    """No wave holds more than the cap of one vCenter, even when that leaves it short."""
    layout = build_layout(fleet(a=5, b=1), canary=0, wave_size=WaveSize(count=4), max_per_vcenter=2)
    assert [len(w) for w in layout.waves] == [3, 2, 1]
    for wave in layout.waves:
        assert max(Counter(m.vcenter for m in wave).values()) <= 2


def test_percent_size_is_of_the_rest_after_the_canary_rounded_up() -> None:
    """25% of the 9 left after a canary of 1 is 3 (rounded up)."""
    layout = build_layout(fleet(a=10), canary=1, wave_size=WaveSize.parse("25%"))
    assert layout.wave_size == 3
    assert [len(w) for w in layout.waves] == [3, 3, 3]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("10", WaveSize(count=10)),
        (" 25% ", WaveSize.parse("25%")),
        ("12.5%", WaveSize.parse("12.5%")),
    ],
)
def test_wave_size_parses(text: str, expected: WaveSize) -> None:
    """A count or a percentage (decimals allowed for percentages)."""
    assert WaveSize.parse(text) == expected


@pytest.mark.parametrize("text", ["0", "1.5", "0%", "101%", "ten", "-3", ""])
def test_wave_size_rejects(text: str) -> None:
    """Zero, fractions of a Supervisor, percentages outside (0, 100] and words are refused."""
    with pytest.raises(ValueError, match="wave size"):
        WaveSize.parse(text)


def test_same_input_same_layout_whatever_the_order() -> None:
    """The layout depends on the set of Supervisors only, not on their order."""
    members = fleet(a=4, b=3, c=5)
    one = build_layout(members, canary=3, wave_size=WaveSize(count=4), max_per_vcenter=2)
    two = build_layout(
        list(reversed(members)), canary=3, wave_size=WaveSize(count=4), max_per_vcenter=2
    )
    assert one == two


sizes = st.dictionaries(
    st.sampled_from(["vc-a", "vc-b", "vc-c", "vc-d", "vc-e", "vc-f"]),
    st.integers(min_value=0, max_value=12),
    max_size=6,
)
wave_sizes = st.one_of(
    st.integers(min_value=1, max_value=15).map(lambda n: WaveSize(count=n)),
    st.integers(min_value=1, max_value=100).map(lambda p: WaveSize.parse(f"{p}%")),
)


@settings(max_examples=200, deadline=None)
@given(
    sizes=sizes,
    canary=st.integers(min_value=0, max_value=8),
    size=wave_sizes,
    cap=st.one_of(st.none(), st.integers(min_value=1, max_value=5)),
)
def test_layout_invariants(
    sizes: dict[str, int], canary: int, size: WaveSize, cap: int | None
) -> None:
    """Every Supervisor in exactly one wave; no wave empty, over its size or over the cap."""
    members = fleet(**sizes)
    layout: Layout = build_layout(members, canary=canary, wave_size=size, max_per_vcenter=cap)
    placed = [m for wave in layout.all_waves for m in wave]
    assert sorted(placed) == sorted(members)
    assert len(layout.canary) <= canary
    canary_vcenters = Counter(m.vcenter for m in layout.canary)
    # the canary spans as many distinct vCenters as it can
    assert len(canary_vcenters) == min(len(layout.canary), len({m.vcenter for m in members}))
    for wave in layout.waves:
        assert 0 < len(wave) <= layout.wave_size
    for wave in layout.all_waves:
        if cap is not None:
            assert max(Counter(m.vcenter for m in wave).values()) <= cap
        assert list(wave) == sorted(wave)
