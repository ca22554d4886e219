"""The plan's JSON Schema, for editors (taplo, Even Better TOML) to flag mistakes as typed.

Generated from the models so it cannot drift from what ``validate`` accepts, then adjusted
to speak TOML: no ``null`` (an optional key is simply absent), durations as plan strings
(``"30s"``, not ISO 8601), and the "exactly one of" / "not both" rules JSON Schema can
express. References and duplicates it cannot say; ``validate`` does.
``plans/plan.schema.json`` is this output, committed (a test keeps them equal).
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from pydantic.json_schema import GenerateJsonSchema

from fleetupgrade.durations import format_duration
from fleetupgrade.plan.model import Plan

__all__ = ["plan_json_schema"]


def _without_null(node: Any) -> Any:
    """TOML has no null: ``X | None`` means "key absent", so the schema offers only X."""
    if isinstance(node, list):
        return [_without_null(item) for item in node]
    if not isinstance(node, dict):
        return node
    node = {key: _without_null(value) for key, value in node.items()}
    options = node.get("anyOf")
    if isinstance(options, list) and {"type": "null"} in options:
        rest = [option for option in options if option != {"type": "null"}]
        del node["anyOf"]
        node = {**rest[0], **node} if len(rest) == 1 else {"anyOf": rest, **node}
    if node.get("default", 0) is None:
        del node["default"]
    return node


class _TomlSchema(GenerateJsonSchema):
    """Defaults as a plan spells them: ``"30s"``, not ISO 8601 ``"PT30S"``."""

    def encode_default(self, dft: Any) -> Any:
        """Durations in plan syntax; everything else as pydantic encodes it."""
        if isinstance(dft, timedelta):
            return format_duration(dft)
        return super().encode_default(dft)


def _one_of(*keys: str) -> dict[str, Any]:
    return {"oneOf": [{"required": [key]} for key in keys]}


def _not_both(*pairs: tuple[str, str]) -> dict[str, Any]:
    return {"allOf": [{"not": {"required": list(pair)}} for pair in pairs]}


def plan_json_schema() -> dict[str, Any]:
    """The JSON Schema of the TOML a plan file holds (for editors such as taplo)."""
    schema: dict[str, Any] = _without_null(
        Plan.model_json_schema(mode="validation", schema_generator=_TomlSchema)
    )
    defs = schema["$defs"]
    defs["SupervisorRef"].update(_one_of("id", "name"))
    defs["VCenterConfig"]["allOf"] = [
        _one_of("username", "username_env"),
        _one_of("password_env", "password_file"),
    ]
    defs["NotifyConfig"].update(_one_of("url", "url_env"))
    defs["Wave"].update(
        _not_both(
            ("max_precheck_errors", "max_precheck_error_percent"),
            ("max_failures", "max_failure_percent"),
            ("max_upgrade_failures", "max_failures"),
            ("max_upgrade_failures", "max_failure_percent"),
        )
    )
    defs["Wave"]["properties"]["max_upgrade_failures"]["deprecated"] = True
    defs["Defaults"].update(
        _not_both(
            ("max_failures", "max_failure_percent"),
            ("expected_upgrade_duration", "expected_upgrade_duration_per_node"),
        )
    )
    schema["$schema"] = "https://json-schema.org/draft/2020-12/schema"
    schema["title"] = "fleetupgrade plan"
    return schema
