"""The public surface of fleetupgrade.notify is exactly what the engine and CLI use."""

from __future__ import annotations

import fleetupgrade.notify as notify


def test_exported_names_resolve_and_are_listed() -> None:
    """Every name in __all__ exists, and nothing else public is exported by accident."""
    assert sorted(notify.__all__) == sorted(
        [
            "DEFAULT_EVENTS",
            "EVENTS",
            "DELIVERY_POLICY",
            "NotificationResult",
            "Notifier",
            "NotifyTarget",
            "NotifyTargetError",
            "RunInfo",
            "TestDelivery",
            "notify_test",
            "notify_test_exit_code",
            "render_notify_test",
            "sign",
            "url_problem",
        ]
    )
    for name in notify.__all__:
        assert getattr(notify, name) is not None
