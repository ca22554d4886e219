"""Reading answers: status check, JSON media type, and parsing into wire models.

Why a module of its own: every operation reads its answer the same way, and every way an
answer can be off the contract must end as the same clear exception — APIError for an
error status, :class:`~fleetupgrade.errors.MalformedResponse` naming the operation and the
field otherwise. Nothing here does I/O.
"""

from __future__ import annotations

from typing import TypeVar

from pydantic import BaseModel, TypeAdapter, ValidationError

from fleetupgrade.errors import MalformedResponse
from fleetupgrade.vcenter.errors_map import api_error, is_json_media_type, parse_error_answer
from fleetupgrade.vcenter.models import TaskInfo, TaskListForms, task_map
from fleetupgrade.vcenter.transport import Response

__all__ = ["malformed", "parse_model", "parse_string", "parse_tasks", "raise_for_status"]

M = TypeVar("M", bound=BaseModel)

_TASKS = TypeAdapter[TaskListForms](TaskListForms)
_STRING = TypeAdapter(str)


def raise_for_status(vcenter: str, response: Response, operation: str) -> None:
    """Raise the APIError of a non-2xx answer."""
    if not response.ok:
        answer = parse_error_answer(response.status, response.content_type, response.body)
        raise api_error(vcenter, operation, answer)


def malformed(vcenter: str, operation: str, detail: str) -> MalformedResponse:
    """Build the error for an answer off the contract."""
    return MalformedResponse(
        vcenter, f"{operation}: answer does not match the wire contract: {detail}"
    )


def _summary(error: ValidationError) -> str:
    parts = []
    for item in error.errors(include_url=False, include_input=False)[:3]:
        where = ".".join(str(part) for part in item["loc"]) or "(answer)"
        parts.append(f"{where}: {item['msg']}")
    more = error.error_count() - len(parts)
    return "; ".join(parts) + (f"; and {more} more" if more > 0 else "")


def _check_json(vcenter: str, response: Response, operation: str) -> None:
    if not is_json_media_type(response.content_type):
        raise malformed(vcenter, operation, f"Content-Type {response.content_type!r}")


def parse_model(vcenter: str, model: type[M], response: Response, operation: str) -> M:
    """Check the status and media type, then validate the body into ``model``."""
    raise_for_status(vcenter, response, operation)
    _check_json(vcenter, response, operation)
    try:
        return model.model_validate_json(response.body)
    except ValidationError as exc:
        raise malformed(vcenter, operation, _summary(exc)) from exc


def parse_tasks(vcenter: str, response: Response, operation: str) -> dict[str, TaskInfo]:
    """Read a cis tasks list answer (either of its two forms)."""
    raise_for_status(vcenter, response, operation)
    _check_json(vcenter, response, operation)
    try:
        return task_map(_TASKS.validate_json(response.body))
    except ValidationError as exc:
        raise malformed(vcenter, operation, _summary(exc)) from exc


def parse_string(vcenter: str, response: Response, operation: str, what: str) -> str:
    """Read a 2xx answer that must be a non-empty JSON string (a session or task id)."""
    _check_json(vcenter, response, operation)
    try:
        value = _STRING.validate_json(response.body, strict=True)
    except ValidationError as exc:
        raise malformed(vcenter, operation, f"{what} must be a JSON string") from exc
    if not value:
        raise malformed(vcenter, operation, f"{what} is empty")
    return value
