"""The plan checks that span the document: references, duplicates, files, the window.

The models (:mod:`fleetupgrade.plan.model`) check each value on its own; what needs the
whole plan (references between sections, one Supervisor one entry, "not both" pairs,
files next to the plan, window arithmetic) is checked here, on the raw TOML data, so it
runs even when some values are invalid: an operator sees every problem in one pass.
Deprecations come back as warnings; everything else is an error.
"""

from __future__ import annotations

import difflib
import re
import ssl
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from fleetupgrade.durations import parse_duration
from fleetupgrade.errors import Issue
from fleetupgrade.plan.urls import url_problem

__all__ = ["cross_check"]

_THUMBPRINT = re.compile(r"^sha256:[0-9A-Fa-f]{2}(:[0-9A-Fa-f]{2}){31}$")
_LISTED = 10
_NOT_BOTH = (
    ("max_precheck_errors", "max_precheck_error_percent"),
    ("max_failures", "max_failure_percent"),
    ("max_upgrade_failures", "max_failures"),
    ("max_upgrade_failures", "max_failure_percent"),
    ("expected_upgrade_duration", "expected_upgrade_duration_per_node"),
)


def _dicts(value: Any) -> Iterator[tuple[int, dict[str, Any]]]:
    if isinstance(value, list):
        for index, item in enumerate(value):
            if isinstance(item, dict):
                yield index, item


def _not_both(where: str, table: dict[str, Any]) -> Iterator[Issue]:
    for first, second in _NOT_BOTH:
        if first in table and second in table:
            yield Issue(where, f"set at most one of {first} or {second}")


def _ca_problem(base: Path, value: str) -> str | None:
    """Load the CA bundle exactly as the client will; say why it cannot be used."""
    try:
        path = (base / value).resolve()
        if not path.is_file():
            return f"not a file: {path}" if path.exists() else f"file not found: {path}"
        data = path.read_bytes()
    except OSError as exc:
        return f"cannot read {base / value}: {exc.strerror or type(exc).__name__}"
    except (ValueError, RuntimeError) as exc:
        return f"unusable path: {exc}"
    if not data.strip():
        return f"{path} is empty: expected PEM certificates (-----BEGIN CERTIFICATE-----)"
    try:
        # The parse the client's context does, without loading the system store first.
        ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT).load_verify_locations(cafile=str(path))
    except (ssl.SSLError, ValueError) as exc:
        reason = getattr(exc, "reason", None) or "unreadable"
        return f"{path} is not a PEM CA bundle ({reason}): expected -----BEGIN CERTIFICATE-----"
    except OSError as exc:
        return f"cannot read {path}: {exc.strerror or type(exc).__name__}"
    return None


def _check_vcenter(where: str, vc: dict[str, Any], base: Path) -> Iterator[Issue]:
    if ("username" in vc) == ("username_env" in vc):
        yield Issue(where, "set exactly one of username or username_env")
    # A literal password gets its own, better message (an unknown key, in the models).
    if "password" not in vc and ("password_env" in vc) == ("password_file" in vc):
        yield Issue(where, "set exactly one of password_env or password_file")
    url = vc.get("url")
    problem = url_problem(url, quote=True) if isinstance(url, str) and url else None
    if problem is not None:
        yield Issue(f"{where}.url", problem)
    ca_file = vc.get("ca_file")
    problem = _ca_problem(base, ca_file) if isinstance(ca_file, str) and ca_file else None
    if problem is not None:
        yield Issue(f"{where}.ca_file", problem)
    thumbprint = vc.get("tls_thumbprint")
    if isinstance(thumbprint, str) and not _THUMBPRINT.match(thumbprint):
        yield Issue(
            f"{where}.tls_thumbprint",
            "expected 'sha256:' and 32 colon-separated hex bytes (AB:CD:…), "
            "the SHA-256 of the server certificate",
        )


def _unknown_vcenter(vcenter: str, known: list[str]) -> str:
    """All known names for a small fleet; the closest few for a fleet of hundreds."""
    if len(known) <= _LISTED:
        return f"unknown vCenter '{vcenter}' (known: {', '.join(known) or 'none'})"
    close = difflib.get_close_matches(vcenter, known, n=3, cutoff=0.6)
    hint = f"did you mean {', '.join(repr(c) for c in close)}? " if close else ""
    return f"unknown vCenter '{vcenter}' ({hint}{len(known)} vCenters are declared)"


def _entry(wave: dict[str, Any], w_index: int, s_index: int) -> str:
    name = wave.get("name")
    label = f'wave "{name}"' if isinstance(name, str) else f"waves[{w_index}]"
    return f"{label} supervisors[{s_index}]"


def _check_wave(where: str, wave: dict[str, Any]) -> Iterator[Issue]:
    yield from _not_both(where, wave)
    if "max_upgrade_failures" in wave:
        yield Issue(
            f"{where}.max_upgrade_failures",
            "max_upgrade_failures is deprecated: write max_failures (same meaning)",
            "warning",
        )


def _check_waves(data: dict[str, Any], known: list[str]) -> Iterator[Issue]:
    defaults = data.get("defaults") if isinstance(data.get("defaults"), dict) else {}
    has_default_version = isinstance(defaults, dict) and "desired_version" in defaults
    if data.get("waves") == []:
        yield Issue("waves", "must not be empty (a fleet file has no waves key at all)")
    wave_names: dict[str, int] = {}
    seen: dict[tuple[str, str, str], tuple[str, str]] = {}
    for w_index, wave in _dicts(data.get("waves")):
        where = f"waves[{w_index}]"
        name = wave.get("name")
        if isinstance(name, str):
            if name in wave_names:
                yield Issue(
                    f"{where}.name",
                    f"duplicate wave name '{name}' (also waves[{wave_names[name]}])",
                )
            wave_names.setdefault(name, w_index)
        yield from _check_wave(where, wave)
        for s_index, ref in _dicts(wave.get("supervisors")):
            at = f"{where}.supervisors[{s_index}]"
            vcenter = ref.get("vcenter")
            if isinstance(vcenter, str) and vcenter not in known:
                yield Issue(f"{at}.vcenter", _unknown_vcenter(vcenter, known))
            if ("id" in ref) == ("name" in ref):
                yield Issue(at, "set exactly one of id or name")
            for kind in ("id", "name"):
                value = ref.get(kind)
                if isinstance(value, str) and isinstance(vcenter, str):
                    here = (at, _entry(wave, w_index, s_index))
                    first = seen.setdefault((vcenter, kind, value), here)
                    if first[0] != at:
                        yield Issue(
                            at,
                            f"{vcenter}/{value} ({kind}) appears twice in the plan: "
                            f"{first[1]} and {here[1]}",
                        )
            if "desired_version" not in ref and not has_default_version:
                yield Issue(at, "no desired_version: set it here or in [defaults]")


def _as_utc(value: datetime) -> datetime | None:
    try:
        return value.astimezone(UTC)
    except (OverflowError, ValueError):
        return None


def _check_window(window: dict[str, Any]) -> Iterator[Issue]:
    times: dict[str, datetime] = {}
    local_end: datetime | None = None
    for key in ("start", "end"):
        value = window.get(key)
        if isinstance(value, str):
            try:
                value = datetime.fromisoformat(value)
            except ValueError:
                continue  # the model reports it
        if isinstance(value, datetime) and value.utcoffset() is not None:
            utc = _as_utc(value)
            if utc is None:
                yield Issue(f"window.{key}", "out of range: not representable in UTC")
            else:
                times[key] = utc
                local_end = value if key == "end" else local_end
    if "start" in times and "end" in times and not times["start"] < times["end"]:
        yield Issue("window", "start must be before end (end must be after start)")
    grace = window.get("grace", "0s")
    try:
        grace_delta = parse_duration(grace) if isinstance(grace, str) else timedelta(0)
    except ValueError:
        return  # the model reports it
    if local_end is not None:
        try:  # both in UTC and on the wall clock of the offset the plan wrote
            times["end"] + grace_delta
            local_end + grace_delta
        except OverflowError:
            yield Issue(
                "window.grace",
                "end + grace is beyond the last representable instant (year 9999)",
            )


def _check_notify(data: dict[str, Any]) -> Iterator[Issue]:
    for index, target in _dicts(data.get("notify")):
        where = f"notify[{index}]"
        if ("url" in target) == ("url_env" in target):
            yield Issue(where, "set exactly one of url or url_env")
        url = target.get("url")
        problem = url_problem(url, allow_query=True) if isinstance(url, str) and url else None
        if problem is not None:
            yield Issue(f"{where}.url", f"{problem} (the URL is a secret: not shown)")
        events = target.get("events")
        if isinstance(events, list):
            repeated = sorted({e for e in events if isinstance(e, str) and events.count(e) > 1})
            if repeated:
                yield Issue(f"{where}.events", f"listed twice: {', '.join(repeated)}")


def cross_check(data: dict[str, Any], base: Path) -> list[Issue]:
    """Every document-wide problem of raw plan data (types are the models' business)."""
    issues: list[Issue] = []
    names: dict[str, int] = {}
    for index, vc in _dicts(data.get("vcenters")):
        where = f"vcenters[{index}]"
        name = vc.get("name")
        if isinstance(name, str):
            if name in names:
                issues.append(
                    Issue(
                        f"{where}.name",
                        f"duplicate vCenter name '{name}' (also vcenters[{names[name]}])",
                    )
                )
            names.setdefault(name, index)
        issues.extend(_check_vcenter(where, vc, base))
    defaults = data.get("defaults")
    if isinstance(defaults, dict):
        issues.extend(_not_both("defaults", defaults))
    issues.extend(_check_waves(data, list(names)))
    window = data.get("window")
    if isinstance(window, dict):
        issues.extend(_check_window(window))
    issues.extend(_check_notify(data))
    return issues
