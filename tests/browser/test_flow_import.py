"""The import flow, in a real browser at 1280×800: a file exported from another tool (odd
column names) is matched to Drip's fields on the column page, a bad mapping is refused in
words, then the import names its warnings (a time zone that is not one, a phone on two rows
and the row that won) and its failed rows download as a CSV whose formula cells are
neutralised."""

from __future__ import annotations

import csv
import io
import re

from playwright.sync_api import expect

from tests.browser.support import (
    docs_shot,
    finish,
    log_in_through_form,
    main_nav,
    new_member,
    on_screen,
    refused,
)
from tests.browser.support import write_csv as write_lines


def test_flow_import_maps_odd_headers_and_downloads_failed_rows(
    page, live_server, tmp_path, request
):
    member = new_member(live_server, "Flow import")
    on_screen(page)
    log_in_through_form(page, member)
    upload = write_lines(
        tmp_path / "braze-export.csv",
        [
            "Mobile Number,Given Name,Surname,Zone,Plan,Internal Notes",
            "+44 20 7946 0301,Ada,Lovelace,Europe/London,pro,x",  # row 2
            "+44 20 7946 0302,Alan,Turing,Mars/Olympus,free,y",  # row 3: a zone that is not one
            'not a phone,"=HYPERLINK(""https://evil.example"")",,,free,z',  # row 4: refused
            "020 7946 0301,Augusta,,,vip,w",  # row 5: Ada's phone again: this row wins
        ],
    )
    main_nav(page, "Contacts")
    page.get_by_role("link", name="Import CSV").click()
    page.get_by_label("CSV file").set_input_files(upload)
    page.get_by_role("button", name="Import", exact=True).click()

    expect(
        page.get_by_role("heading", name="Match the columns of braze-export.csv")
    ).to_be_visible()
    mapping = page.locator("#column-mapping")
    expect(mapping.get_by_role("combobox", name="Mobile Number")).to_have_value("phone")
    expect(mapping.get_by_role("combobox", name="Given Name")).to_have_value("first_name")
    expect(mapping.get_by_role("combobox", name="Surname")).to_have_value("last_name")
    expect(mapping.get_by_role("combobox", name="Zone")).to_have_value("attribute")
    expect(mapping).to_contain_text("+44 20 7946 0301")  # the first values, to recognise them

    # No phone column: refused in words, nothing imported.
    mapping.get_by_role("combobox", name="Mobile Number").select_option("ignore")
    columns_path = page.url.split("//", 1)[1].split("/", 1)[1]
    with refused(page, 422, "/" + columns_path):
        page.get_by_role("button", name="Import", exact=True).click()
    expect(page.get_by_role("alert")).to_contain_text("needs a 'phone' column")

    mapping.get_by_role("combobox", name="Mobile Number").select_option("phone")
    mapping.get_by_role("combobox", name="Zone").select_option("timezone")
    page.get_by_label("Attribute name for Plan").fill("tier")
    mapping.get_by_role("combobox", name="Internal Notes").select_option("ignore")
    docs_shot(page, "contacts-import-columns", mapping)
    page.get_by_role("button", name="Import", exact=True).click()

    expect(page.get_by_role("heading", name="Import of braze-export.csv")).to_be_visible()
    expect(page.locator("[data-field=status]")).to_have_text("done")
    expect(page.locator("[data-field=created]")).to_have_text("2")
    expect(page.locator("[data-field=errorCount]")).to_have_text("1")
    # The member's organization is in Lisbon: WET, or WEST in summer, not UTC.
    expect(page.locator("#import-times")).to_contain_text(re.compile(r" WES?T\b"))
    expect(page.locator("#import-errors tbody tr")).to_have_count(1)
    expect(page.locator("#import-warnings")).to_contain_text("Mars/Olympus")
    repeated = page.locator("#import-duplicates tbody tr")
    expect(repeated).to_have_count(1)
    expect(repeated).to_contain_text("2, 5")
    expect(repeated.get_by_role("cell").last).to_have_text("5")

    with page.expect_download() as caught:
        page.get_by_role("link", name="Download these rows (CSV)").click()
    download = caught.value
    assert download.suggested_filename == "braze-export-failed-rows.csv"
    rows = list(csv.reader(io.StringIO(open(download.path(), encoding="utf-8").read())))
    assert rows[0] == [
        "Mobile Number",
        "Given Name",
        "Surname",
        "Zone",
        "Plan",
        "Internal Notes",
        "row",
        "error",
    ]
    by_row = {row[6]: row for row in rows[1:]}
    assert set(by_row) == {"3", "4", "5"}
    assert by_row["4"][1] == '\'=HYPERLINK("https://evil.example")'  # neutralised
    assert by_row["3"][7].startswith("Warning: timezone:")
    assert "last row wins" in by_row["5"][7]
    finish(page, request)
