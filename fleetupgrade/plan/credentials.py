"""Credentials a plan names: read at run time, reported as warnings by ``validate``.

A plan says *where* secrets are (an environment variable, a file), never what they are.
``run`` reads them just before logging in (missing ones are an error, exit 2);
``validate`` runs offline, perhaps on another machine than the run, so it only warns. No
message ever contains a secret.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from typing import TYPE_CHECKING

from fleetupgrade.errors import CredentialsError, Issue

if TYPE_CHECKING:
    from fleetupgrade.plan.model import Plan, VCenterConfig

__all__ = ["credential_issues", "resolve_credentials"]


def _state(value: str | None) -> str:
    return "is empty" if value == "" else "is not set"


def _username(vcenter: VCenterConfig, env: Mapping[str, str]) -> str:
    if vcenter.username is not None:
        return vcenter.username
    if vcenter.username_env is None:  # load_plan refuses this; a hand-built config may not
        raise CredentialsError(f"vCenter {vcenter.name}: the plan names no username")
    found = env.get(vcenter.username_env)
    if not found:
        raise CredentialsError(
            f"vCenter {vcenter.name}: environment variable {vcenter.username_env} "
            f"(username_env) {_state(found)}"
        )
    return found


def _password(vcenter: VCenterConfig, env: Mapping[str, str]) -> str:
    if vcenter.password_env is not None:
        password = env.get(vcenter.password_env)
        if not password:
            raise CredentialsError(
                f"vCenter {vcenter.name}: environment variable {vcenter.password_env} "
                f"(password_env) {_state(password)}"
            )
        return password
    if vcenter.password_file is None:  # load_plan refuses this; a hand-built config may not
        raise CredentialsError(f"vCenter {vcenter.name}: the plan names no password source")
    try:
        text = vcenter.password_file.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        reason = exc.strerror or str(exc) if isinstance(exc, OSError) else "not UTF-8 text"
        raise CredentialsError(
            f"vCenter {vcenter.name}: cannot read password_file {vcenter.password_file}: {reason}"
        ) from None
    password = text.removesuffix("\n").removesuffix("\r")  # one trailing newline (echo > file)
    if not password:
        raise CredentialsError(
            f"vCenter {vcenter.name}: password_file {vcenter.password_file} is empty"
        )
    return password


def resolve_credentials(
    vcenter: VCenterConfig, env: Mapping[str, str] = os.environ
) -> tuple[str, str]:
    """``(username, password)`` for a vCenter; CredentialsError names the missing variable/file."""
    return _username(vcenter, env), _password(vcenter, env)


def credential_issues(plan: Plan, env: Mapping[str, str] = os.environ) -> list[Issue]:
    """Credentials this machine could not read now, each at its key (warnings in ``validate``)."""
    issues = []
    for index, vcenter in enumerate(plan.vcenters):
        checks = [
            ("username_env", vcenter.username_env is not None, _username),
            ("password_env" if vcenter.password_env else "password_file", True, _password),
        ]
        for key, applies, read in checks:
            if not applies:
                continue
            try:
                read(vcenter, env)
            except CredentialsError as exc:
                issues.append(Issue(f"vcenters[{index}].{key}", str(exc), severity="warning"))
    return issues
