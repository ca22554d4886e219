"""What a run needs before it starts: options, mode, endpoints, targets, resume checks.

Everything here can fail with exit 2 before anything is fired, so ``run`` calls it first.
"""

from __future__ import annotations

import getpass
import hashlib
import os
import socket
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

import structlog

from fleetupgrade.errors import PlanChanged, RunError
from fleetupgrade.journal.rundir import (
    RunDir,
)
from fleetupgrade.journal.store import Journal
from fleetupgrade.logs import (
    register_secret,
)
from fleetupgrade.notify import NotifyTarget
from fleetupgrade.plan import Plan, password_file_too_open, resolve_credentials
from fleetupgrade.plan.notify import resolve_notify_targets
from fleetupgrade.vcenter import VCenterEndpoint
from fleetupgrade.vcenter.endpoint import ENGINE_CONNECTIONS

log = structlog.get_logger("fleetupgrade.cli")

__all__ = [
    "Mode",
    "RunOptions",
    "check_resumable",
    "endpoints_from_plan",
    "notify_targets",
    "operator",
    "warn_open_password_files",
]


@dataclass(frozen=True, slots=True)
class RunOptions:
    """Every option of ``fleetupgrade run``."""

    runs_dir: Path = Path("runs")
    dry_run: bool = False
    prechecks: bool = False
    allow_unhealthy: bool = False
    simulate: bool = False
    scenario: Path | None = None
    resume: bool = False
    resume_dir: Path | None = None
    new: bool = False
    ignore_window: bool = False
    approve: tuple[str, ...] = ()
    change_ref: str | None = None
    lock_timeout: float = 0.0
    log_format: Literal["json", "console"] | None = None
    log_level: str = "info"
    progress: bool = True
    hold_late_signals: bool = False
    """Once the result is decided, ignore SIGTERM/SIGHUP/SIGINT until the process exits.

    Set by the console entry point; in-process callers (tests) get their handlers back.
    """


@dataclass(frozen=True, slots=True)
class Mode:
    """Real or simulated, and which scenario: a resume must match the run it continues."""

    simulated: bool
    scenario_sha256: str | None

    @classmethod
    def of(cls, plan: Plan, options: RunOptions) -> Mode:
        """The mode the options ask for."""
        if not options.simulate:
            return cls(False, None)
        if options.scenario is None:
            return cls(True, "derived:" + plan.sha256)
        try:
            data = options.scenario.read_bytes()
        except OSError as exc:
            raise RunError(f"cannot read the scenario {options.scenario}: {exc}") from exc
        return cls(True, hashlib.sha256(data).hexdigest())

    def describe(self) -> str:
        """``real`` or ``simulated (scenario …)``."""
        return f"simulated (scenario {self.scenario_sha256})" if self.simulated else "real"


def endpoints_from_plan(plan: Plan, env: Mapping[str, str]) -> dict[str, VCenterEndpoint]:
    """Endpoints of the plan's real vCenters; missing credentials are an error here (exit 2)."""
    endpoints = {}
    for vcenter in plan.vcenters:
        username, password = resolve_credentials(vcenter, env)
        register_secret(password)
        endpoints[vcenter.name] = VCenterEndpoint(
            name=vcenter.name,
            url=vcenter.url,
            username=username,
            password=password,
            ca_file=vcenter.ca_file,
            tls_thumbprint=vcenter.tls_thumbprint,
            request_timeout=plan.defaults.request_timeout.total_seconds(),
            max_connections=ENGINE_CONNECTIONS,
            max_requests_per_second=plan.requests_per_second_for(vcenter.name),
        )
    return endpoints


def operator() -> str:
    """``user@host`` of whoever runs this, for reports and control rows."""
    try:
        user = getpass.getuser()
    except (KeyError, OSError):
        user = str(os.getuid())
    return f"{user}@{socket.gethostname()}"


def notify_targets(plan: Plan) -> list[NotifyTarget]:
    """The plan's ``[[notify]]`` targets with URLs and secrets read (exit 2 when missing)."""
    resolved = resolve_notify_targets(plan, os.environ)
    return [
        NotifyTarget(
            name=t.label,
            url=t.url,
            events=frozenset(t.events),
            format="slack" if t.format == "slack" else "json",
            secret=t.secret,
        )
        for t in resolved
    ]


def check_resumable(plan: Plan, run_dir: RunDir, mode: Mode) -> None:
    """A resumed run must run the very plan it began with, in the same mode."""
    journal = Journal(run_dir.journal_file, readonly=True)
    try:
        meta = journal.meta()
    finally:
        journal.close()
    if meta.get("plan_sha256") != plan.sha256:
        raise PlanChanged(
            f"{plan.path} changed since run {run_dir.run_id} began "
            f"(sha256 {meta.get('plan_sha256')} then, {plan.sha256} now); "
            "restore it, or start anew with --new"
        )
    began = Mode(bool(meta.get("simulated", False)), meta.get("scenario_sha256"))
    if began != mode:
        raise RunError(
            f"run {run_dir.run_id} began {began.describe()}; it cannot be resumed "
            f"{mode.describe()}: resume it the way it began"
        )


def warn_open_password_files(plan: Plan) -> None:
    """As ssh does for keys: a password file others may read is worth a warning at every run."""
    for vcenter in plan.vcenters:
        path = vcenter.password_file
        if path is not None and password_file_too_open(path):
            log.warning(
                "password_file_too_open",
                vcenter=vcenter.name,
                path=str(path),
                reason="readable by group or others: chmod 600 it",
            )
