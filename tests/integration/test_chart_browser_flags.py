"""The chart-export Chromium runs without choreographer's --disable-web-security and
--allow-file-access-from-files, and still renders PNG and SVG."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from app.reports import charts
from app.reports import export as chart_export

CHROMIUM = "/usr/bin/chromium"


def command_lines(pid: int) -> list[list[str]]:
    """The command lines of a process and all its descendants (Linux /proc)."""
    found, todo = [], [pid]
    while todo:
        current = todo.pop()
        try:
            raw = Path(f"/proc/{current}/cmdline").read_bytes()
            children = Path(f"/proc/{current}/task/{current}/children").read_text().split()
        except OSError:
            continue
        found.append([part.decode() for part in raw.split(b"\0") if part])
        todo.extend(int(child) for child in children)
    return found


@pytest.mark.skipif(not os.access(CHROMIUM, os.X_OK), reason="Debian's chromium is not here")
def test_the_export_browser_runs_without_the_unsafe_flags():
    exporter = chart_export.ChartExporter(CHROMIUM, timeout=60)
    figure = charts.engagement_figure({"sent": 0, "attempted": 0})
    try:
        assert exporter.export(figure, "png").startswith(b"\x89PNG")
        assert exporter.export(figure, "svg").lstrip().startswith(b"<svg")
        lines = command_lines(exporter._kaleido.subprocess.pid)
        browsers = [line for line in lines if any("chromium" in part for part in line)]
        assert browsers, lines
        for line in browsers:
            assert not chart_export.UNSAFE_FLAGS & set(line), line
            assert "--disable-background-networking" in line or "--type=" in " ".join(line)
    finally:
        exporter.stop()
