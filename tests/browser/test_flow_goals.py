"""Goals, conversions and the holdout lift (issue 19), in a real browser at 1280×800: a
campaign with a goal and a holdout (set through PATCH /api/drip-campaigns/{id}), ten contacts
enrolled (about half held out, never messaged), a processing pass, then purchases posted by
the shop's systems through POST /api/events with an API key: the dashboard shows the
conversion, its revenue, the attribution rule and the lift panel."""

from __future__ import annotations

import json
import urllib.request

from playwright.sync_api import expect
from sqlalchemy import select

from app.drip import accounts
from app.extensions import db
from app.models import DripEnrollment, DripHoldout, utcnow
from tests.browser.support import (
    api,
    campaign_through_api,
    contacts_wrote_to_us,
    docs_shot,
    finish,
    log_in_through_form,
    new_member,
    on_screen,
    run_processing_pass,
    wait_for_charts,
)

STEPS = [
    ("Welcome", 0, "minutes", "Hi {{first_name|there}}, 10% off your first order."),
    ("Reminder", 2, "days", "Your 10% is waiting, {{first_name|friend}}."),
]
CONTACTS = 10


def test_flow_goal_event_to_conversion_and_lift(page, live_server, request):
    on_screen(page)
    member = new_member(live_server, "Flow goals")
    log_in_through_form(page, member)
    campaign_id = arrange_campaign_with_goal_and_holdout(page, live_server)
    messaged, held = enrolled_and_held(live_server, campaign_id)
    assert messaged and held, (messaged, held)  # 10 contacts at 50%: both sides, surely
    key = api_key(live_server, member.org_id)
    assert post_event(live_server, key, "order-1", messaged[0], 42.5) == 1
    assert post_event(live_server, key, "order-2", held[0], 20) == 1
    assert post_event(live_server, key, "order-1", messaged[0], 42.5) == 0  # the same event

    page.goto(f"/campaigns/{campaign_id}/analytics")
    expect(page.get_by_role("heading", name="Analytics: Goal flow")).to_be_visible()
    wait_for_charts(page)
    expect(page.locator("#conversions-tile .tile-value")).to_have_text("1")
    expect(page.locator("#revenue-tile .tile-value")).to_have_text("EUR 42.50")
    expect(page.locator(".attribution-note")).to_have_text(
        "Each conversion is attributed to the last message sent before it."
    )
    # The funnel: the purchase is attributed to the welcome, the one message sent.
    welcome = page.locator("#funnel tbody tr", has_text="1. Welcome").locator("td")
    expect(welcome.last).to_have_text("1 (EUR 42.50)")

    lift = api(page, "GET", f"/api/drip-campaigns/{campaign_id}/analytics?type=lift")
    panel = page.locator("#lift")
    expect(panel.get_by_role("heading", name="Lift over the holdout")).to_be_visible()
    rows = panel.locator("tbody tr")
    assert rows.nth(0).locator("td").all_inner_texts() == [
        str(len(messaged)),
        "1",
        f"{100 / len(messaged):.1f}%",
    ]
    assert rows.nth(1).locator("td").all_inner_texts() == [
        str(len(held)),
        "1",
        f"{100 / len(held):.1f}%",
    ]
    assert lift["lift"] is not None
    expect(panel.locator(".lift-numbers")).to_contain_text(f"{lift['lift'] * 100:+,.1f}%")
    expect(panel.locator(".lift-numbers")).to_contain_text(f"{lift['pValue']:.3f}")
    docs_shot(page, "lift-panel", panel)
    expect(panel.locator(".lift-sentence")).to_have_text(lift["sentence"])
    expect(panel).to_contain_text("always-valid")
    finish(page, request)


def arrange_campaign_with_goal_and_holdout(page, live_server) -> int:
    ids = []
    for i in range(CONTACTS):
        contact = {"phone": f"+44207946{700 + i:04d}", "firstName": f"Buyer{i}", "tags": ["shop"]}
        ids.append(api(page, "POST", "/api/contacts", contact)["id"])
    contacts_wrote_to_us(live_server, ids)
    campaign_id = campaign_through_api(page, "Goal flow", STEPS)
    body = {"goal": {"event": "purchase", "withinDays": 7}, "exitOnGoal": True}
    changed = api(
        page, "PATCH", f"/api/drip-campaigns/{campaign_id}", {**body, "holdoutPercent": 50}
    )
    assert changed["goal"] == {"event": "purchase", "withinDays": 7}, changed
    assert changed["holdoutPercent"] == 50
    api(page, "POST", f"/api/drip-campaigns/{campaign_id}/status", {"action": "activate"})
    api(page, "POST", f"/api/drip-campaigns/{campaign_id}/enrollments", {"tag": "shop"})
    assert run_processing_pass(live_server)["sent"] >= 1
    return campaign_id


def enrolled_and_held(live_server, campaign_id: int) -> tuple[list[int], list[int]]:
    """The contact ids messaged and held out (the sticky hash chose; the flow reads it)."""
    with live_server.app().app_context():
        messaged = db.session.scalars(
            select(DripEnrollment.contact_id).where(DripEnrollment.campaign_id == campaign_id)
        ).all()
        held = db.session.scalars(
            select(DripHoldout.contact_id).where(DripHoldout.campaign_id == campaign_id)
        ).all()
        return list(messaged), list(held)


def api_key(live_server, org_id: int) -> str:
    with live_server.app().app_context():
        _, plaintext = accounts.create_api_key(db.session, org_id, "shop")
        db.session.commit()
        return plaintext


def post_event(live_server, key: str, event_id: str, contact_id: int, value: float) -> int:
    """What the shop's systems do: POST /api/events with the API key; the conversions made."""
    body = {
        "id": event_id,
        "contactId": contact_id,
        "name": "purchase",
        "value": value,
        "currency": "EUR",
        "occurredAt": utcnow().isoformat().replace("+00:00", "Z"),
    }
    request = urllib.request.Request(
        live_server.url + "/api/events",
        data=json.dumps(body).encode(),
        headers={"Authorization": f"Bearer {key}", "Content-Type": "application/json"},
        method="POST",
    )
    with urllib.request.urlopen(request, timeout=30) as response:
        assert response.status in (200, 201), response.status
        return json.loads(response.read())["data"]["conversions"]
