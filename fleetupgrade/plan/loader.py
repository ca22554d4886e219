"""Loading a plan: bytes → TOML → models and cross-checks → one :class:`PlanError`.

A plan is reviewed in a change ticket and run at 2 a.m., so every mistake is reported at
once, with its exact place (TOML line, wave name, key path), before anything touches a
vCenter. Both halves of validation always run: the models check each value
(:mod:`fleetupgrade.plan.model`), the cross-checks what spans the document
(:mod:`fleetupgrade.plan.rules`). Whatever the file holds, the only exception raised here
is :class:`PlanError`.
"""

from __future__ import annotations

import hashlib
import re
import tomllib
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from fleetupgrade.errors import Issue, PlanError
from fleetupgrade.plan.lines import PlanIssue, deep_nesting_line, locate
from fleetupgrade.plan.messages import issues_from_validation
from fleetupgrade.plan.model import Plan
from fleetupgrade.plan.rules import cross_check

__all__ = ["load_plan", "parse_plan"]

_TOML_AT = re.compile(
    r"^(?P<what>.*) \(at (?:line (?P<line>\d+), column (?P<col>\d+)|end of document)\)$"
)


def _toml_error(source: str, text: str, exc: tomllib.TOMLDecodeError) -> PlanError:
    """A syntax error located like every other issue: ``line 3, column 7``."""
    match = _TOML_AT.match(str(exc))
    if match is None:
        return PlanError(source, [Issue("", f"TOML syntax error: {exc}")])
    if match["line"]:
        where, line = f"line {match['line']}, column {match['col']}", int(match["line"])
    else:
        where, line = "end of file", text.count("\n") + 1
    return PlanError(source, [PlanIssue(where, f"TOML syntax error: {match['what']}", line=line)])


def _too_deep(source: str, text: str) -> PlanError:
    line = deep_nesting_line(text)
    return PlanError(
        source,
        [PlanIssue(f"line {line}", "TOML nested too deeply (more than 100 levels)", line=line)],
    )


def _unique(issues: list[Issue]) -> list[Issue]:
    seen: set[tuple[str, str]] = set()
    out = []
    for issue in issues:
        if (issue.location, issue.message) not in seen:
            seen.add((issue.location, issue.message))
            out.append(issue)
    return out


def parse_plan(text: str, *, source: str, base: Path) -> Plan:
    """Validate plan text; ``base`` is the directory relative paths start from.

    Warnings (deprecated keys) do not fail the load: they are on :attr:`Plan.warnings`.
    """
    text = text.removeprefix("\ufeff")  # editors on Windows add a BOM
    try:
        data: dict[str, Any] = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise _toml_error(source, text, exc) from None
    except RecursionError:
        raise _too_deep(source, text) from None
    issues = cross_check(data, base)
    plan = None
    try:
        plan = Plan.model_validate(data, context={"base": base})
    except ValidationError as exc:
        issues = issues_from_validation(exc, Plan) + issues
    except RecursionError:
        raise _too_deep(source, text) from None
    located = sorted(  # in file order, as an operator fixes them; unlocated ones last
        locate(_unique(issues), text, data),
        key=lambda issue: (issue.line is None, issue.line or 0),
    )
    errors = [i for i in located if i.severity == "error"]
    if errors or plan is None:
        raise PlanError(source, errors or [Issue("", "invalid plan")])
    plan._warnings = tuple(i for i in located if i.severity != "error")
    return plan


def _read(path: Path) -> tuple[bytes, str]:
    source = str(path)
    try:
        raw = path.read_bytes()
    except (OSError, ValueError) as exc:
        reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else str(exc)
        raise PlanError(source, [Issue("", f"cannot read the plan: {reason}")]) from None
    try:
        return raw, raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise PlanError(
            source, [Issue("", f"not UTF-8 text: {exc.reason} at byte {exc.start}")]
        ) from None


def load_plan(path: Path | str, *, allow_fleet: bool = True) -> Plan:
    """Load and validate a plan file; every problem at once in one :class:`PlanError`.

    ``allow_fleet=False`` (what ``run`` wants) also refuses a fleet file, a plan without
    ``[[waves]]``, with :class:`~fleetupgrade.errors.FleetFileError`.
    """
    path = Path(path)
    raw, text = _read(path)
    absolute = path.resolve()
    plan = parse_plan(text, source=str(path), base=absolute.parent)
    plan._path = absolute
    plan._sha256 = hashlib.sha256(raw).hexdigest()
    plan._source_text = text
    if not allow_fleet:
        plan.require_waves()
    return plan
