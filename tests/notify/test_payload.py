"""Payloads: fixed JSON keys, Slack's one-line text, headers and the HMAC signature."""

from __future__ import annotations

import hashlib
import hmac
import json
import uuid
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from fleetupgrade import __version__
from fleetupgrade.notify import NotifyTarget, RunInfo, sign
from fleetupgrade.notify.payload import EventData, build_delivery

AT = datetime(2026, 12, 5, 22, 0, 1, 234000, tzinfo=UTC)
JSON_KEYS = [
    "event",
    "run_id",
    "plan",
    "wave",
    "result",
    "counts",
    "simulated",
    "report",
    "summary",
    "delivery_id",
    "at",
]


RUN = RunInfo(
    run_id="20261205T220000Z-q4-3f9a",
    plan="q4",
    simulated=True,
    report_path="runs/20261205T220000Z-q4-3f9a/report.md",
)


def _data(run: RunInfo = RUN, **changes: object) -> EventData:
    fields: dict[str, object] = {
        "summary": "wave canary halted — 2 precheck errors > limit 0",
        "wave": "canary",
        "result": None,
        "counts": {"precheck_error": 2, "not_started": 3},
    }
    fields.update(changes)
    return EventData("wave_halted", AT, run, fields)  # type: ignore[arg-type]


def test_json_body_has_the_fixed_keys_in_order_with_nulls() -> None:
    """The JSON body always has the same keys, null where a key does not apply."""
    target = NotifyTarget(name="t", url="https://h.example/x", format="json")
    delivery = build_delivery(target, _data())
    body = json.loads(delivery.body)
    assert list(body) == JSON_KEYS
    assert body["result"] is None
    assert body["counts"] == {"precheck_error": 2, "not_started": 3}
    assert body["at"] == "2026-12-05T22:00:01.234Z"
    assert body["delivery_id"] == delivery.delivery_id
    assert uuid.UUID(delivery.delivery_id).version == 4


def test_headers_name_the_event_delivery_and_version() -> None:
    """Headers carry the event, the delivery id and the tool version; no signature without secret."""
    target = NotifyTarget(name="t", url="https://h.example/x")
    delivery = build_delivery(target, _data())
    assert delivery.headers == {
        "Content-Type": "application/json",
        "User-Agent": f"fleetupgrade/{__version__}",
        "X-Fleetupgrade-Event": "wave_halted",
        "X-Fleetupgrade-Delivery": delivery.delivery_id,
    }


def test_signature_is_the_hmac_sha256_of_the_exact_body() -> None:
    """With a secret, the signature header is sha256=<hex HMAC of the body bytes>."""
    target = NotifyTarget(name="t", url="https://h.example/x", secret=b"s3cret")
    delivery = build_delivery(target, _data())
    expected = hmac.new(b"s3cret", delivery.body, hashlib.sha256).hexdigest()
    assert delivery.headers["X-Fleetupgrade-Signature"] == f"sha256={expected}"
    assert sign(b"other", delivery.body) != delivery.headers["X-Fleetupgrade-Signature"]


def test_slack_body_is_one_plain_text_line() -> None:
    """Slack gets {"text": ...} only: one line, SIMULATED prefix, markup characters escaped."""
    target = NotifyTarget(name="t", url="https://h.example/x", format="slack")
    data = _data(summary="wave canary halted —\n2 errors <sv-1> & <sv-2>")
    body = json.loads(build_delivery(target, data).body)
    assert body == {
        "text": "[SIMULATED] plan q4: wave canary halted — 2 errors &lt;sv-1&gt; &amp; "
        "&lt;sv-2&gt; (run 20261205T220000Z-q4-3f9a)"
    }


def test_slack_text_of_a_real_run_has_no_simulated_prefix() -> None:
    """Only simulated runs are marked [SIMULATED]."""
    target = NotifyTarget(name="t", url="https://h.example/x", format="slack")
    body = json.loads(
        build_delivery(target, _data(replace(RUN, simulated=False), summary="run finished")).body
    )
    assert body["text"] == "plan q4: run finished (run 20261205T220000Z-q4-3f9a)"


def test_each_delivery_gets_its_own_id() -> None:
    """Two deliveries of the same event are told apart by their ids."""
    target = NotifyTarget(name="t", url="https://h.example/x")
    first, second = build_delivery(target, _data()), build_delivery(target, _data())
    assert first.delivery_id != second.delivery_id


def test_the_documented_verification_code_accepts_our_signature_only() -> None:
    """The Python verification example of docs/notify.md accepts real signatures, refuses others."""
    docs = (Path(__file__).parents[2] / "docs" / "notify.md").read_text()
    example = docs.split("```python\n", 1)[1].split("```", 1)[0]
    namespace: dict[str, Any] = {}
    exec(example, namespace)  # our own documentation
    is_authentic = namespace["is_authentic"]
    target = NotifyTarget(name="t", url="https://h.example/x", secret=b"s3cret")
    delivery = build_delivery(target, _data())
    signature = delivery.headers["X-Fleetupgrade-Signature"]
    assert is_authentic(b"s3cret", delivery.body, signature)
    assert not is_authentic(b"wrong", delivery.body, signature)
    assert not is_authentic(b"s3cret", delivery.body + b" ", signature)
    assert not is_authentic(b"s3cret", delivery.body, None)
