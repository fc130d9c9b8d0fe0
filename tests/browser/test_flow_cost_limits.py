"""Flow 8 (issue 17), in a real browser: connect a WhatsApp account (the local fake Cloud API),
set a messaging limit of 2 people per 24 hours in Settings, forecast an enrollment of three
contacts who never wrote to the business (a marketing template, billed in their market; the
first message needs 2 days under the limit), enroll them, review and activate the campaign
with its forecast; a processing pass sends two and holds the third, and the Sending panel
says "Messaging limit 2 per 24 h: 2 used, next slot …"."""

from __future__ import annotations

from playwright.sync_api import expect

from tests.browser.support import (
    api,
    fake_cloud_api,
    finish,
    log_in_through_form,
    main_nav,
    new_member,
    on_screen,
    run_processing_pass,
)
from tests.browser.test_flow_templates import connect_whatsapp_with_templates

PEOPLE = (("+442079460321", "Ada"), ("+442079460322", "Alan"), ("+442079460323", "Grace"))


def test_flow_8_forecast_before_activation_and_the_limit_on_the_sending_panel(
    page, live_server, request
):
    on_screen(page)
    log_in_through_form(page, new_member(live_server, "Flow limits"))
    with fake_cloud_api() as meta:
        connect_whatsapp_with_templates(page, meta)
        set_a_messaging_limit_of_two(page)
        campaign_id = a_template_campaign_and_three_contacts(page)
        forecast_then_enroll(page, campaign_id)
        review_and_activate(page, campaign_id)
        done = run_processing_pass(live_server)
        assert len(meta.records()) == 2, done  # the third waits for a slot
    the_sending_panel_shows_the_limit(page)
    finish(page, request)


def set_a_messaging_limit_of_two(page) -> None:
    main_nav(page, "Settings")
    form = page.locator("#sending-limits-form")
    form.get_by_label("Messaging limit").fill("2")
    form.get_by_role("button", name="Save").click()
    expect(page.locator("#sending-limits-form").get_by_label("Messaging limit")).to_have_value("2")


def a_template_campaign_and_three_contacts(page) -> int:
    api(page, "POST", "/api/templates/sync")
    campaign = api(page, "POST", "/api/drip-campaigns", {"name": "Spring offer"})
    template = {"name": "spring_sale", "language": "en_US", "parameters": ["{{first_name}}", "20%"]}
    step = {"name": "Offer", "delayAmount": 0, "delayUnit": "minutes", "template": template}
    api(page, "POST", f"/api/drip-campaigns/{campaign['id']}/steps", step)
    for phone, first in PEOPLE:
        api(page, "POST", "/api/contacts", {"phone": phone, "firstName": first, "tags": ["spring"]})
    return campaign["id"]


def forecast_then_enroll(page, campaign_id: int) -> None:
    page.goto(f"/campaigns/{campaign_id}/enrollments")
    enroll = page.locator("#enroll")
    enroll.get_by_label("Tag", exact=True).fill("spring")
    enroll.get_by_role("button", name="Forecast").click()
    panel = page.locator("#forecast")
    expect(panel.locator("#forecast-audience")).to_contain_text("3 contacts")
    expect(panel.locator("#forecast-billable")).to_have_text("3 billable")
    expect(panel.locator("#forecast-step-1")).to_contain_text("MARKETING")
    # Nobody wrote to the shop: all three are reached outside their window, two a day.
    expect(panel.locator("#forecast-limit")).to_contain_text("needs 2 days")
    assert api(page, "GET", f"/api/drip-campaigns/{campaign_id}/enrollments") == []
    page.locator("#enroll").get_by_role("button", name="Enroll", exact=True).click()
    expect(page.get_by_role("status")).to_contain_text("3")


def review_and_activate(page, campaign_id: int) -> None:
    page.goto(f"/campaigns/{campaign_id}")
    page.get_by_role("link", name="Review and activate").click()
    panel = page.locator("#forecast")
    expect(panel.locator("#forecast-audience")).to_contain_text("3 contacts")
    expect(panel.locator("#forecast-limit")).to_contain_text("needs 2 days")
    page.get_by_role("button", name="Activate").click()
    campaign = api(page, "GET", f"/api/drip-campaigns/{campaign_id}")
    assert campaign["status"] == "active", campaign


def the_sending_panel_shows_the_limit(page) -> None:
    main_nav(page, "Campaigns")
    expect(page.locator("#messaging-limit")).to_contain_text(
        "Messaging limit 2 per 24 h: 2 used, next slot"
    )
