"""The pages work in a real browser under the Content-Security-Policy: no console error, no
CSP violation, the dashboard's Plotly charts (bar, scatter, heatmap) drawn without
'unsafe-eval', and the confirmations that used to be inline handlers still ask."""

from __future__ import annotations

import re

import pytest

from app.security import CONTENT_SECURITY_POLICY
from tests.browser.conftest import assert_no_problems, csp_violations

pytestmark = pytest.mark.browser

MAIN_PAGES = (
    "/campaigns",
    "/campaigns/1",
    "/contacts",
    "/contacts/import",
    "/analytics",
    "/campaigns/1/analytics",
    "/settings",
    "/ab-tests",
    "/campaigns/1/enrollments",
    "/campaigns/1/activity",
)


def test_the_policy_is_sent_and_enforced(logged_in_page):
    page = logged_in_page
    response = page.goto("/campaigns/")
    assert response.headers["content-security-policy"] == CONTENT_SECURITY_POLICY
    # The control: an inline script put into the page is refused, and the refusal is seen.
    page.evaluate(
        """() => {
          const script = document.createElement("script");
          script.textContent = "window.__inlineRan = true";
          document.body.append(script);
        }"""
    )
    assert page.evaluate("window.__inlineRan === true") is False
    assert any(v.startswith("script-src") for v in csp_violations(page))


def test_the_main_pages_work_under_the_policy(logged_in_page):
    page = logged_in_page
    pages = list(MAIN_PAGES)
    page.goto("/campaigns/1")
    pages.append(page.get_attribute("a[href*='/steps/']", "href"))  # the step editor
    for path in pages:
        response = page.goto(path, wait_until="networkidle")
        assert response.ok, (path, response.status)
        assert response.headers["content-security-policy"] == CONTENT_SECURITY_POLICY
        assert_no_problems(page, path)


def test_the_dashboard_draws_its_charts_without_eval(logged_in_page):
    page = logged_in_page
    page.goto("/campaigns/1/analytics", wait_until="networkidle")
    page.wait_for_function(
        """() => {
          const charts = document.querySelectorAll("[data-chart]");
          return charts.length > 0 && [...charts].every((c) => c.querySelector(".main-svg"));
        }""",
        timeout=20_000,
    )
    traces = page.evaluate(
        """() => Object.fromEntries([...document.querySelectorAll("[data-chart] .chart-plot")]
          .map((plot) => [plot.parentElement.dataset.chart, plot.data.map((t) => t.type)]))"""
    )
    assert set(traces) == {"funnel", "cohorts", "timeseries", "engagement"}
    assert {t for types in traces.values() for t in types} >= {"bar", "scatter", "heatmap"}
    # No chart fell back to its "could not be drawn" message.
    assert page.locator("[data-chart-status]").count() == 0
    # The modebar's downloads: PNG (an SVG drawn into a canvas through a data: URL) and SVG.
    plot = page.locator("[data-chart=funnel] .chart-plot")
    for label, suffix in (("Download plot as a PNG", ".png"), ("Download plot as an SVG", ".svg")):
        plot.hover()
        with page.expect_download() as download:
            plot.get_by_label(label).click()
        assert download.value.suggested_filename.endswith(suffix)
    assert_no_problems(page)


def test_confirmations_still_ask_under_the_policy(logged_in_page):
    page = logged_in_page
    page.goto("/settings/")
    page.fill("input[name=name]", "browser key")
    page.click("text=Create API key")
    row = page.locator("tr", has_text="browser key")
    questions = []

    def answer(accept):
        def handle(dialog):
            questions.append(dialog.message)
            dialog.accept() if accept else dialog.dismiss()

        return handle

    page.once("dialog", answer(False))
    row.locator("text=Revoke").click()
    assert questions == ["Revoke this key? Programs using it stop working at once."]
    assert row.locator(".badge").inner_text() == "active"  # dismissed: nothing sent
    page.once("dialog", answer(True))
    with page.expect_navigation():
        row.locator("text=Revoke").click()
    assert page.locator("tr", has_text="browser key").locator(".badge").inner_text() == "revoked"
    assert_no_problems(page)


def test_stopping_an_enrollment_asks_and_pausing_does_not(logged_in_page):
    page = logged_in_page
    page.goto("/campaigns/")
    page.click("text=Welcome series")
    page.click("text=Enrollments and enroll contacts")
    page.goto(page.url + "?status=active")
    first = page.locator("tr[id^=enrollment-]").first
    enrollment_id = first.get_attribute("id")
    questions = []
    page.once("dialog", lambda d: (questions.append(d.message), d.dismiss()))
    first.locator("button[value=stop]").click()
    assert questions == ["Stop this enrollment? No further steps are sent to this contact."]
    assert page.locator(f"#{enrollment_id} .badge").inner_text() == "active"
    page.on("dialog", lambda d: questions.append(d.message))  # none expected from here on
    with page.expect_navigation():
        page.locator(f"#{enrollment_id} button[value=pause]").click()
    assert re.search(r"paused", page.locator(".flash").first.inner_text(), re.I)
    assert len(questions) == 1
    assert_no_problems(page)
