"""Wire primitives of docs/wire.md: messages, conditions, vAPI error bodies and statuses.

Everything the simulator puts on the wire is built from these few helpers, straight from
the contract (never from the client's models), so a schema mistake cannot hide by being
mirrored on both sides. Optional fields are omitted when unset, never sent as null.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Final, Literal

JSON = dict[str, Any]
Severity = Literal["INFO", "WARNING", "ERROR"]
ConditionStatus = Literal["TRUE", "FALSE", "UNKNOWN"]

#: docs/wire.md, Error responses (and its notes for the kinds the runtime map lacks).
ERROR_STATUS: Final[dict[str, int]] = {
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
CHALLENGE: Final = 'Basic realm="VMware vCenter Server"'


@dataclass(frozen=True, slots=True)
class Message:
    """A LocalizableMessage: stable id, English text, its string arguments."""

    id: str
    text: str
    args: tuple[str, ...] = ()

    def to_json(self) -> JSON:
        """``{"id", "default_message", "args"}`` — ``args`` is required, even when empty."""
        return {"id": self.id, "default_message": self.text, "args": list(self.args)}


@dataclass(frozen=True, slots=True)
class Note:
    """A message with a severity: ``Upgrades.Message`` on the wire."""

    severity: Severity
    message: Message

    def to_json(self) -> JSON:
        """``Upgrades.Message``: severity and details, both required."""
        return {"severity": self.severity, "details": self.message.to_json()}


class ApiError(Exception):
    """A vAPI standard error answer; raised by operations, rendered by the app."""

    def __init__(self, error_type: str, *messages: Message) -> None:
        if error_type not in ERROR_STATUS:
            raise ValueError(f"unknown error_type {error_type}")
        super().__init__(error_type, messages)
        self.error_type = error_type
        self.messages = messages

    @property
    def status(self) -> int:
        """The HTTP status the contract maps this kind to."""
        return ERROR_STATUS[self.error_type]

    def body(self) -> JSON:
        """The vAPI error body; ``challenge`` only on UNAUTHENTICATED."""
        return error_body(self.error_type, self.messages)


def error_body(error_type: str, messages: Sequence[Message]) -> JSON:
    """A vAPI standard error body: ``error_type`` always, ``messages`` (maybe empty)."""
    body: JSON = {"error_type": error_type, "messages": [m.to_json() for m in messages]}
    if error_type == "UNAUTHENTICATED":
        body["challenge"] = CHALLENGE
    return body


def condition(
    *,
    type_: str,
    description: Message,
    status: ConditionStatus,
    severity: Severity,
    reason: str = "",
    last_transition_time: str | None = None,
    messages: Sequence[tuple[Severity, Message]] = (),
) -> JSON:
    """A ``Clusters.Condition``; ``messages`` are ``Clusters.Message`` s."""
    out: JSON = {
        "type": type_,
        "description": description.to_json(),
        "status": status,
        "reason": reason,
        "severity": severity,
        "messages": [
            {"severity": sev, "details": msg.to_json(), "id": msg.id} for sev, msg in messages
        ],
    }
    if last_transition_time is not None:
        out["last_transition_time"] = last_transition_time
    return out


def camel_case(identifier: str) -> str:
    """``tkc.compat`` → ``TkcCompat``: the CamelCase ``type`` of a precheck condition."""
    parts = [p for p in _split(identifier) if p]
    return "".join(p[:1].upper() + p[1:] for p in parts) or "Precheck"


def _split(identifier: str) -> list[str]:
    out, current = [], ""
    for char in identifier:
        if char.isalnum():
            current += char
        else:
            out.append(current)
            current = ""
    out.append(current)
    return out


AUTH_REQUIRED: Final = Message(
    "com.vmware.vapi.endpoint.method.authentication.required", "Authentication required."
)
