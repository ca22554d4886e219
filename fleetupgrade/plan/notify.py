"""Notification targets, resolved at run time: the webhook URL and signing secret.

A webhook URL is a secret (whoever has it can post to the channel), so a plan usually
names an environment variable (``url_env``) and every message says
``notify[0].url_env (SLACK_WEBHOOK_URL)``, never the URL. ``run`` resolves the targets
before anything is fired (a missing variable is :class:`CredentialsError`, exit 2);
``validate`` runs offline elsewhere and only warns (:func:`notify_issues`).
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from fleetupgrade.errors import CredentialsError, Issue
from fleetupgrade.plan.urls import url_problem

if TYPE_CHECKING:
    from fleetupgrade.plan.model import NotifyConfig, Plan

__all__ = ["ResolvedNotifyTarget", "notify_issues", "resolve_notify_targets"]


@dataclass(frozen=True, slots=True)
class ResolvedNotifyTarget:
    """Where to post, what, and how to sign it; ``repr`` hides the URL and the secret."""

    url: str = field(repr=False)
    events: tuple[str, ...]
    format: str
    secret: bytes | None = field(default=None, repr=False)
    label: str = ""


def _state(value: str | None) -> str:
    return "is empty" if value == "" else "is not set"


def _url(target: NotifyConfig, env: Mapping[str, str]) -> tuple[str | None, str]:
    """The URL, or None and why not (the reason never contains the URL)."""
    if target.url is not None:
        return target.url, ""
    if target.url_env is None:  # load_plan refuses this; a hand-built config may not
        return None, "neither url nor url_env is set"
    found = env.get(target.url_env)
    if not found:
        return None, f"url_env ({target.url_env}) {_state(found)}"
    problem = url_problem(found, allow_query=True)
    if problem is not None:
        return None, f"url_env ({target.url_env}) does not hold a usable URL: {problem}"
    return found, ""


def _secret(target: NotifyConfig, env: Mapping[str, str]) -> tuple[bytes | None, str]:
    """The signing key (None when the target signs nothing), or None and why not."""
    if target.secret_env is None:
        return None, ""
    value = env.get(target.secret_env)
    if not value:
        return None, f"secret_env ({target.secret_env}) {_state(value)}"
    return value.encode("utf-8"), ""


def _resolve(index: int, target: NotifyConfig, env: Mapping[str, str]) -> ResolvedNotifyTarget:
    url, why = _url(target, env)
    if url is None:
        raise CredentialsError(f"notify[{index}].{why}")
    secret, why = _secret(target, env)
    if why:
        raise CredentialsError(f"notify[{index}].{why}")
    where = f"notify[{index}]"
    label = f"{where}.url_env ({target.url_env})" if target.url_env else f"{where}.url"
    return ResolvedNotifyTarget(url, tuple(target.events), target.format, secret, label)


def resolve_notify_targets(
    plan: Plan, env: Mapping[str, str] = os.environ
) -> list[ResolvedNotifyTarget]:
    """Every ``[[notify]]`` target with its URL and secret read; CredentialsError if not."""
    return [_resolve(index, target, env) for index, target in enumerate(plan.notify)]


def notify_issues(plan: Plan, env: Mapping[str, str] = os.environ) -> list[Issue]:
    """What ``run`` could not resolve on this machine, as warnings at each target's key."""
    issues = []
    for index, target in enumerate(plan.notify):
        for key, why in (
            ("url_env", _url(target, env)[1]),
            ("secret_env", _secret(target, env)[1]),
        ):
            if why:
                issues.append(Issue(f"notify[{index}].{key}", why, severity="warning"))
    return issues
