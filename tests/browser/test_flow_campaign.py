"""Flow 2, in a real browser at 1280×800: build a three-step campaign with a variable and a
fallback while the live preview follows the typing, reorder two steps, activate it, enroll a
tag and see each enrollment's next send time in the viewer's time zone, the zone named.
(What every flow shares: test_flow_contacts.py.)"""

from __future__ import annotations

import re
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from playwright.sync_api import expect

from tests.browser.support import (
    docs_shot,
    finish,
    log_in_through_form,
    main_nav,
    new_member,
    on_screen,
    write_csv,
)

ZONE = ZoneInfo("Europe/Lisbon")  # the organization's
LOCAL_TIME = re.compile(r"^(\d{4}-\d{2}-\d{2} \d{2}:\d{2}) (\S+)$")


def test_flow_2_build_a_campaign_and_enroll_a_tag(page, live_server, tmp_path, request):
    on_screen(page)
    log_in_through_form(page, new_member(live_server, "Flow campaign"))
    import_tagged_contacts(page, tmp_path)
    create_a_campaign(page)
    add_the_first_step_watching_the_preview(page)
    add_two_more_steps_and_reorder_them(page)
    activate(page)
    enroll_a_tag_and_see_the_next_sends(page)
    finish(page, request)


def import_tagged_contacts(page, tmp_path) -> None:
    main_nav(page, "Contacts")
    page.get_by_role("link", name="Import a CSV file").click()
    upload = write_csv(
        tmp_path / "customers.csv",
        [
            "phone,first_name,last_name,tags",
            "+44 20 7946 0201,Ada,Lovelace,customer",
            "+44 20 7946 0202,,,customer",  # no name: the fallback's case
            "+44 20 7946 0203,Alan,Turing,customer",
            "+44 20 7946 0204,Grace,Hopper,prospect",
        ],
    )
    page.get_by_label("CSV file").set_input_files(upload)
    page.get_by_role("button", name="Import", exact=True).click()
    expect(page.locator("[data-field=created]")).to_have_text("4")


def create_a_campaign(page) -> None:
    main_nav(page, "Campaigns")
    page.get_by_role("link", name="Create your first campaign").click()
    page.get_by_label("Name", exact=True).fill("Spring welcome")
    page.get_by_label("Description").fill("Three messages for new customers.")
    expect(page.get_by_label("Enrollment trigger")).to_have_value("manual")
    expect(page.get_by_label("Stop when the contact replies")).to_be_checked()
    page.get_by_role("button", name="Create campaign").click()
    expect(page.get_by_role("status")).to_have_text("Campaign created. Add its first step below.")
    expect(page.get_by_role("heading", name="Spring welcome")).to_contain_text("draft")
    expect(page.get_by_text("No steps yet.")).to_be_visible()


def add_the_first_step_watching_the_preview(page) -> None:
    form = page.locator("form.step-form")
    preview = form.locator("[data-preview-text]")
    expect(preview).to_have_text("Type a message to see it here.")
    form.get_by_label("Step name").fill("Welcome")
    form.get_by_label("Wait").fill("1")
    form.get_by_label("Unit").select_option("hours")
    text = form.get_by_label("Text", exact=True)
    text.press_sequentially("Hi {{first_name|there}}")
    expect(preview).to_have_text("Hi Alex")  # the sample contact
    form.get_by_label("Preview as").select_option(label="Ada Lovelace · +442079460201")
    expect(preview).to_have_text("Hi Ada")
    form.get_by_label("Preview as").select_option(label="+442079460202")
    expect(preview).to_have_text("Hi there")  # no first name: the fallback
    text.press_sequentially(", welcome to the shop! Reply with any question.")
    expect(preview).to_have_text("Hi there, welcome to the shop! Reply with any question.")
    expect(form.locator("[data-preview-errors] li")).to_have_count(0)
    docs_shot(page, "campaign-step-preview", form)
    form.get_by_role("button", name="Add step").click()
    expect(page.get_by_role("status")).to_have_text("Step added.")


def add_two_more_steps_and_reorder_them(page) -> None:
    for name, days, message in (
        ("Offer", "3", "{{first_name|Hello}}, 10% off your next order with code SPRING."),
        ("Tips", "1", "Three tips for your first order, {{first_name|friend}}."),
    ):
        form = page.locator("form.step-form")
        form.get_by_label("Step name").fill(name)
        form.get_by_label("Wait").fill(days)
        form.get_by_label("Unit").select_option("days")
        form.get_by_label("Text", exact=True).fill(message)
        form.get_by_role("button", name="Add step").click()
        expect(page.get_by_role("status")).to_have_text("Step added.")
    steps = page.locator("ol.steps > li")
    names = steps.locator(".step-head strong")
    expect(names).to_have_text(["1. Welcome", "2. Offer", "3. Tips"])
    expect(steps.first).to_contain_text("1 hour after enrollment")
    page.get_by_role("button", name="Move Tips up").click()
    expect(names).to_have_text(["1. Welcome", "2. Tips", "3. Offer"])
    expect(steps.nth(1)).to_contain_text("1 day after the previous step")
    expect(steps.nth(2)).to_contain_text("3 days after the previous step")


def activate(page) -> None:
    page.get_by_role("button", name="Activate").click()
    expect(page.get_by_role("status")).to_have_text(
        "Campaign activated: due steps go out on the next processing pass."
    )
    expect(page.get_by_role("heading", name="Spring welcome")).to_contain_text("active")
    docs_shot(page, "campaign", until=page.locator("ol.steps"))


def enroll_a_tag_and_see_the_next_sends(page) -> None:
    page.get_by_role("link", name="Enrollments and enroll contacts").click()
    expect(page.get_by_text("No enrollments.")).to_be_visible()
    expect(page.get_by_label("Everyone with a tag")).to_be_checked()
    page.get_by_label("Tag", exact=True).fill("customer")
    enrolled_at = datetime.now(ZONE)
    page.get_by_role("button", name="Enroll", exact=True).click()
    expect(page.get_by_role("status")).to_have_text("Enrolled 3 contacts.")
    expect(page.get_by_role("heading", name="Enrolled 3, skipped 0")).to_be_visible()
    expect(page.locator("#viewer-zone")).to_have_text("Europe/Lisbon")

    # Each contact waits for step 1, an hour after enrollment, shown in Lisbon time.
    header = page.get_by_role("columnheader", name=re.compile(r"^Next send \(Europe.Lisbon"))
    expect(header).to_be_visible()
    rows = page.locator("tr[id^=enrollment-]")
    expect(rows).to_have_count(3)
    for who in ("Ada Lovelace +442079460201", "— +442079460202", "Alan Turing +442079460203"):
        expect(rows.filter(has_text=who)).to_have_count(1)
    for row in rows.all():
        cells = row.get_by_role("cell")  # the bulk checkbox first
        expect(cells.nth(2)).to_have_text(re.compile(r"^active\b"))
        expect(cells.nth(3)).to_have_text("1. Welcome")
        shown = LOCAL_TIME.match(cells.nth(4).inner_text())
        assert shown, cells.nth(4).inner_text()
        assert shown[2] in ("WET", "WEST"), shown[2]  # the zone is named
        next_send = datetime.strptime(shown[1], "%Y-%m-%d %H:%M").replace(tzinfo=ZONE)
        assert abs(next_send - (enrolled_at + timedelta(hours=1))) < timedelta(minutes=2)
    docs_shot(page, "enrollments", page.locator("section", has=header))
