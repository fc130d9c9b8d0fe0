"""The pre-launch review (issue 18), in a real browser: on the enroll form, "Review" a tag
before enrolling (how many would be enrolled, who would be skipped and why, when the first step
reaches each time zone, the forecast), a typo'd tag says no contact has it and names the close
one, and "Send a test to my phone" sends the first step through the organization's WhatsApp
account (the local fake Cloud API) now; a refusal (131047, free text outside the window) is
said in words with the advice to use a template step. Nobody is enrolled by any of it."""

from __future__ import annotations

import re

from playwright.sync_api import expect

from tests.browser.support import (
    api,
    campaign_through_api,
    docs_shot,
    fake_cloud_api,
    finish,
    log_in_through_form,
    new_member,
    on_screen,
)
from tests.browser.test_flow_templates import connect_whatsapp_with_templates

PEOPLE = (
    ("+442079460331", "Ada", "Asia/Tokyo"),
    ("+442079460332", "Alan", "America/New_York"),
    ("+442079460333", "Grace", None),
)


def test_flow_review_before_enrolling_and_a_test_to_my_phone(page, live_server, request):
    on_screen(page)
    log_in_through_form(page, new_member(live_server, "Flow review"))
    with fake_cloud_api() as meta:
        connect_whatsapp_with_templates(page, meta)
        campaign_id = a_campaign_and_its_audience(page)
        page.goto(f"/campaigns/{campaign_id}/enrollments")
        a_typo_says_no_contact_has_the_tag(page)
        the_review_counts_and_times_each_zone(page)
        a_test_goes_to_my_phone(page, meta)
        a_refused_test_says_why(page, meta)
    assert api(page, "GET", f"/api/drip-campaigns/{campaign_id}/enrollments") == []
    finish(page, request)


def a_campaign_and_its_audience(page) -> int:
    campaign_id = campaign_through_api(
        page, "Welcome", [("Hello", 0, "minutes", "Hi {{first_name|there}}, welcome!")]
    )
    window = {"start": "09:00", "end": "17:00", "weekdays": [1, 2, 3, 4, 5], "timezone": "contact"}
    api(page, "PATCH", f"/api/drip-campaigns/{campaign_id}", {"sendWindow": window})
    for phone, first, zone in PEOPLE:
        body = {"phone": phone, "firstName": first, "tags": ["vip"]}
        if zone:
            body["timezone"] = zone
        api(page, "POST", "/api/contacts", body)
    api(
        page, "POST", "/api/contacts", {"phone": "+442079460334", "tags": ["vip"], "optedOut": True}
    )
    return campaign_id


def review(page, tag: str) -> None:
    enroll = page.locator("#enroll")
    enroll.get_by_label("Tag", exact=True).fill(tag)
    enroll.get_by_role("button", name="Review").click()


def a_typo_says_no_contact_has_the_tag(page) -> None:
    review(page, "vipp")
    expect(page.locator("#review-message")).to_have_text(
        "No contact has the tag “vipp”. Did you mean “vip”?"
    )
    expect(page.locator("#review-count")).to_contain_text("0 contacts would be enrolled")


def the_review_counts_and_times_each_zone(page) -> None:
    review(page, "vip")
    panel = page.locator("#review")
    expect(panel.locator("#review-count")).to_contain_text("3 contacts would be enrolled")
    expect(panel.locator("#review-count")).to_contain_text("of 4 selected")
    expect(panel.locator("#review-skipped")).to_contain_text("1 opted out")
    zones = panel.locator("#review-zones")
    expect(zones.locator('[data-zone="Asia/Tokyo"]')).to_contain_text("JST")
    expect(zones.locator('[data-zone="America/New_York"]')).to_contain_text(re.compile(r"E[SD]T"))
    # Grace has no zone: the organization's (Lisbon) clock.
    expect(zones.locator('[data-zone="Europe/Lisbon"]')).to_be_visible()
    expect(panel.locator("#review-step")).to_contain_text("on each contact's clock")
    expect(page.locator("#forecast-audience")).to_contain_text("3 contacts")
    docs_shot(page, "enroll-review", panel)


def a_test_goes_to_my_phone(page, meta) -> None:
    form = page.locator("#test-form")
    form.get_by_label("Your phone number").fill("+44 20 7946 0999")
    form.get_by_role("button", name="Send the test").click()
    result = page.locator("#test-result")
    expect(result).to_contain_text("Sent step 1 to +442079460999")
    expect(result.locator(".bubble")).to_have_text("Hi Ada, welcome!")
    (record,) = meta.records()
    assert record["body"]["text"]["body"] == "Hi Ada, welcome!"
    # The review of the same tag is shown again beside the result.
    expect(page.locator("#review-count")).to_contain_text("3 contacts would be enrolled")


def a_refused_test_says_why(page, meta) -> None:
    meta.fail(131047)
    form = page.locator("#test-form")
    form.get_by_label("Your phone number").fill("+44 20 7946 0999")
    form.get_by_role("button", name="Send the test").click()
    result = page.locator("#test-result")
    expect(result).to_contain_text("Not sent to +442079460999")
    expect(result).to_contain_text("More than 24 hours since the contact last wrote")
    expect(result.locator("#test-advice")).to_contain_text("make this a template step")
    expect(form).to_contain_text("8 of 10 tests left this hour")
