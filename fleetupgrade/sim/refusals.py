"""Every refusal the simulator answers, as one named function each (vAPI error + message).

Keeping them together makes the declared-kinds rule (docs/wire.md, Error responses) easy to review:
each function states its ``error_type``, a stable message id and the English text.
"""

from __future__ import annotations

from fleetupgrade.sim.wire import ApiError, Message


def _refuse(error_type: str, message_id: str, text: str, *args: str) -> ApiError:
    return ApiError(error_type, Message(message_id, text, args))


def too_many_sessions() -> ApiError:
    """503: the user reached ``max_sessions`` (vCenter's session cap)."""
    return _refuse(
        "SERVICE_UNAVAILABLE",
        "com.vmware.vapi.endpoint.failedToLoginMaxSessionCountReached",
        "Failed to login. The maximum number of sessions for this user was reached.",
    )


def supervisor_not_found(supervisor: str) -> ApiError:
    """404: no such Supervisor."""
    return _refuse(
        "NOT_FOUND",
        "vcenter.wcp.supervisor.notfound",
        f"Supervisor {supervisor} not found.",
        supervisor,
    )


def unauthorized(username: str, privilege: str, supervisor: str) -> ApiError:
    """403: the user lacks the privilege on the Supervisor."""
    return _refuse(
        "UNAUTHORIZED",
        "vapi.security.authorization.invalid",
        f"User {username} does not have the privilege {privilege} on Supervisor {supervisor}.",
        username,
        privilege,
        supervisor,
    )


def upgrade_unsupported(supervisor: str) -> ApiError:
    """400 UNSUPPORTED: no upgrade is allowed/available for this Supervisor."""
    return _refuse(
        "UNSUPPORTED",
        "vcenter.wcp.upgrade.unsupported",
        f"Upgrade is not supported for Supervisor {supervisor}.",
        supervisor,
    )


def upgrade_in_progress(supervisor: str) -> ApiError:
    """400 UNSUPPORTED: a create while an upgrade runs (our decision, docs/simulator.md)."""
    return _refuse(
        "UNSUPPORTED",
        "vcenter.wcp.upgrade.in_progress",
        f"An upgrade of Supervisor {supervisor} is already in progress.",
        supervisor,
    )


def version_unavailable(version: str, supervisor: str) -> ApiError:
    """400 INVALID_ARGUMENT: the version is not in ``available_versions``."""
    return _refuse(
        "INVALID_ARGUMENT",
        "vcenter.wcp.upgrade.version.invalid",
        f"Version {version} is not an available upgrade for Supervisor {supervisor}.",
        version,
        supervisor,
    )


def prechecks_while_upgrading(supervisor: str) -> ApiError:
    """400 NOT_ALLOWED_IN_CURRENT_STATE: Prechecks.run during an upgrade."""
    return _refuse(
        "NOT_ALLOWED_IN_CURRENT_STATE",
        "vcenter.wcp.upgrade.precheck.in_progress",
        f"Prechecks cannot run while Supervisor {supervisor} is upgrading.",
        supervisor,
    )


def no_precheck_results(supervisor: str, version: str | None) -> ApiError:
    """404: no precheck results (at all, or for the requested version)."""
    suffix = f" and version {version}." if version else "."
    return _refuse(
        "NOT_FOUND",
        "vcenter.wcp.upgrade.precheck.notfound",
        f"No precheck results for Supervisor {supervisor}{suffix}",
        supervisor,
        version or "",
    )


def version_not_found(version: str) -> ApiError:
    """404: the version is unknown to this vCenter."""
    return _refuse(
        "NOT_FOUND",
        "vcenter.wcp.software.version.notfound",
        f"Supervisor version {version} not found.",
        version,
    )


def task_not_found(task: str) -> ApiError:
    """404: no such task."""
    return _refuse("NOT_FOUND", "com.vmware.cis.tasks.notfound", f"Task {task} not found.", task)


def too_many_tasks(limit: int) -> ApiError:
    """RESOURCE_INACCESSIBLE: more tasks match than one list may return."""
    return _refuse(
        "RESOURCE_INACCESSIBLE",
        "com.vmware.cis.tasks.list.too_many",
        f"More than {limit} tasks match the filter.",
    )


def task_ended(task: str) -> ApiError:
    """400 NOT_ALLOWED_IN_CURRENT_STATE: cancel of a finished task."""
    return _refuse(
        "NOT_ALLOWED_IN_CURRENT_STATE",
        "com.vmware.cis.tasks.finished",
        f"Task {task} has already ended.",
        task,
    )


def task_not_cancelable(task: str) -> ApiError:
    """400 UNSUPPORTED: cancel once the upgrade proper has begun."""
    return _refuse(
        "UNSUPPORTED",
        "com.vmware.cis.tasks.not_cancelable",
        f"Task {task} can no longer be canceled: the upgrade has begun.",
        task,
    )
