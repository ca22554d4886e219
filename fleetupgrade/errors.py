"""The one exception tree of fleetupgrade.

Every error we raise on purpose descends from :class:`FleetUpgradeError`, so the CLI can
turn any of them into a located message and a meaningful exit code, and treat anything
else as a bug (exit 70)::

    FleetUpgradeError
    ├── PlanError                  the plan file is unreadable or invalid (every issue, located)
    │   └── FleetFileError         a plan without [[waves]] given to `run`
    ├── ScenarioError              a simulator scenario file is unreadable or invalid
    ├── CredentialsError           credentials named by the plan cannot be read
    │   └── UsernameError          a username HTTP Basic cannot carry (also a ValueError)
    ├── VCenterError               talking to one vCenter went wrong (carries its name)
    │   ├── VCenterUnreachable     connection refused/reset, DNS, timeouts (after retries)
    │   │   └── TLSVerificationError   unknown CA, wrong host name, thumbprint mismatch
    │   ├── AuthenticationError    vCenter refused the credentials
    │   ├── APIError               a vAPI error answer: error_type, HTTP status, messages
    │   │   └── UpgradeJobRejected     vCenter answered a job create with an error: no job created
    │   ├── MalformedResponse      an answer that does not match docs/wire.md
    │   ├── CreateOutcomeUnknown   a create's outcome is unknown and vCenter could not prove it
    │   └── UpgradeJobNotCreated   a create's outcome was unknown; vCenter, re-read, proved no job
    └── RunError                   the run itself cannot go on
        ├── LockHeld               another run of this plan holds its lock
        ├── PlanChanged            a resumed run's plan differs from the one it began with
        ├── NothingToResume        --resume found no unfinished run
        ├── JournalUnreadable      a run directory's journal cannot be opened or read (damaged)
        ├── JournalIncompatible    a journal written under another journal layout
        ├── JournalTransitionError a Supervisor row asked to move against the phase order (bug)
        ├── DuplicateSupervisor    two plan entries designate one Supervisor
        └── RunDirIOError          the run directory cannot be read or written (exit 74)
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass


class FleetUpgradeError(Exception):
    """Root of every error fleetupgrade raises on purpose."""


@dataclass(frozen=True, slots=True)
class Issue:
    """One located problem in an input file (plan or scenario)."""

    location: str
    message: str
    severity: str = "error"

    def __str__(self) -> str:
        where = f"{self.location}: " if self.location else ""
        return f"{where}{self.message}"


class _IssuesError(FleetUpgradeError):
    """An input file with one or more located problems."""

    def __init__(self, source: str, issues: Sequence[Issue]) -> None:
        self.source = source
        self.issues = tuple(issues)
        lines = "\n".join(f"  {issue}" for issue in self.issues)
        super().__init__(f"{source}: {len(self.issues)} problem(s)\n{lines}")


class PlanError(_IssuesError):
    """The plan file is unreadable or invalid; ``issues`` lists every problem, located."""


class ScenarioError(_IssuesError):
    """A simulator scenario file is unreadable or invalid."""


class CredentialsError(FleetUpgradeError):
    """Credentials named by the plan (environment variables, files) cannot be read."""


class VCenterError(FleetUpgradeError):
    """Talking to one vCenter went wrong; ``vcenter`` names it."""

    def __init__(self, vcenter: str, message: str) -> None:
        self.vcenter = vcenter
        super().__init__(f"vCenter {vcenter}: {message}")


class VCenterUnreachable(VCenterError):
    """The vCenter could not be reached (refused, reset, DNS, timeouts after retries)."""


class VCenterClosed(VCenterError):
    """The run is done with the vCenter and closed its client: nothing more is sent.

    A bulk read already on its way when the run closed the client ends with this; it is
    never retried.
    """


class TLSVerificationError(VCenterUnreachable):
    """The vCenter's certificate could not be verified (CA, host name or thumbprint)."""


class AuthenticationError(VCenterError):
    """vCenter refused the credentials (wrong user or password)."""


class APIError(VCenterError):
    """A vAPI standard error answer: its ``error_type``, HTTP status and messages.

    ``message_ids`` are the stable ids of vCenter's messages (their texts are localised).
    """

    def __init__(
        self,
        vcenter: str,
        *,
        error_type: str,
        status: int,
        messages: Sequence[str] = (),
        operation: str = "",
        message_ids: Sequence[str] = (),
    ) -> None:
        self.error_type = error_type
        self.status = status
        self.messages = tuple(messages)
        self.operation = operation
        self.message_ids = tuple(message_ids)
        detail = "; ".join(self.messages) or "no message"
        op = f"{operation}: " if operation else ""
        super().__init__(vcenter, f"{op}{error_type} (HTTP {status}): {detail}")


class UpgradeJobRejected(APIError):
    """vCenter answered an upgrade job create with a vAPI error: this call created no job.

    ``in_progress`` tells the refusal "an upgrade is already in progress" (a job exists:
    adopt it, never re-send).
    """

    IN_PROGRESS_MESSAGE_ID = "vcenter.wcp.upgrade.in_progress"

    @property
    def in_progress(self) -> bool:
        """True when vCenter refused because an upgrade of the Supervisor already runs."""
        return self.IN_PROGRESS_MESSAGE_ID in self.message_ids


class MalformedResponse(VCenterError):
    """An answer that does not match docs/wire.md (never taken for success)."""


class CreateOutcomeUnknown(VCenterError):
    """An upgrade job create was sent but its answer was lost: vCenter must be re-read."""


class UpgradeJobNotCreated(VCenterError):
    """A create's answer was lost, and re-reading vCenter showed that it created no job."""


class RunError(FleetUpgradeError):
    """The run itself cannot start or go on."""


class LockHeld(RunError):
    """Another run of this plan holds its lock."""


class PlanChanged(RunError):
    """A resumed run's plan differs from the plan it began with."""


class NothingToResume(RunError):
    """``--resume`` found no unfinished run of this plan."""


class RunDirIOError(RunError):
    """Reading or writing the run directory failed (disk full, read-only, damaged): exit 74."""

    def __init__(self, path: object, operation: str, cause: BaseException) -> None:
        self.path = path
        self.operation = operation
        super().__init__(f"cannot {operation} {path}: {cause}")


class JournalTransitionError(RunError):
    """A Supervisor's journal row was asked to move against the phase order (a bug)."""


class UsernameError(CredentialsError, ValueError):
    """A username that cannot travel in HTTP Basic authentication (':' or a control character)."""


class JournalUnreadable(RunError):
    """A run directory's journal (``state.db``) cannot be opened or read: the run is damaged."""


class FleetFileError(PlanError):
    """A fleet file (a plan without ``[[waves]]``) was given to a command that runs waves."""


class DuplicateSupervisor(RunError):
    """Two plan entries designate the same Supervisor once names are resolved (exit 2)."""


class JournalIncompatible(RunError):
    """A run directory's journal was written by a version with another journal layout."""
