"""CSV import, what it tells the user: a phone repeated in the file (the last row wins), a time
zone that is not one (imported with a warning), the failed rows as a CSV safe to open in a
spreadsheet, the column mapping (page and API), times on the viewer's clock."""

from __future__ import annotations

import csv
import io
import json

import pytest
from sqlalchemy import func, select

from app.extensions import db
from app.models import Contact, ContactImport, Organization


def upload(client, text: str, headers=None, mapping=None, filename="contacts.csv"):
    data = {"file": (io.BytesIO(text.encode()), filename)}
    if mapping is not None:
        data["mapping"] = mapping if isinstance(mapping, str) else json.dumps(mapping)
    return client.post(
        "/api/contacts/import", data=data, headers=headers, content_type="multipart/form-data"
    )


def page_upload(client, text: str, filename="people.csv"):
    return client.post(
        "/contacts/import",
        data={"file": (io.BytesIO(text.encode()), filename)},
        content_type="multipart/form-data",
    )


def contacts_by_phone(app) -> dict[str, Contact]:
    with app.app_context():
        rows = db.session.scalars(select(Contact)).all()
        db.session.expunge_all()
        return {c.phone: c for c in rows}


def counts(app) -> tuple[int, int]:
    with app.app_context():
        return (
            db.session.scalar(select(func.count()).select_from(Contact)),
            db.session.scalar(select(func.count()).select_from(ContactImport)),
        )


def set_org_zone(app, org_id: int, zone: str) -> None:
    with app.app_context():
        db.session.get(Organization, org_id).timezone = zone
        db.session.commit()


def read_csv(text: str) -> list[list[str]]:
    return list(csv.reader(io.StringIO(text)))


HEADER = "phone,first_name,last_name,timezone,tags\n"


def test_a_repeated_phone_is_reported_with_the_row_that_won(clean_app, org_a, client_a):
    text = (
        HEADER
        + "+12025550143,Ada,Lovelace,,vip\n"  # row 2
        + "+12025550144,Alan,,,\n"  # row 3
        + "(202) 555-0143,Augusta,,,news\n"  # row 4: same phone as row 2
        + "202.555.0143,Countess,,,\n"  # row 5: and again; the last row wins
    )
    data = upload(clean_app.test_client(), text, org_a.auth).json["data"]
    assert (data["created"], data["updated"], data["errorCount"]) == (2, 2, 0)
    assert data["duplicates"] == [
        {"field": "phone", "value": "+12025550143", "rows": [2, 4, 5], "winningRow": 5}
    ]
    assert "last row wins" in data["duplicateRule"]
    assert [w["row"] for w in data["warnings"]] == [4, 5]
    assert "also on rows 2, 4" in data["warnings"][1]["message"]
    ada = contacts_by_phone(clean_app)["+12025550143"]
    assert (ada.first_name, ada.last_name) == ("Countess", "Lovelace")  # blank keeps
    html = client_a.get(f"/contacts/imports/{data['importId']}").get_data(as_text=True)
    assert "Contacts on several rows" in html and "the last row wins" in html
    assert '<td>2, 4, 5</td><td class="num">5</td>' in html


def test_a_repeat_in_a_later_chunk_is_still_reported(clean_app, org_a, monkeypatch):
    from app.drip.contacts import csv_import

    monkeypatch.setattr(csv_import, "CHUNK_ROWS", 2)
    text = HEADER + "+12025550143,A,,,\n+12025550144,B,,,\n+12025550145,C,,,\n+12025550143,D,,,\n"
    data = upload(clean_app.test_client(), text, org_a.auth).json["data"]
    assert data["duplicates"][0]["rows"] == [2, 5]


def test_a_bad_time_zone_imports_the_row_with_a_warning(clean_app, org_a, client_a):
    set_org_zone(clean_app, org_a.org_id, "Europe/Lisbon")
    text = HEADER + "+12025550143,Ada,,Mars/Olympus,\n+12025550144,Alan,,Europe/London,\n"
    data = upload(clean_app.test_client(), text, org_a.auth).json["data"]
    assert (data["created"], data["errorCount"]) == (2, 0)
    (warning,) = data["warnings"]
    assert warning["row"] == 2
    assert "'Mars/Olympus' is not a time zone" in warning["message"]
    assert "Europe/Lisbon" in warning["message"]
    people = contacts_by_phone(clean_app)
    assert people["+12025550143"].timezone is None  # follows the organization's zone
    assert people["+12025550144"].timezone == "Europe/London"
    html = client_a.get(f"/contacts/imports/{data['importId']}").get_data(as_text=True)
    assert "Imported with a warning" in html and "Mars/Olympus" in html


def test_failed_rows_download_as_a_csv_safe_in_a_spreadsheet(clean_app, org_a, client_a):
    text = (
        "Phone,First Name,Notes\n"
        + "+12025550143,Ada,ok\n"  # row 2: imported
        + '12345,"=HYPERLINK(""https://evil.example"",""x"")",@SUM(1)\n'  # row 3: bad phone
        + ",-2+3,+cmd\n"  # row 4: no phone
    )
    data = upload(clean_app.test_client(), text, org_a.auth).json["data"]
    assert [e["row"] for e in data["errors"]] == [3, 4]
    api = clean_app.test_client().get(data["failedRowsUrl"], headers=org_a.auth)
    page = client_a.get(f"/contacts/imports/{data['importId']}/failed-rows.csv")
    for response in (api, page):
        assert response.status_code == 200
        assert response.mimetype == "text/csv"
        assert "attachment" in response.headers["Content-Disposition"]
        rows = read_csv(response.get_data(as_text=True))
        assert rows[0] == ["Phone", "First Name", "Notes", "row", "error"]
        assert rows[1][:4] == ["12345", '\'=HYPERLINK("https://evil.example","x")', "'@SUM(1)", "3"]
        assert "phone" in rows[1][4] and "12345" in rows[1][4]
        assert rows[2][:4] == ["", "'-2+3", "'+cmd", "4"]
        assert len(rows) == 3
    other = clean_app.test_client().get(data["failedRowsUrl"], headers=org_a.auth)
    assert other.status_code == 200


def test_warnings_are_in_the_failed_rows_file_too(clean_app, org_a, client_a):
    text = HEADER + "+12025550143,Ada,,Nowhere/Town,\n"
    data = upload(clean_app.test_client(), text, org_a.auth).json["data"]
    rows = read_csv(
        client_a.get(f"/contacts/imports/{data['importId']}/failed-rows.csv").get_data(as_text=True)
    )
    assert rows[1][:4] == ["+12025550143", "Ada", "", "Nowhere/Town"]
    assert rows[1][5] == "2" and rows[1][6].startswith("Warning: timezone:")


def test_another_organizations_failed_rows_are_not_found(clean_app, org_a, org_b):
    data = upload(clean_app.test_client(), HEADER + "bad,,,,\n", org_a.auth).json["data"]
    response = clean_app.test_client().get(data["failedRowsUrl"], headers=org_b.auth)
    assert response.status_code == 404


def test_the_api_takes_a_mapping_of_odd_headers(clean_app, org_a):
    text = "Mobile No.,Given,Plan,Internal Notes\n+12025550143,Ada,pro,do not show\n"
    mapping = {"Mobile No.": "phone", "Given": "first_name", "Plan": "attribute:tier"}
    mapping["Internal Notes"] = "ignore"
    response = upload(clean_app.test_client(), text, org_a.auth, mapping)
    assert response.status_code == 200, response.json
    data = response.json["data"]
    assert data["mapping"] == mapping
    (ada,) = contacts_by_phone(clean_app).values()
    assert (ada.phone, ada.first_name, ada.attributes) == ("+12025550143", "Ada", {"tier": "pro"})


def test_without_a_mapping_the_api_guesses_the_columns(clean_app, org_a):
    text = "Phone Number,First Name,Surname,Time Zone,Plan\n+12025550143,Ada,Lovelace,UTC,pro\n"
    data = upload(clean_app.test_client(), text, org_a.auth).json["data"]
    assert data["mapping"] == {
        "Phone Number": "phone",
        "First Name": "first_name",
        "Surname": "last_name",
        "Time Zone": "timezone",
        "Plan": "attribute:Plan",
    }
    (ada,) = contacts_by_phone(clean_app).values()
    assert (ada.first_name, ada.last_name, ada.timezone) == ("Ada", "Lovelace", "UTC")


@pytest.mark.parametrize(
    ("mapping", "message"),
    [
        ({"Nope": "phone"}, "not in the header row: 'Nope'"),
        ({"Plan": "birthday"}, "map it to one of phone"),
        ({"Plan": "phone"}, "appears twice"),
        ({"Mobile": "ignore"}, "needs a 'phone' column"),
        ({"Plan": "attribute:" + "x" * 65}, "at most 64 characters"),
        ("not json", "a JSON object"),
        ('["phone"]', "a JSON object"),
        ("{" + " " * 70_000 + "}", "at most 65,536 characters"),
    ],
)
def test_a_bad_mapping_is_refused_in_words_and_nothing_is_imported(
    clean_app, org_a, mapping, message
):
    text = "Mobile,Plan\n+12025550143,pro\n"
    response = upload(clean_app.test_client(), text, org_a.auth, mapping)
    assert response.status_code == 422
    assert message in response.json["error"]["details"]["fields"]["mapping"]
    assert "Traceback" not in response.get_data(as_text=True)
    assert counts(clean_app) == (0, 0)


def test_the_page_asks_for_odd_columns_then_imports(clean_app, org_a, client_a):
    text = "Phone Number,Given Name,Plan,Notes\n+12025550143,Ada,pro,hello\n"
    response = page_upload(client_a, text)
    assert response.status_code == 302
    columns_url = response.headers["Location"]
    assert columns_url.endswith("/columns")
    assert counts(clean_app) == (0, 1)  # held, not run
    html = client_a.get(columns_url).get_data(as_text=True)
    assert "Match the columns of people.csv" in html
    assert '<option value="phone" selected>' in html  # Phone Number, guessed
    assert '<option value="first_name" selected>' in html  # Given Name
    assert 'name="attribute-2" id="attribute-2" value="Plan"' in html
    assert "+12025550143" in html  # the first values, to recognise the columns
    # The status page of an import waiting for its columns leads back to them.
    import_id = int(columns_url.split("/")[-2])
    assert client_a.get(f"/contacts/imports/{import_id}").headers["Location"] == columns_url
    listing = client_a.get("/contacts/import").get_data(as_text=True)
    assert "columns to match" in listing

    # A mapping without a phone: refused in words, nothing imported.
    bad = {"column-0": "ignore", "column-1": "first_name", "column-2": "attribute"}
    bad |= {"attribute-2": "plan", "column-3": "ignore"}
    response = client_a.post(columns_url, data=bad)
    assert response.status_code == 422
    assert "needs a &#39;phone&#39; column" in response.get_data(as_text=True)
    assert counts(clean_app) == (0, 1)

    good = {**bad, "column-0": "phone", "attribute-2": "tier"}
    response = client_a.post(columns_url, data=good)
    assert response.status_code == 302
    assert response.headers["Location"].endswith(f"/contacts/imports/{import_id}")
    (ada,) = contacts_by_phone(clean_app).values()
    assert (ada.first_name, ada.attributes) == ("Ada", {"tier": "pro"})
    # Mapped once: the column step now leads to the status page.
    assert client_a.get(columns_url).status_code == 302


def test_a_field_chosen_for_two_columns_is_shown_next_to_the_column(clean_app, client_a):
    response = page_upload(client_a, "Phone Number,Mobile\n+12025550143,+12025550144\n")
    columns_url = response.headers["Location"]
    html = client_a.post(columns_url, data={"column-0": "phone", "column-1": "phone"})
    text = html.get_data(as_text=True)
    assert html.status_code == 422
    assert 'aria-invalid="true" aria-describedby="column-1-error"' in text
    assert "appears twice" in text


def test_exact_column_names_import_at_once_from_the_page(clean_app, client_a):
    response = page_upload(client_a, HEADER + "+12025550143,Ada,,,\n")
    assert "/columns" not in response.headers["Location"]
    assert counts(clean_app) == (1, 1)


def test_a_waiting_import_can_be_cancelled(clean_app, client_a):
    response = page_upload(client_a, "Mobile\n+12025550143\n")
    import_id = int(response.headers["Location"].split("/")[-2])
    response = client_a.post(f"/contacts/imports/{import_id}/cancel")
    assert response.status_code == 302
    assert counts(clean_app) == (0, 0)


def test_another_organizations_waiting_import_is_not_found(clean_app, client_a, client_b):
    response = page_upload(client_a, "Mobile\n+12025550143\n")
    columns_url = response.headers["Location"]
    assert client_b.get(columns_url).status_code == 404
    assert client_b.post(columns_url, data={"column-0": "phone"}).status_code == 404
    assert counts(clean_app) == (0, 1)


def test_a_waiting_import_does_not_run_behind_the_users_back(clean_app, client_a):
    from app.tasks.jobs import run_contact_import

    response = page_upload(client_a, "Mobile\n+12025550143\n")
    import_id = int(response.headers["Location"].split("/")[-2])
    with clean_app.app_context():
        run_contact_import(import_id)
    assert counts(clean_app) == (0, 1)


def test_import_times_are_on_the_viewers_clock(clean_app, org_a, client_a):
    set_org_zone(clean_app, org_a.org_id, "Asia/Tokyo")
    response = page_upload(client_a, HEADER + "+12025550143,Ada,,,\n")
    html = client_a.get(response.headers["Location"]).get_data(as_text=True)
    assert "JST" in html and "UTC" not in html.split('id="import-times"')[1].split("</p>")[0]
    listing = client_a.get("/contacts/import").get_data(as_text=True)
    assert "JST" in listing
