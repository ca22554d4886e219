"""Version order: numeric dot by dot, text otherwise."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from fleetupgrade.versions import compare_versions, is_at_least


@pytest.mark.parametrize(
    ("left", "right", "expected"),
    [
        ("9.10.0", "9.9.0", 1),
        ("9.1", "9.1.0", 0),
        ("9.0.0", "9.1.0", -1),
        ("9.1.0.24500000", "9.1.0.9", 1),
        ("9.1.0-rc1", "9.1.0-rc2", -1),  # not all digits: text order
        ("abc", "abc", 0),
    ],
)
def test_compare(left: str, right: str, expected: int) -> None:
    """Numbers compare as numbers, missing parts are zeros, other versions as text."""
    assert compare_versions(left, right) == expected


def test_is_at_least_means_target_or_newer() -> None:
    """At the target or newer: nothing to upgrade."""
    assert is_at_least("9.1.0", "9.1.0")
    assert is_at_least("9.2.0", "9.1.0")
    assert not is_at_least("9.0.9", "9.1.0")


dotted = st.lists(st.integers(min_value=0, max_value=10_000), min_size=1, max_size=5).map(
    lambda parts: ".".join(map(str, parts))
)
versions = st.one_of(dotted, st.text(alphabet="0123456789.abc-", min_size=1, max_size=8))


@given(versions, versions)
def test_antisymmetric(a: str, b: str) -> None:
    """Swapping the sides flips the sign."""
    assert compare_versions(a, b) == -compare_versions(b, a)


@given(dotted, dotted)
def test_numeric_matches_integer_tuples(a: str, b: str) -> None:
    """For dotted numbers the order is the order of zero-padded integer tuples."""
    ta, tb = [int(x) for x in a.split(".")], [int(x) for x in b.split(".")]
    width = max(len(ta), len(tb))
    ta += [0] * (width - len(ta))
    tb += [0] * (width - len(tb))
    assert compare_versions(a, b) == (ta > tb) - (ta < tb)
