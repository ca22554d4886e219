"""One simulated vCenter: its users, sessions, Supervisors, tasks and every API operation.

Operations are plain methods that validate in the order docs/simulator.md documents
(session → resource exists → privilege → input → state), raise :class:`ApiError` with only
the error kinds the operation declares (docs/wire.md, Error responses), and return the
JSON result; the HTTP layer (``app.py``) only moves bytes and statuses.
"""

from __future__ import annotations

import random
import secrets
import uuid
from collections import Counter

from fleetupgrade.sim.clock import SimClock, VCenterClock
from fleetupgrade.sim.faults import FaultDice, FaultState
from fleetupgrade.sim.health import cluster_summary, summary_info
from fleetupgrade.sim.inputs import (
    CompatibilityInput,
    CreateSpec,
    NoInput,
    PrechecksGetInput,
    PrecheckSpec,
    RawInput,
    SummaryListInput,
    TaskGetInput,
    TasksListInput,
    UpgradesListInput,
    VersionsListInput,
    invalid,
    parse_input,
)
from fleetupgrade.sim.machine import Job, Supervisor, version_key
from fleetupgrade.sim.refusals import (
    no_precheck_results,
    prechecks_while_upgrading,
    supervisor_not_found,
    task_ended,
    task_not_cancelable,
    task_not_found,
    too_many_sessions,
    too_many_tasks,
    unauthorized,
    upgrade_in_progress,
    upgrade_unsupported,
    version_not_found,
    version_unavailable,
)
from fleetupgrade.sim.scenario import UPGRADE_PRIVILEGE, Scenario, User, VCenterSpec
from fleetupgrade.sim.sessions import Session, SessionStore, display_user, parse_basic
from fleetupgrade.sim.tasks import task_matches
from fleetupgrade.sim.views import (
    SERVICE_ID,
    precheck_result,
    task_info,
    upgrades_info,
    upgrades_summary,
    version_info,
)
from fleetupgrade.sim.wire import AUTH_REQUIRED, JSON, ApiError, Message

MAX_TASKS_LISTED = 1000
#: Who started the upgrades already running when the simulator starts (``in_progress_to``).
OTHER_USER = "other-admin@vsphere.local"


class VCenterSim:
    """All state of one vCenter; faults are applied by the HTTP layer, not here."""

    def __init__(
        self, spec: VCenterSpec, *, index: int, scenario: Scenario, clock: SimClock
    ) -> None:
        self.name = spec.name
        self.index = index
        self.users: dict[str, User] = {u.username: u for u in scenario.users}
        self.faults = FaultState.from_spec(spec.faults)
        self.clock = VCenterClock(clock, self.faults.skew_seconds)
        self.dice = FaultDice(scenario.sim.seed, spec.name)
        self._ids = random.Random(f"{scenario.sim.seed}:ids:{spec.name}")  # noqa: S311
        self.supervisors: dict[str, Supervisor] = {
            s.id: Supervisor.from_spec(s, i) for i, s in enumerate(spec.supervisors)
        }
        self.tasks: dict[str, Job] = {}
        self.creates: Counter[str] = Counter()
        self.requests: Counter[str] = Counter()
        self.sessions = SessionStore(clock)
        catalog = {v for s in spec.supervisors for v in (s.current_version, *s.available_versions)}
        self.versions = sorted(catalog, key=version_key)
        for sup in self.supervisors.values():
            if sup.spec.in_progress_to is not None:
                self._start_preexisting(sup, sup.spec.in_progress_to)

    def _new_task_id(self) -> str:
        return f"{uuid.UUID(int=self._ids.getrandbits(128), version=4)}:{SERVICE_ID}"

    def _start_preexisting(self, sup: Supervisor, target: str) -> None:
        """An upgrade someone else created one precheck phase before the simulator started.

        At start its prechecks are over and the upgrade proper runs (not cancelable); its
        task is listed by cis tasks, but it is no create of ours (``creates`` ignores it).
        """
        job = sup.start_job(
            task_id=self._new_task_id(),
            user=OTHER_USER,
            target=target,
            ignore_warnings=False,
            now=-sup.spec.precheck_duration.total_seconds(),
        )
        job.preexisting = True
        self.tasks[job.task_id] = job

    # sessions ------------------------------------------------------------------------

    def login(self, authorization: str | None, raw: RawInput) -> str:
        """Session.create: Basic credentials → token; 503 beyond ``max_sessions``."""
        user = self._basic_user(authorization)
        parse_input(NoInput, raw)
        limit = self.faults.max_sessions
        if (
            limit is not None
            and self.sessions.count_for(user.username, self.faults.lifetime()) >= limit
        ):
            raise too_many_sessions()
        return self.sessions.create(user.username).token

    def _basic_user(self, authorization: str | None) -> User:
        credentials = parse_basic(authorization)
        user = self.users.get(credentials[0]) if credentials else None
        if (
            credentials is None
            or user is None
            or not secrets.compare_digest(user.password.encode(), credentials[1].encode())
        ):
            raise ApiError("UNAUTHENTICATED", AUTH_REQUIRED)
        return user

    def authenticate(self, token: str | None) -> Session:
        """The live session of a request, or 401 UNAUTHENTICATED."""
        session = self.sessions.lookup(token, self.faults.lifetime())
        if session is None:
            raise ApiError("UNAUTHENTICATED", AUTH_REQUIRED)
        return session

    def session_info(self, session: Session, raw: RawInput) -> JSON:
        """Session.get."""
        parse_input(NoInput, raw)
        return {
            "user": display_user(session.username),
            "created_time": self.clock.iso(session.created_at),
            "last_accessed_time": self.clock.iso(session.last_accessed),
        }

    def logout(self, session: Session, raw: RawInput) -> None:
        """Session.delete."""
        parse_input(NoInput, raw)
        self.sessions.delete(session.token)

    # lookups -------------------------------------------------------------------------

    def supervisor(self, supervisor_id: str) -> Supervisor:
        """The Supervisor, or 404 NOT_FOUND."""
        sup = self.supervisors.get(supervisor_id)
        if sup is None:
            raise supervisor_not_found(supervisor_id)
        return sup

    def require_privilege(self, session: Session, supervisor_id: str) -> None:
        """403 UNAUTHORIZED unless the user holds ``Namespaces.Upgrade``."""
        user = self.users.get(session.username)
        if user is None or UPGRADE_PRIVILEGE not in user.privileges:
            raise unauthorized(session.username, UPGRADE_PRIVILEGE, supervisor_id)

    # inventory -----------------------------------------------------------------------

    def summaries(self, raw: RawInput) -> JSON:
        """Summary.list, filtered by config/kubernetes status."""
        spec = parse_input(SummaryListInput, raw).filter
        now = self.clock.now()
        items = []
        for sup in self.supervisors.values():
            info = summary_info(sup, now, self.index)
            if spec is not None and spec.config_status not in (None, info["config_status"]):
                continue
            if spec is not None and spec.kubernetes_status not in (None, info["kubernetes_status"]):
                continue
            items.append({"supervisor": sup.id, "info": info})
        return {"items": items}

    def summary(self, supervisor_id: str, raw: RawInput) -> JSON:
        """Summary.get."""
        sup = self.supervisor(supervisor_id)
        parse_input(NoInput, raw)
        return summary_info(sup, self.clock.now(), self.index)

    def clusters(self, raw: RawInput) -> list[JSON]:
        """The deprecated cluster listing (a JSON array)."""
        parse_input(NoInput, raw)
        now = self.clock.now()
        return [cluster_summary(sup, now) for sup in self.supervisors.values()]

    # upgrades ------------------------------------------------------------------------

    def upgrades_list(self, raw: RawInput) -> JSON:
        """Upgrades.list; unknown ids in the filter are simply not returned."""
        spec = parse_input(UpgradesListInput, raw).filter_spec
        now = self.clock.now()
        if spec is None or spec.supervisors is None:
            chosen = list(self.supervisors.values())
        else:
            wanted = set(spec.supervisors)
            chosen = [s for s in self.supervisors.values() if s.id in wanted]
        return {"supervisors": [upgrades_summary(s, now, self.clock) for s in chosen]}

    def upgrades_get(self, supervisor_id: str, raw: RawInput) -> JSON:
        """Upgrades.get."""
        sup = self.supervisor(supervisor_id)
        parse_input(NoInput, raw)
        return upgrades_info(
            sup, self.clock.now(), self.clock, omit_prechecks=self.faults.omit_upgrade_prechecks
        )

    def create_job(self, session: Session, supervisor_id: str, raw: RawInput) -> str:
        """Jobs.create, checks in the documented order; returns the cis task id."""
        sup = self.supervisor(supervisor_id)
        self.require_privilege(session, supervisor_id)
        spec = parse_input(CreateSpec, raw)
        if sup.spec.unsupported:
            raise upgrade_unsupported(supervisor_id)
        now = self.clock.now()
        if sup.state(now) == "INPROGRESS":
            raise upgrade_in_progress(supervisor_id)
        self._require_available(sup, spec.desired_version)
        task_id = self._new_task_id()
        job = sup.start_job(
            task_id=task_id,
            user=session.username,
            target=spec.desired_version,
            ignore_warnings=bool(spec.ignore_precheck_warnings),
            now=now,
        )
        self.tasks[task_id] = job
        self.creates[supervisor_id] += 1
        return task_id

    @staticmethod
    def _require_available(sup: Supervisor, version: str) -> None:
        if version not in sup.available_versions:
            raise version_unavailable(version, sup.id)

    # prechecks -----------------------------------------------------------------------

    def prechecks_run(self, session: Session, supervisor_id: str, raw: RawInput) -> None:
        """Prechecks.run: results appear RUNNING at once, final after precheck_duration."""
        sup = self.supervisor(supervisor_id)
        self.require_privilege(session, supervisor_id)
        spec = parse_input(PrecheckSpec, raw)
        if sup.spec.unsupported or not sup.available_versions:
            raise upgrade_unsupported(supervisor_id)
        now = self.clock.now()
        if sup.state(now) == "INPROGRESS":
            raise prechecks_while_upgrading(supervisor_id)
        self._require_available(sup, spec.target_version)
        sup.run_prechecks(spec.target_version, now)

    def prechecks_get(self, supervisor_id: str, raw: RawInput) -> JSON:
        """Prechecks.get; 404 when no results (at all, or for the filter's version)."""
        sup = self.supervisor(supervisor_id)
        version = parse_input(PrechecksGetInput, raw).version()
        now = self.clock.now()
        sup.settle(now)
        runs = list(sup.precheck_runs.values())
        if version is not None:
            runs = [r for r in runs if r.target_version == version]
        if not runs:
            raise no_precheck_results(supervisor_id, version)
        return {"precheck_results": [precheck_result(r, now, self.clock) for r in runs]}

    # versions ------------------------------------------------------------------------

    def versions_list(self, raw: RawInput) -> JSON:
        """Versions.list: every version known to this vCenter (filters do not narrow it)."""
        parse_input(VersionsListInput, raw)
        return {"supervisor_versions": [{"version": v} for v in self.versions]}

    def version_get(self, version: str, raw: RawInput) -> JSON:
        """Versions.get."""
        info = self._version_info(version)
        parse_input(NoInput, raw)
        return info

    def check_compatibility(self, version: str, raw: RawInput) -> JSON:
        """Versions.check_compatibility; INCOMPATIBLE for an ``unsupported`` Supervisor."""
        info = self._version_info(version)
        spec = parse_input(CompatibilityInput, raw).spec
        if spec is not None:
            given = [f for f in ("cluster", "supervisor", "zones") if getattr(spec, f) is not None]
            if len(given) > 1:
                raise invalid("Give at most one of cluster, supervisor and zones.")
            if spec.supervisor is not None and self.supervisor(spec.supervisor).spec.unsupported:
                info["compatibility"] = "INCOMPATIBLE"
                info["incompatibility_reasons"] = [
                    Message(
                        "vcenter.wcp.software.version.incompatible",
                        f"Version {version} is not supported on Supervisor {spec.supervisor}.",
                        (version, spec.supervisor),
                    ).to_json()
                ]
                return info
        info["compatibility"] = "COMPATIBLE"
        info["capabilities"] = [{"name": "SupervisorUpgrade", "status": "SUPPORTED"}]
        return info

    def _version_info(self, version: str) -> JSON:
        if version not in self.versions:
            raise version_not_found(version)
        return version_info(version, self.versions.index(version))

    # tasks ---------------------------------------------------------------------------

    def _task(self, task_id: str) -> Job:
        job = self.tasks.get(task_id)
        if job is None:
            raise task_not_found(task_id)
        self.supervisors[job.supervisor].settle(self.clock.now())
        return job

    def task_get(self, task_id: str, raw: RawInput) -> JSON:
        """Tasks.get."""
        job = self._task(task_id)
        parse_input(TaskGetInput, raw)
        return task_info(job, self.clock.now(), self.clock)

    def tasks_list(self, raw: RawInput) -> JSON:
        """Tasks.list: a JSON object task id → Info; needs tasks or services."""
        spec = parse_input(TasksListInput, raw).filter_spec
        if spec is None or not (spec.tasks or spec.services):
            raise invalid("The filter must name at least one task or one service.")
        now = self.clock.now()
        candidates = (
            [self.tasks[t] for t in dict.fromkeys(spec.tasks) if t in self.tasks]
            if spec.tasks
            else list(self.tasks.values())
        )
        out: JSON = {}
        for job in candidates:
            self.supervisors[job.supervisor].settle(now)
            if not task_matches(job, spec, now):
                continue
            if len(out) == MAX_TASKS_LISTED:
                raise too_many_tasks(MAX_TASKS_LISTED)
            out[job.task_id] = task_info(job, now, self.clock)
        return out

    def task_cancel(self, session: Session, task_id: str, raw: RawInput) -> None:
        """Tasks.cancel: only while prechecks run; UNSUPPORTED later, refused once ended."""
        job = self._task(task_id)
        self.require_privilege(session, job.supervisor)
        parse_input(NoInput, raw)
        now = self.clock.now()
        phase = job.phase(now)
        if phase == "ended":
            raise task_ended(task_id)
        if phase == "upgrading":
            raise task_not_cancelable(task_id)
        self.supervisors[job.supervisor].cancel_job(job, now)
