"""The plan package's shape: one-way imports, a public surface, schema in its own module."""

from __future__ import annotations

import ast
from pathlib import Path
from typing import Any

import fleetupgrade.plan
from fleetupgrade.plan import schema

PACKAGE = Path(fleetupgrade.plan.__file__).parent


def _imports(path: Path) -> set[str]:
    """Modules of ``fleetupgrade.plan`` a file imports, TYPE_CHECKING blocks included."""
    found = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.ImportFrom) and node.module:
            names = [node.module] + [f"{node.module}.{alias.name}" for alias in node.names]
        elif isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        else:
            continue
        for name in names:
            module = PACKAGE / (name.removeprefix("fleetupgrade.plan.") + ".py")
            if name == "fleetupgrade.plan":
                found.add("__init__")
            elif name.startswith("fleetupgrade.plan.") and module.exists():
                found.add(module.stem)
    return found


def _cycle(graph: dict[str, set[str]]) -> list[str] | None:
    state: dict[str, int] = {}

    def visit(node: str, trail: list[str]) -> list[str] | None:
        state[node] = 1
        for nxt in sorted(graph.get(node, ())):
            if state.get(nxt) == 1:
                return [*trail, node, nxt]
            if nxt not in state and (found := visit(nxt, [*trail, node])):
                return found
        state[node] = 2
        return None

    for node in sorted(graph):
        if node not in state and (found := visit(node, [])):
            return found
    return None


def test_no_import_cycle_inside_the_package() -> None:
    """No module of fleetupgrade.plan imports (even for type checking) one that imports it."""
    graph = {path.stem: _imports(path) - {path.stem} for path in PACKAGE.glob("*.py")}
    assert _cycle(graph) is None, _cycle(graph)
    assert "credentials" not in graph["model"]
    assert "__init__" not in set().union(*(v for k, v in graph.items() if k != "__init__"))


def test_public_names_are_exported() -> None:
    """fleetupgrade.plan exports what the engine and the CLI call, and nothing is missing."""
    expected = {
        "Plan",
        "Wave",
        "Threshold",
        "NotifyConfig",
        "ResolvedNotifyTarget",
        "load_plan",
        "parse_plan",
        "plan_json_schema",
        "resolve_credentials",
        "resolve_notify_targets",
        "credential_issues",
        "password_file_too_open",
    }
    assert expected <= set(fleetupgrade.plan.__all__)
    for name in fleetupgrade.plan.__all__:
        assert hasattr(fleetupgrade.plan, name), name


def test_schema_lives_in_its_own_module() -> None:
    """plan_json_schema is defined in fleetupgrade.plan.schema and re-exported."""
    assert fleetupgrade.plan.plan_json_schema is schema.plan_json_schema
    assert schema.plan_json_schema.__module__ == "fleetupgrade.plan.schema"


def test_schema_knows_the_new_keys() -> None:
    """The schema has notify, change_ref, the failure gate and its not-both rules."""
    generated = schema.plan_json_schema()
    assert set(generated["properties"]) >= {"change_ref", "notify", "waves"}
    assert "waves" not in generated["required"]  # fleet files have none
    wave = generated["$defs"]["Wave"]
    assert {"not": {"required": ["max_failures", "max_failure_percent"]}} in wave["allOf"]
    assert wave["properties"]["max_upgrade_failures"]["deprecated"] is True
    notify = generated["$defs"]["NotifyConfig"]
    assert notify["oneOf"] == [{"required": ["url"]}, {"required": ["url_env"]}]
    assert generated["$defs"]["Defaults"]["properties"]["health_timeout"]["default"] == "15m"
    assert generated["$defs"]["Window"]["properties"]["admission"]["default"] == "fit"


def _keys(generated: dict[str, Any]) -> set[str]:
    """Every key a plan may hold, from the schema's top level and each table."""
    keys: set[str] = set(generated["properties"])
    for model in generated["$defs"].values():
        keys |= set(model.get("properties", {}))
    return keys


def test_example_plan_and_docs_show_every_key() -> None:
    """plans/example.toml shows every key (set or commented) and docs/plan.md names it."""
    root = PACKAGE.parents[1]
    example = (root / "plans" / "example.toml").read_text(encoding="utf-8")
    docs = (root / "docs" / "plan.md").read_text(encoding="utf-8")
    for key in sorted(_keys(schema.plan_json_schema())):
        assert any(form in example for form in (f"{key} =", f"[{key}]", f"[[{key}]]")), key
        assert any(
            f"`{form}" in docs for form in (f"{key}`", f"{key} ", f"[{key}]", f"[[{key}]]")
        ), key
