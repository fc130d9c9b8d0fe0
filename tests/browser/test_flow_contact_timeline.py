"""The contact timeline in a real browser at 1280×800: a campaign sent through the fake Cloud
API, Meta's signed webhooks (delivered, read, a reply), then from the campaign's enrollment
list to the contact, whose timeline says what happened: the reply's text, the message's
status, the stop the reply caused, in the viewer's time zone. And a demo contact's timeline,
reached the same way. (What every flow shares: test_flow_contacts.py.)"""

from __future__ import annotations

import re
import time

import pytest
from playwright.sync_api import expect

from tests.browser.conftest import log_in
from tests.browser.support import (
    api,
    campaign_through_api,
    connect_whatsapp,
    demo_campaigns,
    docs_shot,
    fake_cloud_api,
    finish,
    log_in_through_form,
    new_member,
    on_screen,
    path_of,
    post_webhook,
    reply,
    run_processing_pass,
    status,
    webhook_payload,
)

pytestmark = pytest.mark.browser

ADA = "442079460401"
APP_SECRET = "app-secret-of-the-timeline-flow"
REPLY = "Do you ship to Porto?"
STEPS = [
    ("Welcome", 0, "minutes", "Hi {{first_name|there}}, thanks for trying the shop."),
    ("Tips", 1, "days", "Three tips for your first order."),
]


def test_flow_contact_timeline_from_an_enrollment_row(page, live_server, request):
    on_screen(page)
    log_in_through_form(page, new_member(live_server, "Flow timeline", timezone="Asia/Tokyo"))
    with fake_cloud_api() as meta:
        phone_number_id = connect_whatsapp(page, meta, APP_SECRET)
        campaign_id = send_to_ada(page, live_server, phone_number_id)
        (sent,) = meta.records()
    wamid = sent["wamid"]
    deliver = lambda **parts: post_webhook(  # noqa: E731
        live_server, APP_SECRET, webhook_payload(phone_number_id, **parts)
    )
    # Meta's times are whole seconds: a second apart each, after the send, to be ordered.
    later = lambda event, seconds: {**event, "timestamp": str(int(time.time()) + seconds)}  # noqa: E731
    assert deliver(statuses=[later(status(wamid, "delivered", ADA), 1)])["statuses"] == 1
    assert deliver(statuses=[later(status(wamid, "read", ADA), 2)])["statuses"] == 1
    assert deliver(messages=[later(reply(wamid, ADA, REPLY), 3)])["messages"] == 1

    page.goto(f"/campaigns/{campaign_id}/enrollments")
    row = page.locator("tr[id^=enrollment-]").filter(has_text="Ada Lovelace")
    row.get_by_role("link", name=re.compile("Ada Lovelace")).click()
    expect(page.get_by_role("heading", name="Ada Lovelace", level=1)).to_be_visible()
    assert re.fullmatch(r"/contacts/\d+", path_of(page))

    timeline = page.locator("#contact-timeline")
    expect(timeline.get_by_role("heading", name="Timeline")).to_be_visible()
    expect(timeline).to_contain_text("times in Asia/Tokyo")
    entries = timeline.locator("li[data-kind]")
    kinds = [e.get_attribute("data-kind") for e in entries.all()]
    # Newest first, down to her first message to the shop, before she was enrolled.
    assert kinds == ["stopped", "reply", "status", "status", "status", "message", "enrolled",
                     "reply"], kinds  # fmt: skip
    stopped, answer = entries.nth(0), entries.nth(1)
    expect(stopped).to_contain_text("replied (the campaign stops on a reply)")
    expect(stopped.get_by_role("link", name="Trial follow-up")).to_be_visible()
    expect(answer.locator("blockquote")).to_have_text(REPLY)
    expect(answer).to_contain_text("step 1 Welcome")
    message = timeline.locator("li[data-kind=message]")
    expect(message.locator(".badge")).to_have_text("read")
    expect(message).to_contain_text("thanks for trying the shop")
    expect(timeline.locator("li[data-kind=status] .badge")).to_have_text(
        ["read", "delivered", "sent"]
    )
    expect(timeline.locator("time").first).to_have_text(re.compile(r" JST$"))
    docs_shot(page, "contact-timeline", until=timeline)
    finish(page, request)


def test_flow_a_demo_contact_from_an_enrollment_row(page, live_server, request):
    """The demo's finished campaign: a contact who completed it has a timeline with the
    campaign's messages."""
    on_screen(page)
    log_in(page)
    campaign_id, name = demo_campaigns(live_server)[0]
    page.goto(f"/campaigns/{campaign_id}/enrollments?status=completed")
    first = page.locator("tr[id^=enrollment-]").first
    first.locator("a[href^='/contacts/']").click()
    assert re.fullmatch(r"/contacts/\d+", path_of(page))
    timeline = page.locator("#contact-timeline")
    expect(timeline.locator("li[data-kind=enrolled]").first).to_contain_text(name)
    expect(timeline.locator("li[data-kind=message]").first).to_be_visible()
    expect(timeline.locator("li[data-kind=completed]")).to_contain_text(name)
    finish(page, request)


def send_to_ada(page, live_server, phone_number_id: str) -> int:
    """Ada wrote to the shop (her 24-hour window is open), is enrolled, and a processing pass
    sends her the first step."""
    contact = {"phone": f"+{ADA}", "firstName": "Ada", "lastName": "Lovelace", "tags": ["tl"]}
    api(page, "POST", "/api/contacts", contact)
    hello = reply("", ADA, "Hi, is the trial still on?")
    del hello["context"]
    payload = webhook_payload(phone_number_id, messages=[hello])
    assert post_webhook(live_server, APP_SECRET, payload)["messages"] == 1
    campaign_id = campaign_through_api(page, "Trial follow-up", STEPS)
    api(page, "POST", f"/api/drip-campaigns/{campaign_id}/status", {"action": "activate"})
    enrolled = api(page, "POST", f"/api/drip-campaigns/{campaign_id}/enrollments", {"tag": "tl"})
    assert enrolled["enrolled"] == 1, enrolled
    done = run_processing_pass(live_server)
    assert done["sent"] >= 1, done
    return campaign_id
