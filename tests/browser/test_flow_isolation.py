"""Flow 6, in a real browser at 1280×800: the user of a second organization cannot open the
first one's campaign (the demo's): its pages answer the 404 page, which shows nothing of it.
(What every flow shares: test_flow_contacts.py.)"""

from __future__ import annotations

from playwright.sync_api import expect

from tests.browser.support import (
    demo_campaigns,
    docs_shot,
    finish,
    log_in_through_form,
    new_member,
    on_screen,
    refused,
)


def test_flow_6_another_organizations_campaign_is_not_found(page, live_server, request):
    campaign_id, name = demo_campaigns(live_server)[0]
    on_screen(page)
    log_in_through_form(page, new_member(live_server, "Flow outsider"))
    expect(page.get_by_role("heading", name="No campaigns yet")).to_be_visible()
    for path in (
        f"/campaigns/{campaign_id}",
        f"/campaigns/{campaign_id}/enrollments",
        f"/campaigns/{campaign_id}/analytics",
        f"/campaigns/{campaign_id}/ab-tests",
        f"/campaigns/{campaign_id}/charts/funnel.png",
    ):
        with refused(page, 404, path):
            page.goto(path)
        expect(page.get_by_role("heading", name="Not found")).to_be_visible()
        expect(page.get_by_text("belongs to another organization")).to_be_visible()
        expect(page.get_by_text(name)).to_have_count(0)
    docs_shot(page, "not-found")
    assert page.request.get(f"/api/drip-campaigns/{campaign_id}").status == 404
    page.get_by_role("link", name="Back to your campaigns").click()
    expect(page.get_by_role("heading", name="No campaigns yet")).to_be_visible()
    finish(page, request)
