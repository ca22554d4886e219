"""The plan checks that span the document, and pydantic errors turned into located issues.

The models in :mod:`fleetupgrade.plan` check each value on its own; what needs the whole
plan (references between sections, duplicates, files next to the plan, the window) is
checked here, on the raw TOML data, so that it runs even when some values are invalid:
an operator sees every problem in one pass.
"""

from __future__ import annotations

import difflib
import ipaddress
import re
from collections.abc import Iterator
from datetime import date, datetime, time
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from pydantic import BaseModel, ValidationError

from fleetupgrade.errors import Issue

_THUMBPRINT = re.compile(r"^sha256:[0-9A-Fa-f]{2}(:[0-9A-Fa-f]{2}){31}$")
_SECTIONS = {
    (): "Plan",
    ("defaults",): "Defaults",
    ("window",): "Window",
    ("vcenters",): "VCenterConfig",
    ("waves",): "Wave",
    ("waves", "supervisors"): "SupervisorRef",
}


_EXPECTED = {
    "int_type": "an integer",
    "bool_type": "a boolean (true or false)",
    "string_type": "a string",
    "float_type": "a number",
    "tuple_type": "an array",
    "list_type": "an array",
    "model_type": "a table",
    "model_attributes_type": "a table",
    "dict_type": "a table",
    "finite_number": "a finite number",
}
_LISTED = 10
_FRIENDLY = {
    "timezone_aware": "a window time needs an offset, e.g. 2026-12-05T22:00:00Z",
    "string_pattern_mismatch": "use lower-case letters, digits and '-' (e.g. q4-upgrade)",
    "too_short": "must not be empty",
}


def toml_type(value: object) -> str:
    """Name a parsed TOML value's type as the TOML spec does (values are not echoed)."""
    kinds: list[tuple[type | tuple[type, ...], str]] = [
        (bool, "a boolean"),
        (int, "an integer"),
        (float, "a float"),
        (str, "a string"),
        (datetime, "a date-time"),
        (date, "a local date"),
        (time, "a local time"),
        ((list, tuple), "an array"),
        (dict, "a table"),
    ]
    return next((name for kind, name in kinds if isinstance(value, kind)), type(value).__name__)


def location(loc: tuple[int | str, ...]) -> str:
    """``('waves', 2, 'supervisors', 0, 'vcenter')`` → ``waves[2].supervisors[0].vcenter``."""
    out = ""
    for part in loc:
        if isinstance(part, int):
            out += f"[{part}]"
        else:
            out += ("." if out else "") + str(part)
    return out


def _model_fields(section: tuple[str, ...], root: type[BaseModel]) -> list[str]:
    name = _SECTIONS.get(section)
    model: type[BaseModel] = root
    for field_name in section:
        annotation = model.model_fields[field_name].annotation
        model = _inner_model(annotation) or model
    if name is None:
        return []
    return list(model.model_fields)


def _inner_model(annotation: Any) -> type[BaseModel] | None:
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return annotation
    for arg in getattr(annotation, "__args__", ()) or ():
        found = _inner_model(arg)
        if found is not None:
            return found
    for meta in getattr(annotation, "__metadata__", ()) or ():
        found = _inner_model(meta)
        if found is not None:
            return found
    origin = getattr(annotation, "__origin__", None)
    return _inner_model(origin) if origin not in (None, annotation) else None


def _unknown_key(loc: tuple[int | str, ...], root: type[BaseModel]) -> str:
    key = str(loc[-1])
    section = tuple(str(p) for p in loc[:-1] if not isinstance(p, int))
    if key == "password" and section == ("vcenters",):
        return (
            "a literal password is not allowed in a plan: use password_env (an environment "
            "variable) or password_file (a file readable only by the service account)"
        )
    known = _model_fields(section, root)
    close = difflib.get_close_matches(key, known, n=1, cutoff=0.6)
    hint = f"; did you mean '{close[0]}'?" if close else f" (known keys: {', '.join(known)})"
    return f"unknown key '{key}'{hint}"


def issues_from_validation(exc: ValidationError, root: type[BaseModel]) -> list[Issue]:
    """Each pydantic error as a located, plain-English issue."""
    issues = []
    for error in exc.errors(include_url=False):
        loc = tuple(error["loc"])
        if error["type"] == "too_short" and error.get("input"):
            continue  # pydantic counts only valid items; the invalid ones are reported
        if error["type"] == "extra_forbidden":
            message = _unknown_key(loc, root)
        elif error["type"] == "missing":
            message = "required key is missing"
        elif error["type"] in _EXPECTED:
            value = error.get("input")
            message = f"expected {_EXPECTED[error['type']]}, got {toml_type(value)}"
            if error["type"] == "float_type" and type(value) is int:
                message = "number out of range"
        else:
            message = str(error["msg"]).removeprefix("Value error, ")
            message = message.replace("datetime.timedelta(0)", "0s")
            message = _FRIENDLY.get(str(error["type"]), message)
        issues.append(Issue(location(loc), message))
    return issues


def _dicts(value: Any) -> Iterator[tuple[int, dict[str, Any]]]:
    if isinstance(value, list):
        for index, item in enumerate(value):
            if isinstance(item, dict):
                yield index, item


def _is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def _url_problem(url: str) -> str | None:
    """What is wrong with a vCenter URL, without ever echoing credentials."""
    try:
        parts = urlsplit(url)
        parts.port  # noqa: B018 - parsing the port is the check
    except ValueError as exc:
        return f"not a valid URL: {exc}"
    if parts.username is not None or parts.password is not None:
        return (
            "a URL must not carry credentials (user@ or user:password@): "
            "secrets never live in a plan"
        )
    if parts.scheme not in ("https", "http") or not parts.hostname:
        return f"not an https URL: {url!r}"
    if parts.query or parts.fragment:
        return "no query or fragment: the client appends /api/… to the URL"
    if parts.scheme == "http" and not _is_loopback(parts.hostname):
        return "plain http is allowed only to a loopback address: use https"
    return None


def _file_problem(base: Path, value: str) -> str | None:
    try:
        path = (base / value).resolve()
        if path.is_file():
            return None
        return f"not a file: {path}" if path.exists() else f"file not found: {path}"
    except OSError as exc:
        return f"unusable path: {exc.strerror or type(exc).__name__}"
    except (ValueError, RuntimeError) as exc:
        return f"unusable path: {exc}"


def _check_vcenter(where: str, vc: dict[str, Any], base: Path) -> Iterator[Issue]:
    if ("username" in vc) == ("username_env" in vc):
        yield Issue(where, "set exactly one of username or username_env")
    # A literal password gets its own, better message (an unknown key, in the models).
    if "password" not in vc and ("password_env" in vc) == ("password_file" in vc):
        yield Issue(where, "set exactly one of password_env or password_file")
    url = vc.get("url")
    problem = _url_problem(url) if isinstance(url, str) else None
    if problem is not None:
        yield Issue(f"{where}.url", problem)
    for key in ("ca_file", "password_file"):
        value = vc.get(key)
        problem = _file_problem(base, value) if isinstance(value, str) and value else None
        if problem is not None:
            yield Issue(f"{where}.{key}", problem)
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


def _check_waves(data: dict[str, Any], known: list[str]) -> Iterator[Issue]:
    defaults = data.get("defaults") if isinstance(data.get("defaults"), dict) else {}
    has_default_version = isinstance(defaults, dict) and "desired_version" in defaults
    wave_names: dict[str, int] = {}
    seen: dict[tuple[str, str, str], str] = {}
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
        if "max_precheck_errors" in wave and "max_precheck_error_percent" in wave:
            yield Issue(
                where, "set at most one of max_precheck_errors or max_precheck_error_percent"
            )
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
                    first = seen.setdefault((vcenter, kind, value), at)
                    if first != at:
                        yield Issue(
                            at, f"{vcenter}/{value} appears twice in the plan (first at {first})"
                        )
            if "desired_version" not in ref and not has_default_version:
                yield Issue(at, "no desired_version: set it here or in [defaults]")


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
    issues.extend(_check_waves(data, list(names)))
    window = data.get("window")
    if isinstance(window, dict):
        start, end = window.get("start"), window.get("end")
        if (
            isinstance(start, datetime)
            and isinstance(end, datetime)
            and start.tzinfo is not None
            and end.tzinfo is not None
            and not start < end
        ):
            issues.append(Issue("window", "start must be before end"))
    return issues
