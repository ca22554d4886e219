"""Credentials a plan names: read at run time, reported as warnings by ``validate``.

A plan says *where* secrets are (an environment variable, a file), never what they are.
``run`` reads them just before logging in (missing ones are an error, exit 2);
``validate`` runs offline, perhaps on another machine than the run, so it only warns
(also about a password file others can read, and a password too short to be masked
safely in logs). No message ever contains a secret.

Imports go one way: this module reads the models (for type checking only); the models
never import it.
"""

from __future__ import annotations

import os
import stat
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING

from fleetupgrade.errors import CredentialsError, Issue, UsernameError
from fleetupgrade.plan.fields import username_problem

if TYPE_CHECKING:
    from fleetupgrade.plan.model import Plan, VCenterConfig

__all__ = [
    "MIN_PASSWORD_LENGTH",
    "credential_issues",
    "password_file_too_open",
    "resolve_credentials",
]

MIN_PASSWORD_LENGTH = 8


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
    problem = username_problem(found)
    if problem is not None:
        raise UsernameError(
            f"vCenter {vcenter.name}: environment variable {vcenter.username_env} "
            f"(username_env): {problem}"
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


def password_file_too_open(path: Path) -> bool:
    """Whether group or others may read or write the password file (the run warns)."""
    try:
        mode = path.stat().st_mode
    except (OSError, ValueError):
        return False
    return bool(mode & (stat.S_IRWXG | stat.S_IRWXO))


def _password_warnings(where: str, vcenter: VCenterConfig, password: str) -> list[Issue]:
    issues = []
    if vcenter.password_file is not None and password_file_too_open(vcenter.password_file):
        issues.append(
            Issue(
                where,
                f"vCenter {vcenter.name}: password_file {vcenter.password_file} is readable "
                "by group or others: chmod 600 it",
                severity="warning",
            )
        )
    if len(password) < MIN_PASSWORD_LENGTH:
        issues.append(
            Issue(
                where,
                f"vCenter {vcenter.name}: the password is shorter than {MIN_PASSWORD_LENGTH} "
                "characters: short passwords cannot be masked safely in logs",
                severity="warning",
            )
        )
    return issues


def credential_issues(plan: Plan, env: Mapping[str, str] = os.environ) -> list[Issue]:
    """Credentials this machine could not read now, each at its key (warnings in ``validate``).

    Also warns about a password file others can read and a password shorter than
    :data:`MIN_PASSWORD_LENGTH` (the password itself is never in a message).
    """
    issues = []
    for index, vcenter in enumerate(plan.vcenters):
        if vcenter.username_env is not None:
            try:
                _username(vcenter, env)
            except CredentialsError as exc:
                issues.append(
                    Issue(f"vcenters[{index}].username_env", str(exc), severity="warning")
                )
        where = f"vcenters[{index}].{'password_env' if vcenter.password_env else 'password_file'}"
        try:
            password = _password(vcenter, env)
        except CredentialsError as exc:
            issues.append(Issue(where, str(exc), severity="warning"))
        else:
            issues.extend(_password_warnings(where, vcenter, password))
    return issues
