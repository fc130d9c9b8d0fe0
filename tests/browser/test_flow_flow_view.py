"""Issue 18's flow view and editor safety, in a real browser at 1280×800: the campaign page
draws its steps as a flow with each step's figures, its template status and its A/B test; a
live campaign's step is deleted after the page says how many contacts move and where, and
"Undo" moves them back; the campaign is duplicated as a draft; the editor counts the message's
characters against WhatsApp's 4,096, warns of contacts without a variable, and a longer text is
refused in words, never cut. (What every flow shares: test_flow_contacts.py.)"""

from __future__ import annotations

import re

from playwright.sync_api import expect

from tests.browser.support import (
    api,
    campaign_through_api,
    contacts_wrote_to_us,
    docs_shot,
    finish,
    log_in_through_form,
    new_member,
    on_screen,
    path_of,
    refused,
    run_processing_pass,
)

STEPS = [
    ("Welcome", 0, "minutes", "Hi {{first_name|there}}, welcome to the shop."),
    ("Tips", 1, "days", "Three tips for your first order."),
    ("Offer", 3, "days", "10% off your next order with code SPRING."),
]


def test_flow_view_duplicate_and_editor_safety(page, live_server, request):
    on_screen(page)
    log_in_through_form(page, new_member(live_server, "Flow view"))
    campaign_id = a_live_campaign_with_three_contacts(page, live_server)
    page.goto(f"/campaigns/{campaign_id}")
    see_the_flow(page)
    delete_a_step_then_undo(page)
    duplicate(page)
    count_characters_and_refuse_a_long_text(page)
    finish(page, request)


def a_live_campaign_with_three_contacts(page, live_server) -> int:
    page.goto("/campaigns/")
    ids = []
    for number, first in ((501, "Ada"), (502, "Alan"), (503, None)):
        contact = {"phone": f"+44207946{number:04d}", "tags": ["flow"]}
        if first:
            contact["firstName"] = first
        ids.append(api(page, "POST", "/api/contacts", contact)["id"])
    contacts_wrote_to_us(live_server, ids)
    campaign_id = campaign_through_api(page, "Flow welcome", STEPS)
    steps = api(page, "GET", f"/api/drip-campaigns/{campaign_id}/steps")
    api(
        page,
        "POST",
        f"/api/drip-campaigns/{campaign_id}/ab-tests",
        {"name": "Warmer tips", "stepId": steps[1]["id"]},
    )
    api(page, "POST", f"/api/drip-campaigns/{campaign_id}/status", {"action": "activate"})
    api(page, "POST", f"/api/drip-campaigns/{campaign_id}/enrollments", {"tag": "flow"})
    assert run_processing_pass(live_server)["sent"] >= 3  # step 1 to the three of them
    return campaign_id


def see_the_flow(page) -> None:
    flow = page.get_by_role("list", name="The campaign's steps, in order")
    boxes = flow.locator("li.flow-step")
    expect(boxes.get_by_role("heading")).to_have_text(["1. Welcome", "2. Tips", "3. Offer"])
    expect(boxes.locator(".flow-connector")).to_have_text(
        [
            re.compile("At once after enrollment"),
            re.compile("Wait 1 day after the previous step"),
            re.compile("Wait 3 days after the previous step"),
        ]
    )
    welcome = boxes.nth(0)
    expect(welcome.locator(".flow-figure", has_text="sent").locator("dd")).to_have_text("3")
    docs_shot(page, "campaign-flow", flow)
    expect(welcome.locator(".flow-figure", has_text="dropped").locator("dd")).to_have_text("0")
    tips = boxes.nth(1)
    expect(tips.get_by_role("link", name="A/B test draft: Warmer tips")).to_be_visible()
    expect(tips.locator(".flow-figure", has_text="waiting for it").locator("dd")).to_have_text("3")


def delete_a_step_then_undo(page) -> None:
    tips = page.locator("li.flow-step", has=page.get_by_role("heading", name="2. Tips"))
    expect(tips).to_contain_text("Deleting moves its 3 waiting contacts to step 3 “Offer”.")
    questions = []
    page.once("dialog", lambda dialog: (questions.append(dialog.message), dialog.accept()))
    tips.get_by_role("button", name="Delete Tips").click()
    expect(page.get_by_role("status")).to_have_text(
        "Step “Tips” deleted. 3 contacts waiting for it moved on to step “Offer”."
    )
    assert questions == [
        "Delete step “Tips”? The 3 contacts waiting for it move on to step 3 “Offer”. "
        "You can undo it for 10 minutes."
    ]
    expect(page.locator("li.flow-step").get_by_role("heading")).to_have_text(
        ["1. Welcome", "2. Offer"]
    )
    offer = page.get_by_role("region", name="Undo the step's deletion")
    expect(offer).to_contain_text("3 contacts waiting for it moved to step “Offer”")
    offer.get_by_role("button", name="Undo").click()
    expect(page.get_by_role("status")).to_have_text(
        "Step “Tips” is back at position 2. 3 contacts moved back to it."
    )
    expect(page.get_by_role("region", name="Undo the step's deletion")).to_have_count(0)
    boxes = page.locator("li.flow-step")
    expect(boxes.get_by_role("heading")).to_have_text(["1. Welcome", "2. Tips", "3. Offer"])
    expect(boxes.nth(1).locator(".flow-figure", has_text="waiting for it")).to_contain_text("3")


def duplicate(page) -> None:
    page.get_by_role("button", name="Duplicate").click()
    expect(page.get_by_role("heading", level=1)).to_have_text(re.compile(r"^Copy of Flow welcome"))
    expect(page.get_by_role("heading", level=1)).to_contain_text("draft")
    expect(page.get_by_role("status")).to_contain_text("draft copy with its settings and steps")
    expect(page.locator("li.flow-step").get_by_role("heading")).to_have_text(
        ["1. Welcome", "2. Tips", "3. Offer"]
    )
    expect(page.locator("li.flow-step .flow-figure", has_text="waiting for it")).to_have_count(0)


def count_characters_and_refuse_a_long_text(page) -> None:
    form = page.locator("form.step-form")
    form.get_by_label("Step name").fill("Long one")
    text = form.get_by_label("Text", exact=True)
    counter = form.locator("#message-length")
    text.fill("Hi {{first_name|there}}, " + "a" * 100)
    expect(counter).to_contain_text("of 4,096 characters with the longest values")
    expect(page.locator("[data-preview-missing]")).to_have_text(
        "1 of 3 contacts (all of them) has no first_name: they get the fallback “there”."
    )
    long = "Hi {{first_name|there}}, " + "b" * 4100
    text.fill(long)
    expect(counter).to_contain_text(f"{len(long):,} of 4,096 characters as typed")
    expect(counter).to_contain_text("too many")
    expect(text).to_have_value(long)  # nothing cut
    with refused(page, 422, path_of(page) + "/steps"):
        form.get_by_role("button", name="Add step").click()
    form = page.locator("form.step-form")
    expect(form.locator(".field-error")).to_contain_text(
        f"The message has {len(long):,} characters; WhatsApp allows 4,096."
    )
    expect(form.get_by_label("Text", exact=True)).to_have_value(long)  # kept to shorten
