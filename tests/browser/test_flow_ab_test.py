"""Flow 4, in a real browser at 1280×800: an A/B test of step 1 through the A/B pages. A second
variant asking for more than the traffic left (over 100% in all) is refused with the reason;
with the right share the test starts, sends split between the two versions, and the results
page shows the verdict, the charts and the numbers. (What every flow shares:
test_flow_contacts.py.)"""

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
    main_nav,
    new_member,
    on_screen,
    path_of,
    refused,
    run_processing_pass,
    wait_for_charts,
)

STEPS = [
    ("Welcome", 0, "minutes", "Hi {{first_name|there}}, welcome to the shop."),
    ("Tips", 1, "days", "Three tips for your first order."),
    ("Offer", 3, "days", "10% off your next order with code SPRING."),
]


def test_flow_4_an_ab_test_on_step_1(page, live_server, request):
    on_screen(page)
    log_in_through_form(page, new_member(live_server, "Flow ab"))
    campaign_id = arrange_a_campaign_and_four_contacts(page, live_server)
    create_a_draft_test_from_the_ab_tests_entry(page)
    add_a_variant_over_the_share_left_then_right(page)
    start_the_test(page)
    api(page, "POST", f"/api/drip-campaigns/{campaign_id}/status", {"action": "activate"})
    api(page, "POST", f"/api/drip-campaigns/{campaign_id}/enrollments", {"tag": "ab"})
    assert run_processing_pass(live_server)["sent"] >= 4  # the sandbox: no WhatsApp account
    see_the_results(page)
    finish(page, request)


def arrange_a_campaign_and_four_contacts(page, live_server) -> int:
    """Flow 2 builds one through the pages; here the JSON API does it (a draft). The four wrote
    to the shop: step 1's free text reaches them inside that 24-hour window."""
    ids = []
    for number, first in ((401, "Ada"), (402, "Alan"), (403, "Grace"), (404, "Linus")):
        contact = {"phone": f"+44207946{number:04d}", "firstName": first, "tags": ["ab"]}
        ids.append(api(page, "POST", "/api/contacts", contact)["id"])
    contacts_wrote_to_us(live_server, ids)
    return campaign_through_api(page, "Welcome test", STEPS)


def create_a_draft_test_from_the_ab_tests_entry(page) -> None:
    main_nav(page, "A/B tests")
    expect(page.get_by_role("heading", name="No A/B tests yet")).to_be_visible()
    page.get_by_role("link", name="Welcome test").click()  # the empty state picks a campaign
    expect(page.get_by_role("heading", name="A/B tests: Welcome test")).to_be_visible()
    expect(page.get_by_text("No A/B tests in this campaign yet.")).to_be_visible()
    form = page.locator("form", has=page.get_by_role("button", name="Create draft test"))
    form.get_by_label("Step to test").select_option(label="1. Welcome")
    form.get_by_label("Test name").fill("Friendlier welcome")
    form.get_by_label("Winning metric").select_option(label="Reply rate")
    expect(form.get_by_label("Control's share of traffic (%)")).to_have_value("50")
    form.get_by_role("button", name="Create draft test").click()
    expect(page.get_by_role("status")).to_contain_text("Test created as a draft")
    expect(page.get_by_role("heading", name="Friendlier welcome")).to_contain_text("draft")
    expect(page.get_by_role("button", name="Start test")).to_be_disabled()
    expect(page.locator("#start-blocker")).to_contain_text("Add at least one variant")
    expect(page.get_by_text("50% of traffic is left.")).to_be_visible()


def add_a_variant_over_the_share_left_then_right(page) -> None:
    add = page.locator("form", has=page.get_by_role("button", name="Add variant"))
    add.get_by_label("Variant name").fill("Variant B")
    add.get_by_label("Share of traffic (%)").fill("60")  # 50% + 60% > 100%
    add.get_by_label("Message").fill("Hey {{first_name|there}}! Anything we can help with?")
    with refused(page, 422, path_of(page) + "/variants"):
        add.get_by_role("button", name="Add variant").click()
    expect(page.get_by_role("alert")).to_have_text(
        "The variant was not added: Only 50% of traffic is left: allocate at most that."
    )
    add = page.locator("form", has=page.get_by_role("button", name="Add variant"))
    expect(add.locator(".field-error")).to_have_text("Only 50% of traffic is left.")
    expect(add.get_by_label("Message")).to_have_value(re.compile("^Hey "))  # kept
    expect(page.get_by_role("button", name="Start test")).to_be_disabled()
    docs_shot(page, "ab-test-allocation-refused", page.locator("#variants"))
    add.get_by_label("Share of traffic (%)").fill("50")
    add.get_by_role("button", name="Add variant").click()
    expect(page.get_by_role("status")).to_have_text("Variant “Variant B” added.")
    expect(page.get_by_text("0% of traffic is left.")).to_be_visible()
    expect(page.locator("#variants article.variant h3")).to_have_text(
        [re.compile(r"^Control\s+control\s+50%"), re.compile(r"^Variant B\s+50%")]
    )


def start_the_test(page) -> None:
    page.get_by_role("button", name="Start test").click()
    expect(page.get_by_role("status")).to_have_text(
        "Test started: contacts who reach the step get a variant from now on."
    )
    expect(page.get_by_role("heading", name="Friendlier welcome")).to_contain_text("running")
    expect(page.get_by_role("button", name="Pause")).to_be_visible()


def see_the_results(page) -> None:
    page.reload()
    wait_for_charts(page)
    expect(page.locator(".verdict-sentence")).not_to_be_empty()
    rows = page.locator("#numbers tbody tr")
    expect(rows.get_by_role("rowheader")).to_have_text(
        [re.compile(r"^Control\s+control$"), "Variant B"]
    )
    sent = [int(row.locator("td").nth(2).inner_text()) for row in rows.all()]
    assert sum(sent) == 4, sent  # every contact got one of the two versions
    main_nav(page, "A/B tests")
    listed = page.get_by_role("row", name=re.compile("Friendlier welcome"))
    expect(listed).to_contain_text("running")
    expect(listed).to_contain_text("1. Welcome")
