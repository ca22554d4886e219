"""Precheck messages grouped for readers: which problem blocked which Supervisors.

A Supervisor is filed by its *outcome*, not by the severity of each message: one that
ended ``precheck_warning`` is listed under "blocked by a WARNING" even though vCenter adds
a generic ERROR-severity "upgrade blocked" message to it, and one that ended
``precheck_error`` under "blocked by an ERROR". Supervisors that were not blocked
(warnings ignored, dry-run findings) come last. Within a section each precheck id is
listed once, and under it each Supervisor once, whatever the number of times vCenter
repeated the message.
"""

from __future__ import annotations

from dataclasses import dataclass

from fleetupgrade.outcomes import Outcome
from fleetupgrade.report._format import one_line
from fleetupgrade.report.model import Report

_SEVERITY_RANK = {"ERROR": 0, "WARNING": 1, "INFO": 2}
SECTIONS = ("ERROR", "WARNING", "")
SECTION_TITLES = {
    "ERROR": "Blocked by a precheck ERROR",
    "WARNING": "Blocked by a precheck WARNING",
    "": "Not blocking",
}
"""Section key (the blocking severity, or empty) → its heading."""
_BLOCKED_BY = {Outcome.PRECHECK_ERROR: "ERROR", Outcome.PRECHECK_WARNING: "WARNING"}


@dataclass(frozen=True, slots=True)
class MessageHit:
    """One Supervisor a precheck message was reported for."""

    wave: str
    vcenter: str
    supervisor: str
    text: str


@dataclass(frozen=True, slots=True)
class MessageGroup:
    """Every Supervisor of one section that one precheck id hit, each listed once.

    ``section`` is the severity that blocked them (``ERROR``/``WARNING``) or empty when
    they were not blocked; ``severity`` is the message's own (the worst among the hits).
    """

    section: str
    id: str
    severity: str
    hits: tuple[MessageHit, ...]

    @property
    def title(self) -> str:
        """The heading of this group's section."""
        return SECTION_TITLES[self.section]


def group_messages(report: Report) -> list[MessageGroup]:
    """Groups by section (ERROR-blocked, WARNING-blocked, others), then severity, then id."""
    hits: dict[tuple[str, str], dict[tuple[str, str, str], list[str]]] = {}
    severities: dict[tuple[str, str], str] = {}
    for wave, sv in report.supervisors():
        if not sv.messages:
            continue
        section = _BLOCKED_BY.get(sv.outcome, "") if sv.outcome is not None else ""
        who = (one_line(wave.name), one_line(sv.vcenter), one_line(sv.label))
        for message in sv.messages:
            key = (section, one_line(message.id))
            severity = one_line(message.severity).upper()
            known = severities.get(key)
            if known is None or _rank(severity) < _rank(known):
                severities[key] = severity
            texts = hits.setdefault(key, {}).setdefault(who, [])
            text = one_line(message.text)
            if text not in texts:
                texts.append(text)
    order = sorted(
        hits,
        key=lambda k: (SECTIONS.index(k[0]), _rank(severities[k]), severities[k], k[1]),
    )
    return [
        MessageGroup(
            section=key[0],
            id=key[1],
            severity=severities[key],
            hits=tuple(
                MessageHit(wave, vcenter, supervisor, " / ".join(texts))
                for (wave, vcenter, supervisor), texts in hits[key].items()
            ),
        )
        for key in order
    ]


def message_sections(report: Report) -> list[tuple[str, list[MessageGroup]]]:
    """The groups under their section's heading, sections in order (none without groups)."""
    sections: dict[str, list[MessageGroup]] = {}
    for group in group_messages(report):
        sections.setdefault(group.title, []).append(group)
    return list(sections.items())


def _rank(severity: str) -> int:
    return _SEVERITY_RANK.get(severity, 9)
