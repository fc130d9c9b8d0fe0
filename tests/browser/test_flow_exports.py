"""Flow 5, in a real browser at 1280×800 on the demo's finished campaign: the funnel chart
exported as CSV (the "Download CSV" link: parsed, the table's numbers) and as PNG, both the
server's image and the chart toolbar's (valid PNG files of a sensible size). (What every flow
shares: test_flow_contacts.py.)"""

from __future__ import annotations

import csv
import re
from pathlib import Path

from playwright.sync_api import expect

from app.drip.analytics.enrollment_counts import DROP_OFF_REASONS
from app.reports.analytics_csv import STEP_COUNTS
from tests.browser.support import (
    demo_campaigns,
    docs_shot,
    finish,
    on_screen,
    png_size,
    wait_for_charts,
)

FUNNEL_CSV_HEADER = [
    "position", "step", *(f"{m}_count" for m in STEP_COUNTS),
    "conversion_rate", "drop_off_count", "drop_off_rate",
    *(f"drop_off_{r}" for r in DROP_OFF_REASONS), "drop_off_converted",
    "drop_off_marketing_cap", "failed_by_code", "cost", "currency",
    "conversions", "revenue", "revenue_currency",  # the goal's (issue 19)
]  # fmt: skip
FUNNEL = re.compile(r"^Bar chart of contacts reached")


def test_flow_5_export_a_chart_as_csv_and_png(logged_in_page, live_server, tmp_path, request):
    page = logged_in_page  # the demo user
    on_screen(page)
    campaign_id, name = demo_campaigns(live_server)[0]
    page.get_by_role("link", name=name, exact=True).click()
    page.get_by_role("link", name="Analytics →").click()
    wait_for_charts(page)
    figure = page.get_by_role("figure", name=FUNNEL)
    download_the_csv(page, figure, tmp_path, f"campaign-{campaign_id}-funnel.csv")
    download_the_server_png(page, figure, f"campaign-{campaign_id}-funnel.png")
    download_the_toolbar_png(page, figure, f"campaign-{campaign_id}-funnel.png")
    docs_shot(page, "chart-exports", figure)
    finish(page, request)


def download_the_csv(page, figure, tmp_path: Path, filename: str) -> None:
    with page.expect_download() as download:
        figure.get_by_role("link", name="Download CSV").click()
    assert download.value.suggested_filename == filename
    saved = tmp_path / filename
    download.value.save_as(saved)
    with open(saved, newline="", encoding="utf-8") as handle:
        header, *rows = list(csv.reader(handle))
    assert header == FUNNEL_CSV_HEADER
    # One row per step, with the table's numbers (the page shows thousands separators).
    shown = page.locator("#funnel tbody tr").filter(
        has=page.locator("th", has_text=re.compile(r"^\d+\. "))
    )
    expect(shown).to_have_count(len(rows))
    assert len(rows) >= 3, rows
    for row, line in zip(rows, shown.all(), strict=True):
        expect(line.locator("th")).to_contain_text(f"{row[0]}. {row[1]}")
        reached = line.locator("td").first.inner_text()
        assert f"{int(row[2]):,}" == reached, (row, reached)
    assert int(rows[0][2]) >= 1000, rows[0]  # the demo's history: thousands of enrollments


def download_the_server_png(page, figure, filename: str) -> None:
    # Drawn by the server (Plotly through kaleido and Chromium: the first one takes seconds).
    with page.expect_download(timeout=90_000) as download:
        figure.get_by_role("link", name="PNG", exact=True).click()
    assert download.value.suggested_filename == filename
    data = Path(download.value.path()).read_bytes()
    width, height = png_size(data)
    assert 600 <= width <= 4000 and 400 <= height <= 4000, (width, height)
    assert len(data) > 10_000, len(data)


def download_the_toolbar_png(page, figure, filename: str) -> None:
    # Drawn in the browser by the chart's own toolbar (Plotly's modebar), at twice its size.
    plot = figure.locator(".chart-plot")
    plot.hover()
    with page.expect_download() as download:
        plot.get_by_label("Download plot as a PNG").click()
    assert download.value.suggested_filename == filename
    width, height = png_size(Path(download.value.path()).read_bytes())
    drawn = plot.bounding_box()
    assert abs(width - 2 * drawn["width"]) <= 4 and abs(height - 2 * drawn["height"]) <= 4, (
        (width, height),
        drawn,
    )
