"""Import hygiene of the simulator: no cycle, no sibling through ``__init__``, core only."""

from __future__ import annotations

from pathlib import Path

import pytest

import fleetupgrade
from tests.import_graph import describe_cycles, import_cycles, import_graph

PACKAGE = Path(fleetupgrade.__file__).resolve().parent
SIM = PACKAGE / "sim"
#: The shared core the simulator may use; never the client, the engine or the plan.
ALLOWED_CORE = {"fleetupgrade.errors", "fleetupgrade.durations", "fleetupgrade.timefmt"}


def test_sim_import_graph_is_acyclic() -> None:
    """No import cycle among the simulator's modules (counting imports through __init__)."""
    cycles = import_cycles(import_graph(SIM))
    assert not cycles, describe_cycles(cycles)


def test_sim_modules_import_siblings_directly() -> None:
    """No simulator module imports from the package itself: __init__ only re-exports."""
    graph = import_graph(SIM)
    through_init = sorted(m for m, targets in graph.items() if "fleetupgrade.sim" in targets)
    assert through_init == []


def test_sim_imports_only_the_shared_core() -> None:
    """Outside sim/, the simulator imports only errors, durations and timefmt."""
    graph = import_graph(PACKAGE)
    outside = {
        target
        for module, targets in graph.items()
        if module == "fleetupgrade.sim" or module.startswith("fleetupgrade.sim.")
        for target in targets
        if target != "fleetupgrade.sim" and not target.startswith("fleetupgrade.sim.")
    }
    assert outside <= ALLOWED_CORE, sorted(outside - ALLOWED_CORE)


def _package(root: Path, files: dict[str, str]) -> Path:
    """Write a throw-away package ``pkg`` under ``root``."""
    package = root / "pkg"
    for name, text in {"__init__.py": "", **files}.items():
        path = package / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    return package


@pytest.mark.parametrize(
    ("files", "through_init", "expected"),
    [
        pytest.param(
            {"__init__.py": "from pkg.a import x\n", "a.py": "from pkg import b\n", "b.py": ""},
            True,
            [["pkg", "pkg.a"]],
            id="sibling-through-init",
        ),
        pytest.param(
            {"__init__.py": "from pkg.a import x\n", "a.py": "from pkg import b\n", "b.py": ""},
            False,
            [],
            id="submodule-only",
        ),
        pytest.param(
            {"a.py": "from .b import y\n", "b.py": "def f():\n    from . import a\n"},
            True,
            [["pkg.a", "pkg.b"]],
            id="relative-and-deferred",
        ),
        pytest.param(
            {
                "a.py": "from pkg.b import y\n",
                "b.py": "from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n    import pkg.a\n",
            },
            True,
            [],
            id="type-checking-skipped",
        ),
        pytest.param(
            {
                "sub/__init__.py": "",
                "sub/c.py": "from ..d import z\n",
                "d.py": "import pkg.sub.c\n",
            },
            True,
            [["pkg.d", "pkg.sub.c"]],
            id="nested-package",
        ),
    ],
)
def test_import_graph_helper_finds_cycles(
    tmp_path: Path, files: dict[str, str], through_init: bool, expected: list[list[str]]
) -> None:
    """The graph helper reports exactly the cycles the source contains."""
    package = _package(tmp_path, files)
    assert import_cycles(import_graph(package, through_init=through_init)) == expected


def test_import_graph_helper_rejects_a_non_package(tmp_path: Path) -> None:
    """A directory without __init__.py is refused with a clear message."""
    with pytest.raises(ValueError, match="is not a package"):
        import_graph(tmp_path)
