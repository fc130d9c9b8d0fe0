"""Honest live analytics (issue 18), in a real browser at 1280×800: a fresh campaign whose
contacts wait for their second message reads as on its way, not as a failure. The funnel table
and chart keep "still waiting" apart from drop-off, a drop-off figure links to the contacts
behind it, and today is marked as still under way."""

from __future__ import annotations

import re
from urllib.parse import parse_qs, urlsplit

from playwright.sync_api import expect

from tests.browser.support import (
    api,
    campaign_through_api,
    contacts_wrote_to_us,
    finish,
    log_in_through_form,
    new_member,
    on_screen,
    path_of,
    run_processing_pass,
    wait_for_charts,
)

STEPS = [
    ("Welcome", 0, "minutes", "Hi {{first_name|there}}, welcome to the shop."),
    ("Tips", 2, "days", "Two tips for your first order, {{first_name|friend}}."),
]
REASON_BARS = """() => Object.fromEntries(
  document.querySelector("[data-chart=funnel] .chart-plot")._fullData
    .filter((t) => t.legendgroup === "waiting" || t.legendgroup === "dropped")
    .map((t) => [t.name, [t.legendgroup, t.y[0]]]))"""
DAILY_TRACES = """() => document.querySelector("[data-chart=timeseries] .chart-plot")._fullData
    .map((t) => t.name)"""


def test_flow_live_analytics_waiting_is_not_drop_off(page, live_server, request):
    on_screen(page)
    log_in_through_form(page, new_member(live_server, "Flow live analytics"))
    campaign_id = arrange_three_waiting_and_one_stopped(page, live_server)
    page.goto(f"/campaigns/{campaign_id}/analytics")
    expect(page.get_by_role("heading", name="Analytics: Live numbers")).to_be_visible()
    wait_for_charts(page)
    see_waiting_apart_from_drop_off(page)
    follow_a_drop_off_link(page, campaign_id)
    see_today_marked_partial(page, campaign_id)
    finish(page, request)


def arrange_three_waiting_and_one_stopped(page, live_server) -> int:
    """Four contacts get step 1 now (the sandbox sends); step 2 is two days away. One is
    stopped by hand: the only drop-off."""
    ids = []
    for number, first in ((501, "Ada"), (502, "Alan"), (503, "Grace"), (504, "Linus")):
        contact = {"phone": f"+44207946{number:04d}", "firstName": first, "tags": ["live"]}
        ids.append(api(page, "POST", "/api/contacts", contact)["id"])
    contacts_wrote_to_us(live_server, ids)
    campaign_id = campaign_through_api(page, "Live numbers", STEPS)
    api(page, "POST", f"/api/drip-campaigns/{campaign_id}/status", {"action": "activate"})
    enrolled = api(page, "POST", f"/api/drip-campaigns/{campaign_id}/enrollments", {"tag": "live"})
    assert enrolled["enrolled"] == 4, enrolled
    assert run_processing_pass(live_server)["sent"] >= 4  # other organizations' too
    rows = api(page, "GET", f"/api/drip-campaigns/{campaign_id}/enrollments")
    stopped = rows[0]["id"]
    path = f"/api/drip-campaigns/{campaign_id}/enrollments/{stopped}"
    api(page, "PATCH", path, {"action": "stop"})
    return campaign_id


def see_waiting_apart_from_drop_off(page) -> None:
    expect(page.locator(".waiting-note")).to_contain_text(
        "3 contacts are still waiting for their next message: on their way, not drop-off."
    )
    # Step 1's row: reached, conversion, still waiting, dropped off (rate of the settled one),
    # then why: replied, unsubscribed, ended by a failed send, stopped.
    cells = page.locator("#funnel tbody tr", has_text="1. Welcome").locator("td")
    assert cells.all_inner_texts()[:8] == [
        "4",
        "100.0%",
        "3",
        "1 (100.0% of 1)",
        "0",
        "0",
        "0",
        "1",
    ]
    expect(page.locator("#funnel caption").first).to_contain_text(
        "no longer waiting there (they went on or dropped off)"
    )
    # Step 2 is nobody's turn yet but for the one stopped: 0 of 1 settled, not 0 of 4.
    step2 = page.locator("#funnel tbody tr", has_text="2. Tips").locator("td")
    assert step2.all_inner_texts()[:2] == ["0", "0.0%"]
    bars = page.evaluate(REASON_BARS)
    assert bars["Still waiting (on their way)"] == ["waiting", 3], bars
    assert bars["Stopped"] == ["dropped", 1], bars
    assert bars["Replied and stopped"] == ["dropped", 0], bars
    legend = page.locator("[data-chart=funnel] .legend")
    expect(legend).to_contain_text("Not drop-off: still waiting")
    expect(legend).to_contain_text("Dropped off")


def follow_a_drop_off_link(page, campaign_id: int) -> None:
    row = page.locator("#funnel tbody tr", has_text="1. Welcome")
    link = row.get_by_role("link", name=re.compile(r"^1 contact who were stopped after step 1"))
    link.click()
    expect(page).to_have_url(re.compile(rf"/campaigns/{campaign_id}/enrollments\?"))
    assert path_of(page) == f"/campaigns/{campaign_id}/enrollments"
    query = parse_qs(urlsplit(page.url).query)
    assert query["reason"] == ["stopped"] and len(query["step"]) == 1, query
    expect(page.get_by_role("heading", level=1)).to_contain_text("Enrollments")
    page.go_back()
    wait_for_charts(page)


def see_today_marked_partial(page, campaign_id: int) -> None:
    daily = page.locator("details.daily-table")
    daily.locator("summary").click()
    today = daily.locator("tbody tr").first  # newest first
    expect(today).to_have_class("partial-day")
    expect(today.locator("th")).to_contain_text("today, so far")
    expect(today.locator("td").nth(1)).to_have_text("4")  # sent so far today
    expect(page.locator(".partial-note")).to_contain_text("still under way")
    assert daily.locator("tbody tr").count() == 1  # the series starts at the campaign's day
    traces = page.evaluate(DAILY_TRACES)
    assert "Sent" in traces and "Sent (today so far)" in traces, traces
    expect(page.locator("[data-chart=timeseries]")).to_contain_text("today, so far")
