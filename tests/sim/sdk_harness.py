"""Drive the simulator with the vendor's Python SDK over REST, in plain-JSON mode.

The 9.1.1.0 stubs declare the legacy vAPI-REST envelope (``{"value": …}``), which real
``/api`` does not use (docs/wire.md §8.1). :func:`plain_json` switches a stub to the SDK's
own "swagger" mode that reads bare ``/api`` JSON; :class:`SdkClient` builds every stub we
use that way on one ``requests.Session`` that trusts the simulator's CA and ignores the
machine's CA-bundle variables (§8.7). Login uses a user/password security context for
``Session.create`` only; the token then travels as the ``vmware-api-session-id`` header
on the ``requests.Session`` (the SDK refuses a session security context in this mode).

Every raw answer is recorded by a ``requests`` response hook into a :class:`WireLog`,
which checks it strictly against the contract (``tests/sim/sdk_schema.py``).

:class:`ThreadedSimulator` runs the simulator in a background thread with its own event
loop, so the synchronous SDK can talk to it from ordinary test functions.
"""

from __future__ import annotations

import threading
import time
import warnings
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

import requests

from tests.sim.sdk_contract import check_answer
from tests.simthread import SimThread

with warnings.catch_warnings():
    # The 9.1.1.0 runtime reads its message bundles with the deprecated
    # importlib.resources.read_binary when first imported; warnings are errors here.
    warnings.filterwarnings("ignore", "read_binary is deprecated", DeprecationWarning)
    from com.vmware.cis_client import Session, Tasks
    from com.vmware.vcenter.namespace_management.software.supervisors.upgrades_client import Jobs
    from com.vmware.vcenter.namespace_management.software.supervisors_client import (
        Prechecks,
        Upgrades,
        Versions,
    )
    from com.vmware.vcenter.namespace_management.supervisors_client import Summary
    from vmware.vapi.bindings.converter import RestConverter
    from vmware.vapi.bindings.error import VapiError
    from vmware.vapi.lib.connect import get_requests_connector
    from vmware.vapi.provider.filter import ApiProviderFilter
    from vmware.vapi.security.client.security_context_filter import LegacySecurityContextFilter
    from vmware.vapi.security.user_password import create_user_password_security_context
    from vmware.vapi.stdlib.client.factories import StubConfigurationFactory

SESSION_HEADER = "vmware-api-session-id"
#: Bound on every HTTP request the SDK makes (seconds).
REQUEST_TIMEOUT = 10.0
#: Bound on starting and stopping the simulator thread (seconds).
THREAD_TIMEOUT = 15.0

T = TypeVar("T")
S = TypeVar("S")


# --- the wire log ---------------------------------------------------------------------------


@dataclass(frozen=True)
class Exchange:
    """One raw answer as it came off the wire, and the contract problems found in it."""

    method: str
    url: str
    status: int
    headers: dict[str, str]
    body: bytes
    request_body: str | bytes | None
    problems: tuple[str, ...]

    def describe(self) -> str:
        """``METHOD url -> status`` for messages."""
        return f"{self.method} {self.url} -> {self.status}"


def _request_body(body: object) -> str | bytes | None:
    """A prepared request's body as sent (the SDK only sends JSON text or nothing)."""
    return body if isinstance(body, str | bytes) else None


@dataclass
class WireLog:
    """Every answer the SDK received, checked as it arrives (thread-safe)."""

    exchanges: list[Exchange] = field(default_factory=list)
    checked_upto: int = 0
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def hook(self, response: requests.Response, *args: Any, **kwargs: Any) -> None:
        """A ``requests`` response hook: record and check the answer."""
        method = response.request.method or "?"
        headers = dict(response.headers)
        problems = check_answer(
            method, response.url, response.status_code, headers, response.content
        )
        exchange = Exchange(
            method,
            response.url,
            response.status_code,
            headers,
            response.content,
            _request_body(response.request.body),
            tuple(problems),
        )
        with self._lock:
            self.exchanges.append(exchange)

    def last(self) -> Exchange:
        """The latest answer."""
        with self._lock:
            return self.exchanges[-1]

    def problems(self, start: int = 0) -> list[str]:
        """Every contract problem of the answers from index ``start``, one line each."""
        with self._lock:
            recorded = list(self.exchanges[start:])
        return [f"{ex.describe()}: {problem}" for ex in recorded for problem in ex.problems]

    def take_problems(self) -> list[str]:
        """The contract problems of the answers not looked at yet; marks them looked at."""
        with self._lock:
            start, self.checked_upto = self.checked_upto, len(self.exchanges)
        return self.problems(start)

    def assert_clean(self) -> None:
        """Fail with every contract problem not reported yet (each answer is checked once)."""
        problems = self.take_problems()
        assert problems == [], "answers violating docs/wire.md:\n" + "\n".join(problems)


# --- the SDK in plain-JSON mode -------------------------------------------------------------


def plain_json(stub: S) -> S:
    """Switch a freshly built stub (and its REST provider) to the plain-JSON ``/api`` mode.

    Must run after constructing each stub: every constructor sets the shared provider back
    to the vAPI-REST envelope.
    """
    interface = stub._api_interface  # type: ignore[attr-defined]
    interface._is_vapi_rest = False
    interface._rest_converter_mode = RestConverter.SWAGGER_REST
    provider = interface._api_provider
    if isinstance(provider, ApiProviderFilter):
        provider = provider.get_api_provider()
    provider.set_rest_format(False)
    return stub


def _connector(http: requests.Session, api_url: str, chain: list[Any] | None = None) -> Any:
    # pool_size=0: keep the session's own adapters (no re-mounting, nothing left unclosed).
    return get_requests_connector(
        session=http,
        msg_protocol="rest",
        url=api_url,
        timeout=REQUEST_TIMEOUT,
        pool_size=0,
        provider_filter_chain=chain,
    )


class SdkClient:
    """The vendor stubs of every operation we use, on one ``requests.Session``."""

    def __init__(self, base_url: str, ca_file: Path, wire: WireLog) -> None:
        self.api_url = base_url + "/api"
        self.http = requests.Session()
        self.http.verify = str(ca_file)
        self.http.trust_env = False  # REQUESTS_CA_BUNDLE would override verify (§8.7)
        self.http.hooks["response"].append(wire.hook)
        config = StubConfigurationFactory.new_std_configuration(_connector(self.http, self.api_url))
        self.session = plain_json(Session(config))
        self.summary = plain_json(Summary(config))
        self.upgrades = plain_json(Upgrades(config))
        self.jobs = plain_json(Jobs(config))
        self.versions = plain_json(Versions(config))
        self.prechecks = plain_json(Prechecks(config))
        self.tasks = plain_json(Tasks(config))

    def create_session(self, user: str, password: str) -> str:
        """``Session.create`` with Basic credentials; does not change the current session."""
        context = create_user_password_security_context(user, password)
        chain = [LegacySecurityContextFilter(security_context=context)]
        config = StubConfigurationFactory.new_std_configuration(
            _connector(self.http, self.api_url, chain)
        )
        saved = self.http.headers.pop(SESSION_HEADER, None)
        try:
            token = plain_json(Session(config)).create()
        finally:
            if saved is not None:
                self.http.headers[SESSION_HEADER] = saved
        assert isinstance(token, str)
        return token

    def login(self, user: str, password: str) -> str:
        """Create a session and use it for every later call."""
        token = self.create_session(user, password)
        self.use(token)
        return token

    def use(self, token: str | None) -> None:
        """Send ``token`` as the session header from now on (None: no header)."""
        if token is None:
            self.http.headers.pop(SESSION_HEADER, None)
        else:
            self.http.headers[SESSION_HEADER] = token

    @property
    def token(self) -> str | None:
        """The session token sent with every call, if any."""
        value = self.http.headers.get(SESSION_HEADER)
        return None if value is None else str(value)

    def close(self) -> None:
        """Delete the session if there is one (best effort) and close the connections."""
        try:
            if self.token is not None:
                self.session.delete()
        except VapiError:
            pass
        finally:
            self.use(None)
            # urllib3 2.x drops its pools on clear() without closing them; a pool lives on
            # (with its open connection) while an SDK exception still references a response.
            for adapter in self.http.adapters.values():
                manager = getattr(adapter, "poolmanager", None)
                if manager is not None:
                    for key in list(manager.pools.keys()):
                        manager.pools[key].close()
            self.http.close()


def error_of(exc: VapiError) -> tuple[str | None, int | None]:
    """The ``error_type`` and HTTP status of a vAPI error raised by a stub.

    The 9.1 and session operations parse the body into the exception (``exc.error_type``);
    the cis task operations map by status and keep the whole body in ``exc.data`` (§8.2).
    """
    kind = getattr(exc, "error_type", None)
    data = getattr(exc, "data", None)
    if kind is None and data is not None:
        kind = data.to_dict().get("error_type")
    return (None if kind is None else str(kind)), exc.get_status_code()


def wait_until(fetch: Callable[[], T], done: Callable[[T], bool], *, limit: float = 10.0) -> T:
    """Call ``fetch`` until ``done`` holds for its result; AssertionError after ``limit`` s."""
    deadline = time.monotonic() + limit
    while True:
        value = fetch()
        if done(value):
            return value
        assert time.monotonic() < deadline, f"not reached within {limit} s; last: {value}"
        time.sleep(0.02)


# --- the simulator in a thread --------------------------------------------------------------


@contextmanager
def serve_in_thread(toml: str, workdir: Path) -> Iterator[SimThread]:
    """Serve a scenario from a daemon thread (``tests.simthread``) until the block exits."""
    served = SimThread(toml, workdir).start()
    try:
        yield served
    finally:
        served.close()


__all__ = [
    "SESSION_HEADER",
    "Exchange",
    "Jobs",
    "Prechecks",
    "SdkClient",
    "SimThread",
    "Summary",
    "Tasks",
    "Upgrades",
    "VapiError",
    "Versions",
    "WireLog",
    "error_of",
    "plain_json",
    "serve_in_thread",
    "wait_until",
]
