"""The bytes and headers of one notification, built once and sent as is on every retry.

Why: a receiver that verifies signatures or deduplicates retries needs the exact same
body, signature and delivery id on each attempt, so a :class:`Delivery` is computed when
the event is emitted and never rebuilt. The payload formats are documented for receivers
in ``docs/notify.md``.

* ``json``: one object with fixed keys (``null`` where a key does not apply)::

    {"event", "run_id", "plan", "wave", "result", "counts", "simulated", "report",
     "summary", "delivery_id", "at"}

* ``slack``: ``{"text": "<one line>"}`` (Slack incoming-webhook shape), plain text.

Headers: ``Content-Type: application/json``, ``User-Agent: fleetupgrade/<version>``,
``X-Fleetupgrade-Event``, ``X-Fleetupgrade-Delivery`` (a uuid4) and, with a secret,
``X-Fleetupgrade-Signature: sha256=<hex HMAC-SHA256 of the body bytes>``.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from fleetupgrade import __version__
from fleetupgrade.emit import EventFields
from fleetupgrade.notify.target import NotifyTarget, RunInfo
from fleetupgrade.timefmt import format_instant

__all__ = ["Delivery", "EventData", "build_delivery", "sign", "slack_text"]

USER_AGENT = f"fleetupgrade/{__version__}"
SIGNATURE_HEADER = "X-Fleetupgrade-Signature"
EVENT_HEADER = "X-Fleetupgrade-Event"
DELIVERY_HEADER = "X-Fleetupgrade-Delivery"


@dataclass(frozen=True, slots=True)
class EventData:
    """One emitted event of one run, the same for every target it goes to."""

    event: str
    at: datetime
    run: RunInfo
    fields: EventFields


@dataclass(frozen=True, slots=True)
class Delivery:
    """One event for one target, ready to post: identical bytes on every attempt."""

    target: str
    event: str
    delivery_id: str
    body: bytes
    headers: Mapping[str, str]


def sign(secret: bytes, body: bytes) -> str:
    """The signature header value: ``sha256=`` and the hex HMAC-SHA256 of ``body``."""
    return "sha256=" + hmac.new(secret, body, hashlib.sha256).hexdigest()


def _one_line(text: str) -> str:
    return " ".join(text.split())


def _slack_escape(text: str) -> str:
    # Slack reads &, < and > as markup (links, mentions); plain text must escape them.
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def slack_text(data: EventData) -> str:
    """One plain-text line: ``[SIMULATED] plan q4: wave canary halted — … (run <id>)``."""
    prefix = "[SIMULATED] " if data.run.simulated else ""
    run = f" (run {data.run.run_id})" if data.run.run_id else ""
    return _slack_escape(_one_line(f"{prefix}plan {data.run.plan}: {data.fields['summary']}{run}"))


def _json_body(data: EventData, delivery_id: str) -> dict[str, Any]:
    report, counts = data.run.report_path, data.fields.get("counts")
    return {
        "event": data.event,
        "run_id": data.run.run_id,
        "plan": data.run.plan,
        "wave": data.fields.get("wave"),
        "result": data.fields.get("result"),
        "counts": dict(counts) if counts is not None else None,
        "simulated": data.run.simulated,
        "report": str(report) if report is not None else None,
        "summary": data.fields["summary"],
        "delivery_id": delivery_id,
        "at": format_instant(data.at),
    }


def build_delivery(target: NotifyTarget, data: EventData) -> Delivery:
    """Render ``data`` in the target's format, with a fresh delivery id and its signature."""
    delivery_id = str(uuid.uuid4())
    document: dict[str, Any]
    if target.format == "slack":
        document = {"text": slack_text(data)}
    else:
        document = _json_body(data, delivery_id)
    body = json.dumps(document, ensure_ascii=False, separators=(",", ":")).encode()
    headers = {
        "Content-Type": "application/json",
        "User-Agent": USER_AGENT,
        EVENT_HEADER: data.event,
        DELIVERY_HEADER: delivery_id,
    }
    if target.secret is not None:
        headers[SIGNATURE_HEADER] = sign(target.secret, body)
    return Delivery(
        target=target.name,
        event=data.event,
        delivery_id=delivery_id,
        body=body,
        headers=headers,
    )
