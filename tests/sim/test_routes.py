"""The route table: each operation's signature fits how the one handler calls it."""

from __future__ import annotations

import inspect
import re

import pytest

from fleetupgrade.sim.app import ROUTES, Route


@pytest.mark.parametrize("route", ROUTES, ids=lambda r: f"{r.method} {r.path}")
def test_operation_takes_what_the_handler_passes(route: Route) -> None:
    """self, the session iff as_user, one argument per path parameter, then the input."""
    names = list(inspect.signature(route.operation).parameters)
    path_params = re.findall(r"{(\w+)}", route.path)
    expected_len = 1 + route.as_user + len(path_params) + 1
    assert len(names) == expected_len, names
    assert names[0] == "self"
    assert (names[1] == "session") == route.as_user
    assert names[-1] == "raw"


def test_void_operations_answer_204() -> None:
    """Exactly the operations returning None are answered without a body."""
    for route in ROUTES:
        returns = inspect.signature(route.operation).return_annotation
        assert (returns in ("None", None)) == (route.status == 204), route
