"""Flow 7 (issue 16), in a real browser: connect a WhatsApp account whose business account
lists templates (the local fake Cloud API), sync the catalog from the Templates page, build a
template step with mapped parameters in the step editor and see its preview, send it; then
Meta pauses the template (a signed template webhook): the next contact is held, the campaign
page and the Sending panel say so and nothing goes to Meta; Meta approves it again: the next
pass sends, and the hold is gone."""

from __future__ import annotations

import secrets
import time

from playwright.sync_api import expect

from tests.browser.support import (
    api,
    campaign_through_api,
    fake_cloud_api,
    finish,
    log_in_through_form,
    main_nav,
    new_member,
    on_screen,
    post_webhook,
    run_processing_pass,
)
from tests.fakes.templates import BUSINESS_ACCOUNT_ID, default_templates

APP_SECRET = "app-secret-of-flow-7"
GRACE, LINUS = "+442079460311", "+442079460312"


def test_flow_7_templates_from_the_catalog_held_while_paused(page, live_server, request):
    on_screen(page)
    log_in_through_form(page, new_member(live_server, "Flow templates"))
    with fake_cloud_api() as meta:
        connect_whatsapp_with_templates(page, meta)
        sync_the_catalog(page)
        campaign_id = build_a_template_step(page)
        send_it_to_grace(page, live_server, meta, campaign_id)
        catalog_status_is(page, "APPROVED")
        post_webhook(live_server, APP_SECRET, template_event("PAUSED", 1))
        catalog_status_is(page, "PAUSED")
        linus_is_held(page, live_server, meta, campaign_id)
        post_webhook(live_server, APP_SECRET, template_event("APPROVED", 2))
        catalog_status_is(page, "APPROVED")
        linus_is_sent(page, live_server, meta, campaign_id)
    finish(page, request)


def connect_whatsapp_with_templates(page, meta) -> None:
    main_nav(page, "Settings")
    form = page.locator("form", has=page.get_by_label("Phone number ID"))
    form.get_by_label("Phone number ID").fill(str(10**14 + secrets.randbelow(10**14)))
    form.get_by_label("WhatsApp Business account ID").fill(BUSINESS_ACCOUNT_ID)
    form.get_by_label("Access token").fill(meta.access_token)
    form.get_by_label("App secret").fill(APP_SECRET)
    form.get_by_label("API base URL").fill(meta.base_url)
    form.get_by_role("button", name="Save WhatsApp account").click()
    expect(page.get_by_role("status")).to_contain_text("WhatsApp account saved.")


def sync_the_catalog(page) -> None:
    main_nav(page, "Templates")
    expect(page.get_by_text("No templates yet")).to_be_visible()
    page.get_by_role("button", name="Sync templates").click()
    # The fake lists five templates, two to a page: the sync followed Graph's paging.
    expect(page.get_by_role("status")).to_contain_text("Templates synced: 5 added")
    expect(page.get_by_role("cell", name="spring_sale")).to_be_visible()


def build_a_template_step(page) -> int:
    campaign_id = campaign_through_api(
        page, "Spring sale", [("Sale", 0, "minutes", "placeholder, replaced below")]
    )
    page.goto(f"/campaigns/{campaign_id}")
    page.goto(page.get_attribute("a[href*='/steps/']", "href"))
    page.check("input[name=message_type][value=template]")
    page.fill("#template-search", "spring")
    page.select_option("#template", "spring_sale:en_US")
    page.fill("#template-parameter-1", "{{first_name|there}}")
    page.fill("#template-parameter-2", "20%")
    preview = page.locator("[data-preview-text]")
    page.wait_for_function(
        "el => el.textContent.includes('Alex, spring sale: 20% off until Sunday.')",
        arg=preview.element_handle(),
    )
    page.click("button.primary[type=submit]")
    page.wait_for_url(f"**/campaigns/{campaign_id}#steps")
    steps = api(page, "GET", f"/api/drip-campaigns/{campaign_id}/steps")
    assert steps[0]["template"]["name"] == "spring_sale", steps
    assert steps[0]["template"]["parameters"] == ["{{first_name|there}}", "20%"], steps
    api(page, "POST", f"/api/drip-campaigns/{campaign_id}/status", {"action": "activate"})
    for phone, first in ((GRACE, "Grace"), (LINUS, "Linus")):
        api(page, "POST", "/api/contacts", {"phone": phone, "firstName": first})
    return campaign_id


def enroll(page, campaign_id: int, phone: str) -> None:
    contacts = api(page, "GET", f"/api/contacts?q={phone.lstrip('+')}")
    body = {"contactIds": [c["id"] for c in contacts]}
    enrolled = api(page, "POST", f"/api/drip-campaigns/{campaign_id}/enrollments", body)
    assert enrolled["enrolled"] == 1, enrolled


def send_it_to_grace(page, live_server, meta, campaign_id: int) -> None:
    enroll(page, campaign_id, GRACE)
    run_processing_pass(live_server)
    (sent,) = meta.records()
    template = sent["body"]["template"]
    assert sent["body"]["to"] == GRACE.lstrip("+")
    assert template["name"] == "spring_sale"
    assert [p["text"] for p in template["components"][0]["parameters"]] == ["Grace", "20%"]


def catalog_status_is(page, status: str) -> None:
    (row,) = api(page, "GET", "/api/templates?q=spring_sale")
    assert row["status"] == status, row


def template_event(event: str, offset: int) -> dict:
    """Meta's message_template_status_update, on the business account (entry id)."""
    meta_id = next(t["id"] for t in default_templates() if t["name"] == "spring_sale")
    value = {
        "event": event,
        "message_template_id": int(meta_id),
        "message_template_name": "spring_sale",
        "message_template_language": "en_US",
        "reason": "Low quality" if event == "PAUSED" else None,
    }
    entry = {
        "id": BUSINESS_ACCOUNT_ID,
        "time": int(time.time()) + offset,
        "changes": [{"field": "message_template_status_update", "value": value}],
    }
    return {"object": "whatsapp_business_account", "entry": [entry]}


def linus_is_held(page, live_server, meta, campaign_id: int) -> None:
    enroll(page, campaign_id, LINUS)
    run_processing_pass(live_server)
    assert len(meta.records()) == 1  # nothing more went to Meta
    page.goto(f"/campaigns/{campaign_id}")
    holds = page.locator("#template-holds")
    expect(holds).to_contain_text("spring_sale")
    expect(holds).to_contain_text("PAUSED")
    expect(holds).to_contain_text("1 contact waits at step 1")
    expect(holds).to_contain_text("Low quality")
    main_nav(page, "Campaigns")
    expect(page.locator("#held-on-templates .tile-value")).to_have_text("1")
    expect(page.locator("#due-now .tile-value")).to_have_text("0")


def linus_is_sent(page, live_server, meta, campaign_id: int) -> None:
    run_processing_pass(live_server)
    records = meta.records()
    assert len(records) == 2
    assert records[1]["body"]["to"] == LINUS.lstrip("+")
    page.goto(f"/campaigns/{campaign_id}")
    expect(page.locator("#template-holds")).to_have_count(0)
    main_nav(page, "Campaigns")
    expect(page.locator("#held-on-templates .tile-value")).to_have_text("0")
