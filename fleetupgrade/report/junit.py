"""The report as JUnit XML (``junit.xml``), so CI servers show each Supervisor as a test.

One ``<testsuite>`` per wave, one ``<testcase classname="<wave>.<vcenter>"
name="<supervisor>">`` per Supervisor. Outcomes that need a human (precheck findings,
failures, time-outs, rejections, unreachable vCenters, dry-run ``in_progress``) are
``<failure>``; Supervisors the run never touched or left running (``not_started``,
``detached``) and those still pending in a partial report are ``<skipped>``. The document
is built with ``xml.etree`` so escaping is always right; control characters XML cannot
carry are replaced first.

A simulated run says so where CI shows it: every suite name (and the document's) starts
with ``[SIMULATED]``, and every suite carries a ``simulated`` property.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET

from fleetupgrade.outcomes import FAILURE_OUTCOMES, SKIPPED_OUTCOMES
from fleetupgrade.report._format import (
    clean,
    format_seconds,
    human_seconds,
    one_line,
    outcome_key,
)
from fleetupgrade.report.model import Report, SupervisorReport, WaveReport
from fleetupgrade.timefmt import format_instant

SIMULATED_PREFIX = "[SIMULATED] "


def _case(wave: WaveReport, sv: SupervisorReport) -> tuple[ET.Element, str]:
    """One test case and its kind: ``passed``, ``failure`` or ``skipped``."""
    case = ET.Element(
        "testcase",
        classname=f"{one_line(wave.name)}.{one_line(sv.vcenter)}",
        name=one_line(sv.label),
        time=format_seconds(sv.started_at, sv.finished_at),
    )
    key = outcome_key(sv.outcome)
    message = f"{key}: {one_line(sv.reason)}" if sv.reason else key
    details = [f"outcome: {key}"]
    details += [f"reason: {clean(sv.reason)}"] if sv.reason else []
    details += [f"task: {clean(sv.task_id)}"] if sv.task_id else []
    details += [f"version: {sv.from_version or '?'} -> {sv.to_version or '?'}"]
    if sv.health_wait_seconds is not None:
        details += [f"healthy after: {human_seconds(sv.health_wait_seconds)}"]
    details += [f"{clean(m.severity)} {clean(m.id)}: {clean(m.text)}" for m in sv.messages]
    if sv.outcome in FAILURE_OUTCOMES:
        failure = ET.SubElement(case, "failure", message=message, type=key)
        failure.text = "\n".join(details)
        kind = "failure"
    elif sv.outcome is None or sv.outcome in SKIPPED_OUTCOMES:
        ET.SubElement(case, "skipped", message=message)
        kind = "skipped"
    else:
        kind = "passed"
    if sv.messages and kind != "failure":
        ET.SubElement(case, "system-out").text = "\n".join(details)
    return case, kind


def render_junit(report: Report) -> str:
    """The whole report as a JUnit XML document, ending with a newline."""
    prefix = SIMULATED_PREFIX if report.simulated else ""
    root = ET.Element(
        "testsuites",
        name=f"{prefix}fleetupgrade {one_line(report.plan.name)} {one_line(report.run_id)}",
    )
    totals = {"tests": 0, "failures": 0, "skipped": 0}
    run_properties = [("simulated", "true" if report.simulated else "false")]
    if report.scenario_sha256:
        run_properties.append(("scenario_sha256", one_line(report.scenario_sha256)))
    for wave in report.waves:
        suite = ET.SubElement(root, "testsuite", name=prefix + one_line(wave.name))
        counts = {"passed": 0, "failure": 0, "skipped": 0}
        for sv in wave.supervisors:
            case, kind = _case(wave, sv)
            suite.append(case)
            counts[kind] += 1
        tests = len(wave.supervisors)
        suite.set("tests", str(tests))
        suite.set("failures", str(counts["failure"]))
        suite.set("errors", "0")
        suite.set("skipped", str(counts["skipped"]))
        suite.set("time", format_seconds(wave.started_at, wave.finished_at))
        if wave.started_at is not None:
            suite.set("timestamp", format_instant(wave.started_at))
        properties = ET.Element("properties")
        for name, value in (
            ("status", str(wave.status)),
            ("threshold", f"{wave.threshold.kind} {wave.threshold.limit:g}"),
            ("precheck_errors", str(wave.precheck_errors)),
            ("upgrade_failures", str(wave.upgrade_failures)),
            *run_properties,
        ):
            ET.SubElement(properties, "property", name=name, value=value)
        suite.insert(0, properties)
        totals["tests"] += tests
        totals["failures"] += counts["failure"]
        totals["skipped"] += counts["skipped"]
    for key, total in totals.items():
        root.set(key, str(total))
    root.set("errors", "0")
    root.set("time", format_seconds(report.started_at, report.finished_at))
    ET.indent(root)
    return ET.tostring(root, encoding="unicode", xml_declaration=True) + "\n"
