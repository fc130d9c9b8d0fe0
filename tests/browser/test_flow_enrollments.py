"""The enrollment list in a real browser at 1280×800: each row says why it waits (in words),
a search by name narrows the list, two ticked rows are paused at once, and every enrollment
matching the list is stopped after a confirmation page that gives the count."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from tests.browser.support import (
    api,
    campaign_through_api,
    finish,
    log_in_through_form,
    new_member,
    on_screen,
)

pytestmark = pytest.mark.browser

PEOPLE = [("Ada", "+442079460511"), ("Grace", "+442079460512"), ("Alan", "+442079460513")]
STEPS = [("Tips", 2, "days", "Three tips for your first order.")]


def test_flow_enrollments_search_wait_reason_and_bulk(page, live_server, request):
    on_screen(page)
    log_in_through_form(page, new_member(live_server, "Flow enrollments", timezone="Asia/Tokyo"))
    for name, phone in PEOPLE:
        api(page, "POST", "/api/contacts", {"phone": phone, "firstName": name, "tags": ["bk"]})
    campaign_id = campaign_through_api(page, "Bulk flow", STEPS)
    api(page, "POST", f"/api/drip-campaigns/{campaign_id}/status", {"action": "activate"})
    enrolled = api(page, "POST", f"/api/drip-campaigns/{campaign_id}/enrollments", {"tag": "bk"})
    assert enrolled["enrolled"] == 3, enrolled

    page.goto(f"/campaigns/{campaign_id}/enrollments")
    rows = page.locator("tr[id^=enrollment-]")
    expect(rows).to_have_count(3)
    # Why each one waits, in words (not a bare code), and the time on the viewer's clock.
    expect(rows.first.locator(".wait-reason")).to_have_text(
        "waiting for step 1's delay: 2 days after enrolling"
    )
    expect(page.locator("thead")).to_contain_text("Next send (Asia/Tokyo")

    page.get_by_label("Search by name or phone").fill("grace")
    page.get_by_role("button", name="Search").click()
    expect(rows).to_have_count(1)
    expect(rows.first).to_contain_text("Grace")
    expect(page.locator("#active-filters")).to_contain_text("matching “grace”")
    page.locator("#active-filters").get_by_role("link", name="Clear").click()
    expect(rows).to_have_count(3)

    # Pause the two ticked rows.
    page.get_by_role("checkbox", name="Select Ada").check()
    page.get_by_role("checkbox", name="Select Alan").check()
    page.locator("#bulk-form").get_by_role("button", name="Pause", exact=True).click()
    expect(page.locator(".flash").filter(has_text="Paused 2 enrollments.")).to_be_visible()
    expect(rows.filter(has_text="paused by hand")).to_have_count(2)

    # Stop every enrollment matching the list: a confirmation page with the count first.
    page.get_by_label(re.compile("all 3 matching")).check()
    page.locator("#bulk-form").get_by_role("button", name="Stop…").click()
    expect(page.get_by_role("heading", name="Stop 3 enrollments?")).to_be_visible()
    page.get_by_role("button", name="Stop 3 enrollments").click()
    expect(page.locator(".flash").filter(has_text="Stopped 3 enrollments.")).to_be_visible()
    expect(rows.filter(has_text="stopped by hand")).to_have_count(3)
    finish(page, request)
