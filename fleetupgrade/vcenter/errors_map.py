"""Error answers → our exceptions: the vAPI error body, or the HTTP status when there is none.

Why a module of its own: the mapping is the one place where the contract's tables
(docs/wire.md §2) become code, so it is tested against every row of them.

* A JSON object with a string ``error_type`` is a vAPI error: its kind is kept verbatim
  (also a kind this version does not know) with the ``default_message`` texts.
* A body that is missing, not JSON, or JSON without ``error_type`` (proxies and load
  balancers answer 429/502/504 that way) is classified by HTTP status with the runtime's
  client-side reverse map (§2.2); statuses outside that map fall back to ``ERROR`` (5xx)
  or ``INVALID_REQUEST`` (4xx) — our decision, documented here.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from fleetupgrade.errors import APIError

__all__ = [
    "ERROR_TYPE_STATUS",
    "STATUS_TO_ERROR_TYPE",
    "ErrorAnswer",
    "api_error",
    "is_json_media_type",
    "parse_error_answer",
]

# §2.2: error_type → the HTTP status the server runtime answers with (ours for the ¹ rows).
ERROR_TYPE_STATUS: Mapping[str, int] = {
    "ALREADY_EXISTS": 400,
    "ALREADY_IN_DESIRED_STATE": 400,
    "CANCELED": 500,
    "CONCURRENT_CHANGE": 409,
    "ERROR": 500,
    "FEATURE_IN_USE": 400,
    "INTERNAL_SERVER_ERROR": 500,
    "INVALID_ARGUMENT": 400,
    "INVALID_ELEMENT_CONFIGURATION": 400,
    "INVALID_ELEMENT_TYPE": 400,
    "INVALID_REQUEST": 400,
    "NOT_ALLOWED_IN_CURRENT_STATE": 400,
    "NOT_FOUND": 404,
    "OPERATION_NOT_FOUND": 404,
    "RESOURCE_BUSY": 400,
    "RESOURCE_IN_USE": 400,
    "RESOURCE_INACCESSIBLE": 400,
    "SERVICE_UNAVAILABLE": 503,
    "TIMED_OUT": 504,
    "UNABLE_TO_ALLOCATE_RESOURCE": 400,
    "UNAUTHENTICATED": 401,
    "UNAUTHORIZED": 403,
    "UNEXPECTED_INPUT": 400,
    "UNSUPPORTED": 400,
    "UNVERIFIED_PEER": 500,
}


def _reverse(groups: Mapping[str, tuple[int, ...]]) -> dict[int, str]:
    return {status: kind for kind, statuses in groups.items() for status in statuses}


# §2.2: the runtime's client-side reverse map, for answers without a vAPI body.
STATUS_TO_ERROR_TYPE: Mapping[int, str] = _reverse(
    {
        "INVALID_REQUEST": (
            400, 405, 406, 411, 412, 413, 414, 415, 417, 422, 424, 426, 431, 505, 510,
        ),
        "UNAUTHENTICATED": (401, 407, 511),
        "UNAUTHORIZED": (402, 403),
        "NOT_FOUND": (404, 410),
        "TIMED_OUT": (408, 504),
        "CONCURRENT_CHANGE": (409, 428),
        "RESOURCE_INACCESSIBLE": (416,),
        "ERROR": (418, 501),
        "RESOURCE_BUSY": (423,),
        "SERVICE_UNAVAILABLE": (429, 503),
        "INTERNAL_SERVER_ERROR": (500, 506, 508),
        "UNABLE_TO_ALLOCATE_RESOURCE": (507, 509),
    }
)  # fmt: skip


@dataclass(frozen=True, slots=True)
class ErrorAnswer:
    """What an error answer says: kind, texts and their ids, and whether it was a vAPI body."""

    error_type: str
    status: int
    messages: tuple[str, ...]
    vapi_body: bool
    message_ids: tuple[str, ...] = ()


def _by_status(status: int) -> str:
    if status in STATUS_TO_ERROR_TYPE:
        return STATUS_TO_ERROR_TYPE[status]
    return "ERROR" if status >= 500 else "INVALID_REQUEST"


def _message_fields(messages: Any, key: str) -> tuple[str, ...]:
    """One text field (``default_message``, ``id``) of each well-formed message, in order."""
    if not isinstance(messages, list):
        return ()
    return tuple(
        item[key] for item in messages if isinstance(item, dict) and isinstance(item.get(key), str)
    )


def is_json_media_type(content_type: str | None) -> bool:
    """Tell whether a Content-Type is JSON as the contract allows (absent counts as JSON)."""
    if content_type is None:
        return True  # the contract allows an absent Content-Type
    media = content_type.split(";", 1)[0].strip().lower()
    return media == "application/json" or (
        media.startswith("application/") and media.endswith("+json")
    )


def parse_error_answer(status: int, content_type: str | None, body: bytes) -> ErrorAnswer:
    """Read an error answer; never fails, whatever the body holds."""
    document: Any = None
    if body.strip() and is_json_media_type(content_type):
        try:
            document = json.loads(body)
        except ValueError:
            document = None
    if isinstance(document, dict):
        texts = _message_fields(document.get("messages"), "default_message")
        kind = document.get("error_type")
        if isinstance(kind, str) and kind:
            ids = _message_fields(document.get("messages"), "id")
            return ErrorAnswer(kind, status, texts, vapi_body=True, message_ids=ids)
        return ErrorAnswer(_by_status(status), status, texts, vapi_body=False)
    return ErrorAnswer(_by_status(status), status, (), vapi_body=False)


def api_error(vcenter: str, operation: str, answer: ErrorAnswer) -> APIError:
    """Build the :class:`APIError` for an error answer to ``operation``."""
    return APIError(
        vcenter,
        error_type=answer.error_type,
        status=answer.status,
        messages=answer.messages,
        operation=operation,
    )
