"""Request input of every operation: query strings, JSON bodies (also on GET), validation.

docs/wire.md (Transport; what the vendor SDK sends): a filter may come as query parameters
(reference form, flattened, list values repeated) or as a JSON body on the GET (the SDK
form: ``{"filter_spec": …}``, ``{"filter": …}``, ``{"spec": …}``, ``{}`` or ``null``);
when both are present the query string wins. Unknown keys answer 400 UNEXPECTED_INPUT,
ill-typed or malformed input 400 INVALID_ARGUMENT — the strict pydantic models below are
the schema.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from functools import cache
from types import UnionType
from typing import Annotated, Any, Literal, TypeVar, Union, get_args, get_origin

from multidict import MultiMapping
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from fleetupgrade.sim.scenario import format_location
from fleetupgrade.sim.wire import ApiError, Message

Kind = Literal["str", "list", "bool"]
#: query parameter → (wrapper key in the body form, or None for a top-level key; kind)
QueryFields = Mapping[str, tuple[str | None, Kind]]
M = TypeVar("M", bound=BaseModel)
TaskStatus = Literal["PENDING", "RUNNING", "BLOCKED", "SUCCEEDED", "FAILED"]


@dataclass(frozen=True, slots=True)
class RawInput:
    """What an operation received: its query parameters and its raw body."""

    query: MultiMapping[str]
    body: bytes


class _Input(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True, frozen=True)


class _QueryInput(_Input):
    """An input the reference may also send flattened into the query string.

    Its own scalar fields and those of its sub-structures, without prefix (docs/wire.md,
    Transport); :func:`query_fields` derives the parameters, so they follow the model.
    """


class NoInput(_Input):
    """Operations without parameters accept only an empty body, ``{}`` or ``null``."""


class UpgradesFilter(_Input):
    """``Upgrades.FilterSpec``."""

    supervisors: list[str] | None = None


class UpgradesListInput(_QueryInput):
    """Upgrades.list input."""

    filter_spec: UpgradesFilter | None = None


class SummaryFilter(_Input):
    """``Summary.FilterSpec``."""

    config_status: Literal["CONFIGURING", "REMOVING", "RUNNING", "ERROR"] | None = None
    kubernetes_status: Literal["READY", "WARNING", "ERROR"] | None = None


class SummaryListInput(_QueryInput):
    """Summary.list input."""

    filter: SummaryFilter | None = None


class VersionsFilter(_Input):
    """``Versions.FilterSpec``."""

    cluster_compute_resource: str | None = None
    zones: list[str] | None = None
    network_provider: Literal["NSXT_CONTAINER_PLUGIN", "VSPHERE_NETWORK", "NSX_VPC"] | None = None


class VersionsListInput(_QueryInput):
    """Versions.list input."""

    filter: VersionsFilter | None = None


class CompatibilitySpec(_Input):
    """``CheckCompatibilitySpec``: at most one of its three fields."""

    cluster: str | None = None
    supervisor: str | None = None
    zones: list[str] | None = None


class CompatibilityInput(_QueryInput):
    """Versions.check_compatibility input."""

    spec: CompatibilitySpec | None = None


class PrechecksFilter(_Input):
    """Prechecks ``FilterSpec``."""

    target_version: str | None = None


class PrechecksGetInput(_QueryInput):
    """Prechecks.get input: the bare FilterSpec (SDK) or ``{"filter": …}``."""

    target_version: str | None = None
    filter: PrechecksFilter | None = None

    @model_validator(mode="after")
    def _one_form(self) -> PrechecksGetInput:
        if self.target_version is not None and self.filter is not None:
            raise ValueError("give target_version either bare or inside filter, not both")
        return self

    def version(self) -> str | None:
        """The requested target version, whichever form carried it."""
        return self.filter.target_version if self.filter is not None else self.target_version


class PrecheckSpec(_Input):
    """``PrecheckSpec`` (the body of Prechecks.run)."""

    target_version: Annotated[str, Field(min_length=1)]


class CreateSpec(_Input):
    """``Jobs.CreateSpec`` (the body of Jobs.create)."""

    desired_version: Annotated[str, Field(min_length=1)]
    ignore_precheck_warnings: bool | None = None


class TaskGetSpec(_Input):
    """``Tasks.GetSpec``."""

    return_all: bool | None = None
    exclude_result: bool | None = None


class TaskGetInput(_QueryInput):
    """Tasks.get input."""

    spec: TaskGetSpec | None = None


class DynamicId(_Input):
    """``DynamicID``."""

    type: str
    id: str


class TaskFilter(_Input):
    """``Tasks.FilterSpec``."""

    tasks: list[str] | None = None
    services: list[str] | None = None
    operations: list[str] | None = None
    users: list[str] | None = None
    status: list[TaskStatus] | None = None
    targets: list[DynamicId] | None = None


class TasksListInput(_QueryInput):
    """Tasks.list input."""

    filter_spec: TaskFilter | None = None
    result_spec: TaskGetSpec | None = None


def invalid(text: str, *args: str) -> ApiError:
    """400 INVALID_ARGUMENT with one message."""
    return ApiError("INVALID_ARGUMENT", Message("vapi.method.input.invalid", text, args))


def unexpected(names: list[str]) -> ApiError:
    """400 UNEXPECTED_INPUT naming the unknown fields."""
    listed = ", ".join(repr(n) for n in names)
    return ApiError(
        "UNEXPECTED_INPUT",
        Message(
            "vapi.method.input.unexpected", f"Unexpected field(s) in input: {listed}.", tuple(names)
        ),
    )


def parse_json(body: bytes) -> Any:
    """The JSON value of a body (``None`` when empty); bad JSON is INVALID_ARGUMENT."""
    if not body.strip():
        return None
    try:
        return json.loads(body)
    except (ValueError, UnicodeDecodeError) as exc:
        raise invalid(f"The request body is not valid JSON: {exc}.") from None


@cache
def query_fields(model: type[BaseModel]) -> QueryFields:
    """The query parameters ``model`` accepts: none unless it is a query input.

    A sub-structure's fields go under its key; a name is taken by the first field that
    offers it (Prechecks.get: the bare ``target_version``). Fields a query string cannot
    carry (structures, lists of them) are left to the body form.
    """
    fields: dict[str, tuple[str | None, Kind]] = {}
    if not issubclass(model, _QueryInput):
        return fields
    nested: list[tuple[str, str | None, Kind | None]]
    for name, info in model.model_fields.items():
        inner = _present(info.annotation)
        if isinstance(inner, type) and issubclass(inner, BaseModel):
            nested = [(sub, name, _kind(i.annotation)) for sub, i in inner.model_fields.items()]
        else:
            nested = [(name, None, _kind(info.annotation))]
        for key, wrapper, kind in nested:
            if kind is not None:
                fields.setdefault(key, (wrapper, kind))
    return fields


def _present(annotation: Any) -> Any:
    """``X | None`` → ``X`` (an optional field's type)."""
    if get_origin(annotation) in (Union, UnionType):
        args = [a for a in get_args(annotation) if a is not type(None)]
        if len(args) == 1:
            return args[0]
    return annotation


def _kind(annotation: Any) -> Kind | None:
    """How a field travels in a query string, or ``None`` when it cannot."""
    value = _present(annotation)
    if value is bool:
        return "bool"
    if _is_text(value):
        return "str"
    if get_origin(value) is list and _is_text(get_args(value)[0]):
        return "list"
    return None


def _is_text(annotation: Any) -> bool:
    return annotation is str or get_origin(annotation) is Literal


def _from_query(raw: RawInput, params: list[str], fields: QueryFields) -> dict[str, Any]:
    data: dict[str, Any] = {}
    for name in params:
        wrapper, kind = fields[name]
        values = raw.query.getall(name)
        value: Any
        if kind == "list":
            value = list(values)
        elif len(values) != 1:
            raise invalid(f"Query parameter {name!r} is given more than once.", name)
        elif kind == "bool":
            if values[0].lower() not in ("true", "false"):
                raise invalid(f"Query parameter {name!r} must be true or false.", name)
            value = values[0].lower() == "true"
        else:
            value = values[0]
        if wrapper is None:
            data[name] = value
        else:
            data.setdefault(wrapper, {})[name] = value
    return data


def parse_input(
    model: type[M],
    raw: RawInput,
    *,
    dispatch: frozenset[str] = frozenset({"action"}),
) -> M:
    """Validate an operation's input from its query string (wins) or its JSON body."""
    fields = query_fields(model)
    params = [name for name in raw.query if name not in dispatch]
    params = list(dict.fromkeys(params))
    unknown = [name for name in params if name not in fields]
    if unknown:
        raise unexpected(unknown)
    if params:
        data: Any = _from_query(raw, params, fields)
    else:
        data = parse_json(raw.body)
        if data is None:
            data = {}
    if not isinstance(data, dict):
        raise invalid("The request body must be a JSON object.")
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        errors = exc.errors(include_url=False)
        extra = [format_location(e["loc"]) for e in errors if e["type"] == "extra_forbidden"]
        if extra:
            raise unexpected(extra) from None
        first = errors[0]
        where = format_location(first["loc"]) or "input"
        raise invalid(f"Invalid value for {where!r}: {first['msg']}.", where) from None
