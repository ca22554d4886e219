"""report.html in a real browser: the timeline is drawn and the page fetches nothing.

Needs headless Chromium (Debian package ``chromium``). Skipped where it is absent, except
on CI (``CI`` set), where its absence is a failure: CI installs it.
"""

from __future__ import annotations

import json
import os
import shutil
import struct
import subprocess
import zlib
from collections import Counter
from pathlib import Path

import pytest

from fleetupgrade.report import render_html
from fleetupgrade.report._format import OUTCOME_COLOURS
from tests.report.sample import sample_report

pytestmark = pytest.mark.chromium

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
BROWSER_OWN_INITIATOR = "not an origin"  # Chromium's own background traffic, not the page's


@pytest.fixture
def chromium() -> str:
    if CHROMIUM is None:
        if os.environ.get("CI"):
            pytest.fail("chromium is not installed (CI must install the Debian package chromium)")
        pytest.skip("chromium is not installed")
    return CHROMIUM


def _screenshot(browser: str, page: Path, tmp_path: Path) -> tuple[Path, list[str]]:
    """Render ``page`` offline; return the PNG and every URL the page itself requested."""
    png, netlog = tmp_path / "shot.png", tmp_path / "net.json"
    subprocess.run(
        [
            browser,
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-quic",
            "--no-first-run",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--disable-extensions",
            "--hide-scrollbars",
            f"--user-data-dir={tmp_path / 'profile'}",
            f"--screenshot={png}",
            "--window-size=1200,1600",
            "--host-resolver-rules=MAP * ~NOTFOUND",
            f"--log-net-log={netlog}",
            page.as_uri(),
        ],
        check=True,
        capture_output=True,
        timeout=60,
    )
    log = json.loads(netlog.read_text(encoding="utf-8"))
    start_job = log["constants"]["logEventTypes"]["URL_REQUEST_START_JOB"]
    requested = [
        event["params"]["url"]
        for event in log["events"]
        if event["type"] == start_job
        and "url" in event.get("params", {})
        and event["params"].get("initiator") != BROWSER_OWN_INITIATOR
    ]
    return png, requested


def _pixels(png: Path) -> tuple[int, int, list[bytes]]:
    """A tiny PNG decoder (8-bit RGB/RGBA, not interlaced): width, height, RGB rows."""
    data = png.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    pos, idat, header = 8, b"", b""
    while pos < len(data):
        (length,) = struct.unpack(">I", data[pos : pos + 4])
        kind, body = data[pos + 4 : pos + 8], data[pos + 8 : pos + 8 + length]
        if kind == b"IHDR":
            header = body
        elif kind == b"IDAT":
            idat += body
        pos += 12 + length
    width, height, depth, colour, _, _, interlace = struct.unpack(">IIBBBBB", header)
    assert (depth, interlace) == (8, 0)
    channels = {2: 3, 6: 4}[colour]
    raw, stride = zlib.decompress(idat), width * channels
    rows: list[bytes] = []
    previous = bytearray(stride)
    for y in range(height):
        kind = raw[y * (stride + 1)]
        line = bytearray(raw[y * (stride + 1) + 1 : (y + 1) * (stride + 1)])
        for i in range(stride):
            left = line[i - channels] if i >= channels else 0
            up = previous[i]
            corner = previous[i - channels] if i >= channels else 0
            if kind == 1:
                line[i] = (line[i] + left) & 0xFF
            elif kind == 2:
                line[i] = (line[i] + up) & 0xFF
            elif kind == 3:
                line[i] = (line[i] + (left + up) // 2) & 0xFF
            elif kind == 4:
                p = left + up - corner
                pa, pb, pc = abs(p - left), abs(p - up), abs(p - corner)
                pred = left if pa <= pb and pa <= pc else up if pb <= pc else corner
                line[i] = (line[i] + pred) & 0xFF
        previous = line
        rows.append(bytes(b for i, b in enumerate(line) if i % channels < 3))
    return width, height, rows


def _histogram(rows: list[bytes]) -> Counter[bytes]:
    return Counter(row[x : x + 3] for row in rows for x in range(0, len(row), 3))


def _count(histogram: Counter[bytes], hex_colour: str, tolerance: int = 10) -> int:
    """Pixels within ``tolerance`` of the colour (antialiasing and colour management)."""
    target = bytes.fromhex(hex_colour.lstrip("#"))
    return sum(
        n
        for colour, n in histogram.items()
        if all(abs(colour[c] - target[c]) <= tolerance for c in range(3))
    )


def test_timeline_is_drawn_offline(chromium: str, tmp_path: Path) -> None:
    """Chromium renders the timeline bars in their outcome colours, fetching nothing."""
    page = tmp_path / "report.html"
    page.write_text(render_html(sample_report()), encoding="utf-8")
    png, requested = _screenshot(chromium, page, tmp_path)
    assert requested == []
    width, height, rows = _pixels(png)
    assert (width, height) == (1200, 1600)
    # Long bars: upgraded (two 20-minute jobs), failed (40 min) and timed out (64 min).
    histogram = _histogram(rows)
    for outcome in ("upgraded", "failed", "timed_out"):
        assert _count(histogram, OUTCOME_COLOURS[outcome]) > 1500, outcome


def test_network_check_catches_external_references(chromium: str, tmp_path: Path) -> None:
    """The offline check itself works: a page with an external image is caught."""
    page = tmp_path / "external.html"
    page.write_text('<img src="http://example.invalid/x.png">', encoding="utf-8")
    _, requested = _screenshot(chromium, page, tmp_path)
    assert requested == ["http://example.invalid/x.png"]
