"""Issue 20's branching journey in a real browser: three steps built in the editor, the first
branching (read → step 3 “Offer”, otherwise → step 2 “Reminder”), the editor's branch
section checked by axe at 1280 and phone widths, the flow saying the branch in words; then the
campaign activated, two contacts enrolled, passes run through the fake Cloud API, a signed
read webhook for one of them, and each contact's timeline showing the path it took.
(What every flow shares: test_flow_contacts.py.)"""

from __future__ import annotations

import time
from datetime import timedelta

import pytest
from playwright.sync_api import expect
from sqlalchemy import select

from app.extensions import db
from app.models import DripEnrollment, DripMessageLog, utcnow
from tests.browser.support import (
    DESKTOP,
    PHONE,
    api,
    assert_accessible,
    connect_whatsapp,
    docs_shot,
    fake_cloud_api,
    finish,
    log_in_through_form,
    new_member,
    on_screen,
    post_webhook,
    run_processing_pass,
    status,
    webhook_payload,
)
from tests.support.window import wrote_to_us

pytestmark = pytest.mark.browser

APP_SECRET = "app-secret-of-the-branch-flow"
READER, SILENT = "442079460611", "442079460612"
STEPS = [
    ("Welcome", "Hi {{first_name|there}}, welcome aboard."),
    ("Reminder", "Just a reminder: your welcome gift waits."),
    ("Offer", "Glad you read it: 10% off with code BRANCH."),
]
WORDS = "Waits up to 1 minute: read → Step 3 “Offer” · otherwise → Step 2 “Reminder”"


def test_flow_two_branch_journey_built_in_the_editor(page, live_server, request):
    on_screen(page)
    log_in_through_form(page, new_member(live_server, "Flow branches"))
    with fake_cloud_api() as meta:
        phone_number_id = connect_whatsapp(page, meta, APP_SECRET)
        campaign_id = build_in_the_editor(page)
        branch_the_first_step(page, campaign_id)
        ids = enroll_two(page, live_server, campaign_id)
        assert run_processing_pass(live_server)["sent"] >= 2  # other organizations send too
        wamid = {r["body"]["to"].lstrip("+"): r["wamid"] for r in meta.records()}
        # Meta stamps whole seconds: this read reads as before the send, and counts at it.
        read = {**status(wamid[READER], "read", READER), "timestamp": str(int(time.time()))}
        payload = webhook_payload(phone_number_id, statuses=[read])
        assert post_webhook(live_server, APP_SECRET, payload)["statuses"] == 1
        the_silent_ones_wait_runs_out(live_server, ids[SILENT])
        for _ in range(3):
            run_processing_pass(live_server)
    see_both_paths(page, campaign_id, ids)
    finish(page, request)


def build_in_the_editor(page) -> int:
    page.goto("/campaigns/new")
    page.get_by_label("Name", exact=True).fill("Branching welcome")
    page.get_by_role("button", name="Create campaign").click()
    expect(page.get_by_role("heading", name="Branching welcome", level=1)).to_be_visible()
    campaign_id = int(page.url.rstrip("/").split("/")[-1].split("#")[0])
    for name, text in STEPS:
        form = page.locator("form.step-form")
        form.get_by_label("Step name").fill(name)
        form.get_by_label("Wait", exact=True).fill("0")
        form.get_by_label("Unit", exact=True).select_option("minutes")
        form.get_by_label("Text", exact=True).fill(text)
        form.get_by_role("button", name="Add step").click()
        expect(page.get_by_text("Step added.")).to_be_visible()
    return campaign_id


def branch_the_first_step(page, campaign_id: int) -> None:
    page.goto(f"/campaigns/{campaign_id}")
    page.locator("li.flow-step").first.get_by_role("link", name="Edit").click()
    section = page.get_by_role("group", name="Branch")
    expect(section.get_by_label("Then: go on to the next step")).to_be_checked()
    section.get_by_label("Then: wait for what the contact does, and branch").check()
    section.get_by_label("Wait up to").fill("1")
    section.get_by_label("Unit of the wait").select_option("minutes")
    section.get_by_label("Event 1", exact=True).select_option("read")
    section.get_by_label("Where event 1 leads").select_option(label="Step 3 “Offer”")
    section.get_by_label("If none of these happens").select_option("next")
    for viewport in (DESKTOP, PHONE):
        on_screen(page, viewport)
        page.wait_for_timeout(400)  # the live preview refreshes 250 ms after an input
        expect(page.locator(".bubble.loading")).to_have_count(0)
        assert_accessible(page, f"the step editor's branch at {viewport['width']}px")
    on_screen(page)
    docs_shot(page, "step-branch", section)
    page.get_by_role("button", name="Save step").click()
    expect(page.get_by_text("Step saved.")).to_be_visible()
    first = page.locator("li.flow-step").first
    expect(first.locator(".flow-branch")).to_contain_text(WORDS)
    expect(page.locator("#flow-warnings")).to_have_count(0)


def enroll_two(page, live_server, campaign_id: int) -> dict[str, int]:
    ids = {}
    for phone, first in ((READER, "Rita"), (SILENT, "Sam")):
        contact = {"phone": f"+{phone}", "firstName": first, "tags": ["branch"]}
        ids[phone] = api(page, "POST", "/api/contacts", contact)["id"]
    with live_server.app().app_context():
        wrote_to_us(db.session, utcnow(), contact_ids=list(ids.values()))
        db.session.commit()
    page.locator(".page-head").get_by_role("button", name="Activate").click()
    expect(page.get_by_text("Campaign activated")).to_be_visible()
    enrolled = api(
        page, "POST", f"/api/drip-campaigns/{campaign_id}/enrollments", {"tag": "branch"}
    )
    assert enrolled["enrolled"] == 2, enrolled
    return ids


def the_silent_ones_wait_runs_out(live_server, contact_id: int) -> None:
    """A minute's wait without waiting a minute: its message and wait moved two minutes back."""
    back = timedelta(minutes=2)
    with live_server.app().app_context():
        session = db.session
        log = session.scalars(
            select(DripMessageLog).where(DripMessageLog.contact_id == contact_id)
        ).one()
        log.sent_at -= back
        log.created_at -= back
        row = session.scalars(
            select(DripEnrollment).where(DripEnrollment.contact_id == contact_id)
        ).one()
        assert row.wait_reason == "branch"  # still waiting: no read came for it
        row.next_send_at -= back
        session.commit()


def see_both_paths(page, campaign_id: int, ids: dict[str, int]) -> None:
    page.goto(f"/campaigns/{campaign_id}")
    first = page.locator("li.flow-step").first
    expect(first.locator(".flow-branch")).to_contain_text(WORDS)
    docs_shot(
        page,
        "campaign-flow-branch",
        page.get_by_role("list", name="The campaign's steps, in order"),
    )
    page.goto(f"/campaigns/{campaign_id}/enrollments")
    expect(page.locator("tr[id^=enrollment-]")).to_have_count(2)
    reader = timeline_messages(page, ids[READER])
    assert any("code BRANCH" in m for m in reader), reader
    assert not any("reminder" in m for m in reader), reader
    silent = timeline_messages(page, ids[SILENT])
    assert any("Just a reminder" in m for m in silent), silent


def timeline_messages(page, contact_id: int) -> list[str]:
    page.goto(f"/contacts/{contact_id}")
    timeline = page.locator("#contact-timeline")
    expect(timeline.locator("li[data-kind=message]").first).to_be_visible()
    return timeline.locator("li[data-kind=message]").all_inner_texts()
