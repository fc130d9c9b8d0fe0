"""The A/B results page says only what its numbers support (issue 18), in a real browser at
1280×800 and at 390 px: the verdict quotes the lift of the row the table marks; the time chart
counts days on the organization's clock (New York here, sends on both sides of its midnight);
a variant without sends shows "no sends yet" instead of p, z and lift, on the page and in the
downloaded CSV; and the page says how many sends a decision needs, warning when the step
can never get there. (What every flow shares: test_flow_contacts.py.)"""

from __future__ import annotations

import csv
import json
import re
from datetime import UTC, datetime, timedelta

from playwright.sync_api import expect

from app.extensions import db
from app.models import DripAbTest, DripAbVariant, utcnow
from tests.browser.support import (
    PHONE,
    api,
    campaign_through_api,
    finish,
    log_in_through_form,
    new_member,
    on_screen,
    wait_for_charts,
)
from tests.integration.test_ab_testing import synthetic

STEPS = [
    ("Welcome", 0, "minutes", "Hi {{first_name|there}}, welcome to the shop."),
    ("Offer", 3, "days", "10% off your next order with code SPRING."),
]
HOUR = timedelta(hours=1)


def test_flow_ab_results_say_only_what_the_numbers_support(page, live_server, request, tmp_path):
    on_screen(page)
    log_in_through_form(page, new_member(live_server, "Flow ab honesty", "America/New_York"))
    page.goto("/campaigns/")
    campaign_id = campaign_through_api(page, "Honest tests", STEPS)
    steps = [s["id"] for s in api(page, "GET", f"/api/drip-campaigns/{campaign_id}/steps")]
    two = a_running_test(page, campaign_id, steps[0], "Two arms", [50, 50], 100)
    three = a_running_test(page, campaign_id, steps[1], "Three arms", [34, 33, 33], 500)
    sends_across_new_yorks_midnight(live_server, two, three)

    page.goto(f"/campaigns/{campaign_id}/ab-tests/{two}")
    the_verdict_quotes_the_marked_rows_lift(page)
    the_time_chart_counts_new_york_days(page)

    page.goto(f"/campaigns/{campaign_id}/ab-tests/{three}")
    the_silent_variant_says_no_sends_yet(page, tmp_path)
    the_outlook_warns_that_the_step_cannot_get_there(page)
    on_screen(page, PHONE)
    expect(page.locator("#decision-outlook")).to_be_visible()
    expect(page.locator("#decision-outlook")).to_contain_text("more sends per variant")
    finish(page, request)


def a_running_test(page, campaign_id, step_id, name, shares, minimum) -> int:
    base = f"/api/drip-campaigns/{campaign_id}/ab-tests"
    body = {"name": name, "stepId": step_id, "minSampleSize": minimum}
    test = api(page, "POST", base, {**body, "controlAllocation": shares[0]})
    for number, share in enumerate(shares[1:], start=1):
        variant = {"name": f"Variant {'BC'[number - 1]}", "messageContent": f"Hey #{number}"}
        api(page, "POST", f"{base}/{test['id']}/variants", {**variant, "trafficAllocation": share})
    api(page, "PATCH", f"{base}/{test['id']}", {"action": "start"})
    return test["id"]


def sends_across_new_yorks_midnight(live_server, two: int, three: int) -> None:
    """Old (matured) sends at 03:00 UTC, 23:00 the evening before in New York, and at 15:00 UTC
    the same UTC day; young ones an hour ago. Variant C of the three-arm test sends nothing."""
    day = (utcnow() - timedelta(days=6)).date()
    evening = datetime(day.year, day.month, day.day, 3, tzinfo=UTC)
    afternoon = evening + 12 * HOUR
    young = utcnow() - HOUR
    with live_server.app().app_context():
        session = db.session
        for test_id in (two, three):
            test = session.get(DripAbTest, test_id)
            arms = session.query(DripAbVariant).filter_by(test_id=test_id).order_by("id").all()
            control, b = arms[:2]
            synthetic(
                session,
                test,
                [
                    (control, 75, 15, evening, HOUR),
                    (control, 75, 15, afternoon, HOUR),
                    (b, 75, 20, evening, HOUR),
                    (b, 75, 25, afternoon, HOUR),
                    (control, 50, 20, young, HOUR / 6),
                    (b, 50, 10, young, HOUR / 6),
                ],
            )


def the_verdict_quotes_the_marked_rows_lift(page) -> None:
    wait_for_charts(page)
    marked = page.locator('#numbers tr[data-headline="lift"]')
    expect(marked.get_by_role("rowheader")).to_have_text("Variant B")
    lift = marked.locator("td.lift").inner_text()
    assert re.fullmatch(r"[+-]\d+\.\d%", lift), lift
    # 55/200 against 50/200 over every send: +10.0%, not the matured sends' +50%.
    assert lift == "+10.0%"
    expect(page.locator(".verdict-sentence")).to_contain_text(
        f"Variant B is read {lift[1:]} more often than Control"
    )
    expect(page.locator(".verdict-sentence")).not_to_contain_text("50.0%")


def the_time_chart_counts_new_york_days(page) -> None:
    figure = json.loads(page.locator('script[data-chart-figure="timeline"]').text_content())
    days = figure["data"][0]["x"]
    assert len(days) == 3, days  # the evening's New York day, the next, and today's sends
    assert "America/New_York" in figure["layout"]["title"]["text"]
    expect(page.locator("#charts")).to_contain_text("America/New_York")


def the_silent_variant_says_no_sends_yet(page, tmp_path) -> None:
    silent = page.locator("#numbers tbody tr", has=page.get_by_role("rowheader", name="Variant C"))
    expect(silent.locator("td.no-sends")).to_have_text("no sends yet: no lift, z or p to show")
    expect(silent).not_to_contain_text("1.000")
    with page.expect_download() as download:
        page.get_by_role("link", name="Download CSV").first.click()
    saved = tmp_path / download.value.suggested_filename
    download.value.save_as(saved)
    with open(saved, newline="", encoding="utf-8") as handle:
        rows = {row["variant"]: row for row in csv.DictReader(handle)}
    assert rows["Variant C"]["note"] == "no sends yet"
    assert rows["Variant C"]["p_value"] == rows["Variant C"]["lift"] == ""
    assert rows["Variant C"]["significant"] == ""
    assert rows["Variant B"]["p_value"] != ""


def the_outlook_warns_that_the_step_cannot_get_there(page) -> None:
    outlook = page.locator("#decision-outlook")
    expect(outlook).to_have_attribute("role", "alert")
    expect(outlook.locator(".outlook-numbers")).to_contain_text("500 more sends per variant")
    expect(outlook).to_contain_text("Warning:")
    expect(outlook).to_contain_text("cannot reach a decision unless more contacts are enrolled")
