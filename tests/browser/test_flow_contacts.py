"""Flow 1, in a real browser at 1280×800: a new user logs in through the form, adds a contact
by hand and imports a CSV with one bad row: the row is named with its number, the good rows
are in and found by the search.

Every flow (test_flow_*.py) starts from an organization of its own, ends with a full-page
screenshot in tests/browser/artifacts/ (the fixture adds one on failure) and fails on any
console error, page error, failed response or CSP violation. With DRIP_DOCS_SCREENSHOTS=1
they also take the user guide's screenshots (docs/images/)."""

from __future__ import annotations

import re

from playwright.sync_api import expect

from tests.browser.support import docs_shot, finish, main_nav, new_member, on_screen, write_csv

GRACE = "+442079460101"
ADA = "+442079460102"


def test_flow_1_log_in_add_a_contact_and_import_a_csv(page, live_server, tmp_path, request):
    member = new_member(live_server, "Flow contacts")
    on_screen(page)
    log_in_and_see_the_empty_campaign_list(page, member)
    add_a_contact_by_hand(page)
    import_a_csv_with_a_bad_row(page, tmp_path)
    find_the_imported_contacts(page)
    finish(page, request)


def log_in_and_see_the_empty_campaign_list(page, member) -> None:
    page.goto("/")  # a visitor is sent to the login form
    expect(page.get_by_role("heading", name="Log in to Drip")).to_be_visible()
    docs_shot(page, "login")
    page.get_by_label("Email").fill(member.email)
    page.get_by_label("Password").fill(member.password)
    page.get_by_role("button", name="Log in").click()
    expect(page.get_by_role("heading", name="No campaigns yet")).to_be_visible()
    expect(page.get_by_role("link", name="Create your first campaign")).to_be_visible()
    expect(page.locator("#due-now .tile-value")).to_have_text("0")


def add_a_contact_by_hand(page) -> None:
    main_nav(page, "Contacts")
    expect(page.get_by_role("heading", name="No contacts yet")).to_be_visible()
    page.get_by_role("link", name="Add a contact").click()
    page.get_by_label("Phone number").fill("020 7946 0101")  # national: the org's region, GB
    page.get_by_label("First name").fill("Grace")
    page.get_by_label("Last name").fill("Hopper")
    page.get_by_label("Tags").fill("vip, newsletter")
    page.get_by_label("Attributes").fill("city: London")
    page.get_by_role("button", name="Add contact").click()
    expect(page.get_by_role("status")).to_have_text(f"Contact {GRACE} added.")
    grace = page.get_by_role("row", name=re.compile(re.escape(GRACE)))
    expect(grace).to_contain_text("Grace Hopper")
    expect(grace.locator(".badge")).to_have_text(["newsletter", "vip", "subscribed"])


def import_a_csv_with_a_bad_row(page, tmp_path) -> None:
    upload = write_csv(
        tmp_path / "spring-leads.csv",
        [
            "phone,first_name,last_name,tags,city",
            "+44 20 7946 0102,Ada,Lovelace,spring;vip,London",
            "not a phone,Bad,Row,spring,Nowhere",  # row 3 (row 1 is the header)
            "+44 20 7946 0103,Alan,Turing,spring,Manchester",
            "+44 20 7946 0101,,,spring,",  # Grace again: updated, blank cells change nothing
        ],
    )
    page.get_by_role("link", name="Import CSV").click()
    expect(page.get_by_text("No imports yet.")).to_be_visible()
    page.get_by_label("CSV file").set_input_files(upload)
    page.get_by_role("button", name="Import", exact=True).click()
    # "city" is not a documented column: the page asks, guessing a custom attribute.
    expect(
        page.get_by_role("heading", name="Match the columns of spring-leads.csv")
    ).to_be_visible()
    expect(page.get_by_label("Attribute name for city")).to_have_value("city")
    page.get_by_role("button", name="Import", exact=True).click()
    expect(page.get_by_role("heading", name="Import of spring-leads.csv")).to_be_visible()
    expect(page.locator("[data-field=status]")).to_have_text("done")
    for field, shown in (("processedRows", "4"), ("created", "2"), ("updated", "1")):
        expect(page.locator(f"[data-field={field}]")).to_have_text(shown)
    expect(page.locator("[data-field=errorCount]")).to_have_text("1")
    problems = page.locator("section", has=page.get_by_role("heading", name="Rows not imported"))
    bad_rows = problems.locator("tbody tr")
    expect(bad_rows).to_have_count(1)
    expect(bad_rows.get_by_role("cell").first).to_have_text("3")
    expect(bad_rows.get_by_role("cell").nth(1)).to_contain_text(re.compile("phone", re.I))
    docs_shot(page, "contacts-import")


def find_the_imported_contacts(page) -> None:
    page.get_by_role("link", name="View contacts").click()
    expect(page.get_by_role("heading", name=re.compile(r"^Contacts 3$"))).to_be_visible()
    page.get_by_label("Search").fill("Lovelace")
    page.get_by_role("button", name="Filter").click()
    expect(page.get_by_role("heading", name="Contacts 1 matching")).to_be_visible()
    ada = page.get_by_role("row", name=re.compile(re.escape(ADA)))
    expect(ada).to_contain_text("Ada Lovelace")
    expect(ada.locator(".badge")).to_have_text(["spring", "vip", "subscribed"])
    page.get_by_label("Search").fill("")
    page.get_by_label("Tag", exact=True).select_option("spring")
    page.get_by_role("button", name="Filter").click()
    expect(page.get_by_role("heading", name="Contacts 3 matching")).to_be_visible()
    expect(page.locator("table tbody tr")).to_contain_text(
        ["Alan Turing", "Ada Lovelace", "Grace Hopper"]  # newest first
    )
    docs_shot(page, "contacts")
