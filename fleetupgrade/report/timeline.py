"""The timeline of every upgrade, as inline SVG for ``report.html``.

One row per Supervisor, grouped by vCenter, with a bar from ``started_at`` to
``finished_at`` coloured by outcome; this is where a reader sees concurrency limits,
stalls and the moment a wave halted. It is drawn server-side as plain SVG (no script, no
external asset) so the HTML stays one self-contained, printable file, and each bar carries
a ``<title>`` so browsers show its details on hover. A red line marks the instant a
wave halted (its halting decision).

Above :data:`MAX_ROWS` Supervisors one row each would be tens of thousands of pixels tall
and megabytes of SVG, so the chart aggregates instead: one band per vCenter showing how
many upgrades were in flight over time, stacked by outcome.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from html import escape

from fleetupgrade.outcomes import WaveStatus
from fleetupgrade.report._format import (
    OUTCOME_COLOURS,
    human_span,
    human_time,
    one_line,
    outcome_key,
)
from fleetupgrade.report.model import Report, SupervisorReport

LABEL_W = 250
CHART_W = 850
ROW_H = 18
BAR_H = 12
GROUP_H = 22
AXIS_H = 40
BAND_H = 60
BIN_W = 5
MAX_ROWS = 400
"""Above this many Supervisors the timeline shows in-flight counts per vCenter instead."""
WIDTH = LABEL_W + CHART_W + 40

# Tick steps in seconds; the first that gives at most ten ticks wins.
_STEPS = (1, 2, 5, 10, 15, 30, 60, 120, 300, 600, 900, 1800, 3600, 7200, 10800, 21600, 43200)
_DAY = 86400


@dataclass(frozen=True, slots=True)
class _Scale:
    """Maps instants onto the chart's x axis."""

    start: datetime
    seconds: float

    def x(self, when: datetime) -> float:
        offset = (when - self.start).total_seconds() / self.seconds
        return LABEL_W + max(0.0, min(1.0, offset)) * CHART_W


def _halts(report: Report) -> list[tuple[str, datetime]]:
    """``(wave, instant)`` of every halted wave's halting decision."""
    halts = []
    for wave in report.waves:
        decision = report.halting_decision(wave.name)
        if wave.status == WaveStatus.HALTED and decision is not None:
            halts.append((wave.name, decision.at))
    return halts


def _scale(report: Report) -> _Scale:
    instants = [report.started_at]
    if report.finished_at is not None:
        instants.append(report.finished_at)
    instants += [at for _, at in _halts(report)]
    for wave, sv in report.supervisors():
        instants += [t for t in (wave.started_at, wave.finished_at) if t is not None]
        instants += [t for t in (sv.started_at, sv.finished_at) if t is not None]
    start, end = min(instants), max(instants)
    return _Scale(start, max((end - start).total_seconds(), 1.0))


def _rows(report: Report) -> list[tuple[str, list[SupervisorReport]]]:
    """Supervisors grouped by vCenter (report order first), each group in start order."""
    order = [vc.name for vc in report.vcenters]
    groups: dict[str, list[SupervisorReport]] = {name: [] for name in order}
    for _, sv in report.supervisors():
        groups.setdefault(sv.vcenter, []).append(sv)
    far = datetime.max.replace(tzinfo=UTC)
    return [
        (name, sorted(svs, key=lambda s: (s.started_at or s.finished_at or far, s.label)))
        for name, svs in groups.items()
        if svs
    ]


def _axis(scale: _Scale, height: int) -> list[str]:
    step = next((s for s in _STEPS if scale.seconds / s <= 10), _DAY)
    first = int(scale.start.timestamp()) // step * step
    fmt = "%H:%M:%S" if step < 60 else "%H:%M"
    parts = []
    tick = first
    while tick <= scale.start.timestamp() + scale.seconds:
        when = datetime.fromtimestamp(tick, UTC)
        if when >= scale.start:
            x = scale.x(when)
            label = when.strftime(fmt if tick % _DAY else "%m-%d " + fmt)
            parts.append(
                f'<line class="grid" x1="{x:.1f}" y1="{AXIS_H - 6}" x2="{x:.1f}" y2="{height}"/>'
                f'<text class="tick" x="{x:.1f}" y="{AXIS_H - 10}">{label}</text>'
            )
        tick += step
    return parts


def _bar(sv: SupervisorReport, scale: _Scale, y: float, open_end: datetime) -> str:
    key = outcome_key(sv.outcome)
    colour = OUTCOME_COLOURS.get(key, "#777777")
    start, end = sv.started_at, sv.finished_at
    tip = f"{one_line(sv.label)} ({one_line(sv.vcenter)}): {key}"
    if start is not None:
        tip += f", {human_time(start)} to {human_time(end, 'still running')}"
        span = human_span(start, end)
        tip += f" ({span})" if span else ""
    if sv.task_id:
        tip += f", task {one_line(sv.task_id)}"
    if sv.reason:
        tip += f": {one_line(sv.reason)}"
    title = f"<title>{escape(tip)}</title>"
    if start is None and end is None:
        x = LABEL_W + 6
        return (
            f'<g><circle class="none" cx="{x}" cy="{y + BAR_H / 2:.1f}" r="4" stroke="{colour}"/>'
            f'<text class="nolabel" x="{x + 9}" y="{y + BAR_H - 2:.1f}">{escape(key)}</text>'
            f"{title}</g>"
        )
    x1 = scale.x(start or end or open_end)
    x2 = scale.x(end or open_end)
    cls = "bar" if end is not None else "bar open"
    return (
        f'<rect class="{cls}" x="{x1:.1f}" y="{y:.1f}" width="{max(x2 - x1, 3.0):.1f}" '
        f'height="{BAR_H}" rx="2" fill="{colour}">{title}</rect>'
    )


def _band(
    name: str, svs: list[SupervisorReport], scale: _Scale, y: float, open_end: datetime
) -> str:
    """One vCenter as a stacked histogram of upgrades in flight per time bin, by outcome."""
    bins = CHART_W // BIN_W
    deltas: dict[str, list[int]] = {}
    untimed = 0
    for sv in svs:
        start, end = sv.started_at, sv.finished_at
        if start is None and end is None:
            untimed += 1
            continue
        first = min(int((scale.x(start or end or open_end) - LABEL_W) // BIN_W), bins - 1)
        last = min(int((scale.x(end or open_end) - LABEL_W) // BIN_W), bins - 1)
        delta = deltas.setdefault(outcome_key(sv.outcome), [0] * (bins + 1))
        delta[first] += 1
        delta[last + 1] -= 1
    order = [key for key in OUTCOME_COLOURS if key in deltas] + sorted(
        key for key in deltas if key not in OUTCOME_COLOURS
    )
    counts: dict[str, list[int]] = {}
    for key in order:
        running, series = 0, []
        for step in deltas[key][:bins]:
            running += step
            series.append(running)
        counts[key] = series
    peak = max((sum(counts[k][i] for k in order) for i in range(bins)), default=0)
    parts = []
    if peak:
        unit = (BAND_H - 4) / peak
        for i in range(bins):
            top = y + BAND_H
            for key in order:
                n = counts[key][i]
                if n:
                    h = n * unit
                    top -= h
                    parts.append(
                        f'<rect x="{LABEL_W + i * BIN_W}" y="{top:.1f}" width="{BIN_W}" '
                        f'height="{h:.1f}" fill="{OUTCOME_COLOURS.get(key, "#777777")}"/>'
                    )
    summary = f"{len(svs)} Supervisors, at most {peak} in flight"
    if untimed:
        summary += f", {untimed} never started"
    return (
        f"<g><title>{escape(one_line(name))}: {escape(summary)}</title>"
        f'<text class="sv" x="{LABEL_W - 8}" y="{y + BAND_H / 2:.1f}">{escape(summary)}</text>'
        + "".join(parts)
        + "</g>"
    )


def render_timeline_svg(report: Report) -> str:
    """The timeline as one ``<svg>`` element (empty string when there is nothing to draw)."""
    groups = _rows(report)
    if not groups:
        return ""
    scale = _scale(report)
    open_end = scale.start + timedelta(seconds=scale.seconds)
    aggregate = sum(len(svs) for _, svs in groups) > MAX_ROWS
    row_h = BAND_H if aggregate else None
    height = (
        AXIS_H
        + 6
        + sum(GROUP_H + (row_h if row_h is not None else ROW_H * len(svs)) for _, svs in groups)
    )
    body: list[str] = []
    y = AXIS_H
    for name, svs in groups:
        body.append(
            f'<rect class="group" x="0" y="{y}" width="{WIDTH}" height="{GROUP_H - 4}"/>'
            f'<text class="vc" x="6" y="{y + GROUP_H - 9}">{escape(one_line(name))}</text>'
        )
        y += GROUP_H
        if aggregate:
            body.append(_band(name, svs, scale, y, open_end))
            y += BAND_H
            continue
        for sv in svs:
            body.append(
                f'<text class="sv" x="{LABEL_W - 8}" y="{y + BAR_H - 2}">'
                f"{escape(one_line(sv.label)[:40])}</text>"
            )
            body.append(_bar(sv, scale, y + (ROW_H - BAR_H) / 2 - 1, open_end))
            y += ROW_H
    waves = [
        f'<line class="wave" x1="{scale.x(w.started_at):.1f}" y1="{AXIS_H - 30}" '
        f'x2="{scale.x(w.started_at):.1f}" y2="{height}"/>'
        f'<text class="wave" x="{scale.x(w.started_at) + 3:.1f}" y="{AXIS_H - 26}">'
        f"{escape(one_line(w.name))}</text>"
        for w in report.waves
        if w.started_at is not None
    ]
    halts = [
        f'<g class="haltmark"><title>wave {escape(one_line(wave))} halted at '
        f"{human_time(at)}</title>"
        f'<line class="haltmark" x1="{scale.x(at):.1f}" y1="{AXIS_H - 18}" '
        f'x2="{scale.x(at):.1f}" y2="{height}"/>'
        f'<text class="haltmark" x="{scale.x(at) + 3:.1f}" y="{AXIS_H - 14}">halt</text></g>'
        for wave, at in _halts(report)
    ]
    label = "in-flight upgrades per vCenter" if aggregate else "every upgrade, by vCenter"
    return (
        f'<svg class="timeline" role="img" viewBox="0 0 {WIDTH} {height}" '
        f'width="{WIDTH}" height="{height}" aria-label="Timeline of {label}">'
        + "".join(_axis(scale, height))
        + "".join(body)
        + "".join(waves)
        + "".join(halts)
        + "</svg>"
    )
