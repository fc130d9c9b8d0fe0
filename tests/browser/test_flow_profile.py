"""Flow: on a phone, a user opens the menu, goes to their profile through their email in the
top bar, sets their own time zone, and their pages show times in it from then on."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from tests.browser.support import (
    PHONE,
    assert_accessible,
    finish,
    log_in_through_form,
    new_member,
    on_screen,
)

pytestmark = pytest.mark.browser


def test_a_user_sets_their_own_time_zone(page, live_server, request):
    member = new_member(live_server, "Profile flow", timezone="Europe/Lisbon")
    on_screen(page, PHONE)
    log_in_through_form(page, member)
    page.get_by_role("button", name="Menu").click()
    page.get_by_role("link", name=member.email).click()
    expect(page.get_by_role("heading", name="Your profile")).to_be_visible()
    zone = page.get_by_label("Your time zone")
    expect(zone).to_have_value("")  # the organization's until chosen
    expect(page.locator("main")).to_contain_text("shown in Europe/Lisbon")
    assert_accessible(page, "the profile page")

    zone.select_option("Asia/Tokyo")
    page.get_by_role("button", name="Save").click()
    expect(page.get_by_role("status")).to_have_text("Your time zone is Asia/Tokyo.")
    expect(zone).to_have_value("Asia/Tokyo")
    expect(page.locator("main")).to_contain_text(re.compile(r"shown in Asia/Tokyo: it is .* JST"))

    # Back to the organization's clock.
    zone.select_option("")
    page.get_by_role("button", name="Save").click()
    expect(page.get_by_role("status")).to_have_text(
        "Your time zone is the organization's, Europe/Lisbon."
    )
    expect(page.locator("main")).to_contain_text("shown in Europe/Lisbon")
    finish(page, request)
