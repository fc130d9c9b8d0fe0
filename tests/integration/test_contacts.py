"""Contacts over the JSON API and the pages: E.164 phones, search and filters, tags,
attributes, edit, delete, and the enrollment triggers."""

from __future__ import annotations

import pytest
from sqlalchemy import func, insert, select, update

from app.drip import enrollment
from app.extensions import db
from app.models import Contact, ContactTag, Organization, Tag, utcnow


@pytest.fixture
def hooks(monkeypatch):
    """The enrollment triggers, recorded instead of run."""
    calls = {"created": [], "tags": []}
    monkeypatch.setattr(
        enrollment,
        "on_contacts_created",
        lambda session, org_id, ids: calls["created"].append((org_id, list(ids))),
    )
    monkeypatch.setattr(
        enrollment,
        "on_tags_added",
        lambda session, org_id, tag_id, ids: calls["tags"].append((org_id, tag_id, list(ids))),
    )
    return calls


def tag_id(app, org_id: int, name: str) -> int:
    with app.app_context():
        return db.session.scalar(
            select(Tag.id).where(Tag.organization_id == org_id, Tag.name == name)
        )


def create(client, org, **body):
    response = client.post("/api/contacts", json=body, headers=org.auth)
    assert response.status_code == 201, response.json
    return response.json["data"]


# --- API: create --------------------------------------------------------------------------


def test_create_stores_e164_and_answers_camel_case(clean_app, org_a):
    client = clean_app.test_client()
    data = create(
        client,
        org_a,
        phone="(202) 555-0143",
        firstName="Ada",
        lastName="Lovelace",
        timezone="Europe/London",
        tags=["vip", "newsletter", "vip"],
        attributes={"city": "London", "orders": 3},
    )
    assert data["phone"] == "+12025550143"
    assert data["firstName"] == "Ada" and data["lastName"] == "Lovelace"
    assert data["timezone"] == "Europe/London"
    assert data["tags"] == ["newsletter", "vip"]
    assert data["attributes"] == {"city": "London", "orders": 3}
    assert data["optedOutAt"] is None
    assert data["createdAt"].endswith("Z")
    fetched = client.get(f"/api/contacts/{data['id']}", headers=org_a.auth).json["data"]
    assert fetched == data


def test_local_numbers_are_read_in_the_organizations_region(clean_app, org_a):
    with clean_app.app_context():
        db.session.execute(
            update(Organization).where(Organization.id == org_a.org_id).values(default_region="GB")
        )
        db.session.commit()
    data = create(clean_app.test_client(), org_a, phone="020 7946 0123")
    assert data["phone"] == "+442079460123"


@pytest.mark.parametrize("phone", ["+44 7700 900123", "12345", "call me", "", None])
def test_an_invalid_phone_is_a_field_error(clean_app, org_a, phone):
    response = clean_app.test_client().post(
        "/api/contacts", json={"phone": phone, "firstName": "Ada"}, headers=org_a.auth
    )
    assert response.status_code == 422
    error = response.json["error"]
    assert error["code"] == "validation_error"
    assert "phone" in error["details"]["fields"]
    with clean_app.app_context():
        assert db.session.scalar(select(func.count()).select_from(Contact)) == 0


def test_field_errors_use_the_api_names(clean_app, org_a):
    response = clean_app.test_client().post(
        "/api/contacts",
        json={
            "phone": "+12025550143",
            "firstName": 42,
            "timezone": "Mars/Olympus",
            "tags": "vip",
            "attributes": {"nested": {"no": 1}},
        },
        headers=org_a.auth,
    )
    assert response.status_code == 422
    assert set(response.json["error"]["details"]["fields"]) == {
        "firstName",
        "timezone",
        "tags",
        "attributes",
    }


def test_unknown_fields_and_bad_bodies_are_refused(clean_app, org_a):
    client = clean_app.test_client()
    response = client.post(
        "/api/contacts", json={"phone": "+12025550143", "colour": "red"}, headers=org_a.auth
    )
    assert response.status_code == 422
    assert "colour" in response.json["error"]["details"]["fields"]
    response = client.post("/api/contacts", data="[]", headers=org_a.auth)
    assert response.status_code == 400


def test_a_phone_is_unique_per_organization_in_any_format(clean_app, org_a, org_b):
    client = clean_app.test_client()
    first = create(client, org_a, phone="+1 202 555 0143")
    response = client.post("/api/contacts", json={"phone": "202-555-0143"}, headers=org_a.auth)
    assert response.status_code == 409
    assert response.json["error"]["details"]["contactId"] == first["id"]
    assert "phone" in response.json["error"]["details"]["fields"]
    # Another organization may have the same person.
    assert create(client, org_b, phone="+12025550143")["phone"] == "+12025550143"


# --- API: edit, delete ----------------------------------------------------------------------


def test_patch_changes_only_the_fields_sent(clean_app, org_a):
    client = clean_app.test_client()
    contact = create(
        client,
        org_a,
        phone="+12025550143",
        firstName="Ada",
        lastName="Lovelace",
        tags=["vip"],
        attributes={"city": "London"},
    )
    url = f"/api/contacts/{contact['id']}"
    response = client.patch(url, json={"firstName": "Augusta"}, headers=org_a.auth)
    assert response.status_code == 200
    data = response.json["data"]
    assert data["firstName"] == "Augusta"
    assert data["lastName"] == "Lovelace"
    assert data["tags"] == ["vip"]
    assert data["attributes"] == {"city": "London"}

    data = client.patch(
        url,
        json={"tags": ["news"], "attributes": {"plan": "pro"}, "lastName": None},
        headers=org_a.auth,
    ).json["data"]
    assert data["tags"] == ["news"]
    assert data["attributes"] == {"plan": "pro"}
    assert data["lastName"] is None

    data = client.patch(url, json={"phone": "(202) 555-0144"}, headers=org_a.auth).json["data"]
    assert data["phone"] == "+12025550144"
    # Read-only fields sent back as they were read are ignored.
    assert client.patch(url, json=data, headers=org_a.auth).status_code == 200


def test_patch_validates_like_create(clean_app, org_a):
    client = clean_app.test_client()
    one = create(client, org_a, phone="+12025550143")
    create(client, org_a, phone="+12025550144")
    url = f"/api/contacts/{one['id']}"
    response = client.patch(url, json={"phone": "+12025550144"}, headers=org_a.auth)
    assert response.status_code == 409
    response = client.patch(url, json={"phone": "nope"}, headers=org_a.auth)
    assert response.status_code == 422
    assert "phone" in response.json["error"]["details"]["fields"]
    response = client.patch(url, json={"optedOut": "yes"}, headers=org_a.auth)
    assert "optedOut" in response.json["error"]["details"]["fields"]
    assert client.get(url, headers=org_a.auth).json["data"]["phone"] == "+12025550143"


def test_opt_out_and_back_in(clean_app, org_a):
    client = clean_app.test_client()
    url = f"/api/contacts/{create(client, org_a, phone='+12025550143')['id']}"
    data = client.patch(url, json={"optedOut": True}, headers=org_a.auth).json["data"]
    assert data["optedOutAt"] is not None
    assert data["optOutReason"] == "manual"
    data = client.patch(url, json={"optedOut": False}, headers=org_a.auth).json["data"]
    assert data["optedOutAt"] is None


def test_delete_removes_the_contact_and_its_tags(clean_app, org_a):
    client = clean_app.test_client()
    contact = create(client, org_a, phone="+12025550143", tags=["vip"])
    url = f"/api/contacts/{contact['id']}"
    response = client.delete(url, headers=org_a.auth)
    assert response.status_code == 200
    assert response.json["data"] == {"id": contact["id"], "deleted": True}
    assert client.get(url, headers=org_a.auth).status_code == 404
    assert client.delete(url, headers=org_a.auth).status_code == 404
    with clean_app.app_context():
        assert db.session.scalar(select(func.count()).select_from(ContactTag)) == 0


def test_session_callers_use_the_api_too(client_a):
    response = client_a.post("/api/contacts", json={"phone": "+12025550143"})
    assert response.status_code == 201
    assert client_a.get("/api/contacts").json["meta"]["total"] == 1


# --- API: list, search, filters, pages -------------------------------------------------------


@pytest.fixture
def people(clean_app, org_a, org_b):
    client = clean_app.test_client()
    rows = [
        ("+12025550143", "Ada", "Lovelace", ["vip", "london"]),
        ("+12025550144", "Alan", "Turing", ["london"]),
        ("+442079460123", "Grace", "Hopper", ["vip"]),
        ("+12025550145", "Edsger", None, []),
        ("+12025550146", "100%_sure", None, []),
    ]
    ids = {}
    for phone, first, last, tags in rows:
        ids[first] = create(client, org_a, phone=phone, firstName=first, lastName=last, tags=tags)[
            "id"
        ]
    client.patch(f"/api/contacts/{ids['Alan']}", json={"optedOut": True}, headers=org_a.auth)
    create(client, org_b, phone="+12025550147", firstName="Ada", tags=["vip"])
    return ids


def names(response) -> set[str]:
    assert response.status_code == 200, response.json
    return {c["firstName"] for c in response.json["data"]}


def test_list_searches_names_and_phone_digits(clean_app, org_a, people):
    client = clean_app.test_client()

    def search(q):
        return names(client.get("/api/contacts", query_string={"q": q}, headers=org_a.auth))

    assert search("ada") == {"Ada"}  # not organization B's Ada
    assert search("LOVE") == {"Ada"}
    assert search("grace hop") == {"Grace"}
    assert search("7946") == {"Grace"}
    assert search("+1 202 555 0144") == {"Alan"}
    assert search("(202) 555-0144") == {"Alan"}
    assert search("ada 1") == set()  # not a phone number: its digits match no phone
    assert search("%") == {"100%_sure"}  # a LIKE wildcard is a character here
    assert search("_") == {"100%_sure"}
    assert search("nobody") == set()


def test_list_filters_by_tag_and_opt_out(clean_app, org_a, people):
    client = clean_app.test_client()

    def listing(**args):
        return names(client.get("/api/contacts", query_string=args, headers=org_a.auth))

    assert listing(tag="vip") == {"Ada", "Grace"}
    assert listing(tag="london", optedOut="false") == {"Ada"}
    assert listing(optedOut="true") == {"Alan"}
    assert listing(tag="nope") == set()
    assert len(listing()) == 5
    response = client.get("/api/contacts?optedOut=maybe", headers=org_a.auth)
    assert response.status_code == 422
    assert "optedOut" in response.json["error"]["details"]["fields"]


def test_list_is_paged_newest_first(clean_app, org_a, people):
    client = clean_app.test_client()
    first = client.get("/api/contacts?perPage=2", headers=org_a.auth).json
    assert first["meta"] == {"page": 1, "perPage": 2, "total": 5}
    assert [c["firstName"] for c in first["data"]] == ["100%_sure", "Edsger"]
    third = client.get("/api/contacts?perPage=2&page=3", headers=org_a.auth).json
    assert [c["firstName"] for c in third["data"]] == ["Ada"]
    assert third["data"][0]["tags"] == ["london", "vip"]
    assert client.get("/api/contacts?perPage=501", headers=org_a.auth).status_code == 422


# --- triggers -------------------------------------------------------------------------------


def test_create_fires_contact_created_then_tag_added_per_tag(clean_app, org_a, hooks):
    contact = create(clean_app.test_client(), org_a, phone="+12025550143", tags=["vip", "news"])
    assert hooks["created"] == [(org_a.org_id, [contact["id"]])]
    assert sorted(hooks["tags"]) == sorted(
        [
            (org_a.org_id, tag_id(clean_app, org_a.org_id, "vip"), [contact["id"]]),
            (org_a.org_id, tag_id(clean_app, org_a.org_id, "news"), [contact["id"]]),
        ]
    )


def test_tag_added_fires_only_for_tags_the_contact_did_not_have(clean_app, org_a, hooks):
    client = clean_app.test_client()
    contact = create(client, org_a, phone="+12025550143", tags=["vip"])
    hooks["tags"].clear()
    url = f"/api/contacts/{contact['id']}"
    client.patch(url, json={"tags": ["vip", "news"]}, headers=org_a.auth)
    assert hooks["tags"] == [
        (org_a.org_id, tag_id(clean_app, org_a.org_id, "news"), [contact["id"]])
    ]
    hooks["tags"].clear()
    client.patch(url, json={"tags": ["news"]}, headers=org_a.auth)  # a removal adds nothing
    client.patch(url, json={"firstName": "Ada"}, headers=org_a.auth)
    assert hooks["tags"] == []
    assert hooks["created"] == [(org_a.org_id, [contact["id"]])]  # edits create nothing


def test_a_refused_create_fires_nothing(clean_app, org_a, hooks):
    clean_app.test_client().post("/api/contacts", json={"phone": "123"}, headers=org_a.auth)
    assert hooks == {"created": [], "tags": []}


def test_page_create_fires_the_triggers_too(clean_app, org_a, client_a, hooks):
    client_a.post("/contacts/new", data={"phone": "+12025550143", "tags": "vip"})
    with clean_app.app_context():
        contact_id = db.session.scalar(select(Contact.id))
    assert hooks["created"] == [(org_a.org_id, [contact_id])]
    assert hooks["tags"] == [(org_a.org_id, tag_id(clean_app, org_a.org_id, "vip"), [contact_id])]


# --- pages ----------------------------------------------------------------------------------


def test_empty_list_page_offers_a_next_action(client_a):
    html = client_a.get("/contacts/").get_data(as_text=True)
    assert "No contacts yet" in html
    assert 'href="/contacts/import"' in html
    assert 'href="/contacts/new"' in html


def test_list_page_searches_filters_and_pages_keeping_the_filters(clean_app, org_a, client_a):
    with clean_app.app_context():
        now = utcnow()
        db.session.execute(
            insert(Contact),
            [
                {
                    "organization_id": org_a.org_id,
                    "phone": f"+1202555{n:04d}",
                    "first_name": "Ada" if n % 2 else "Bob",
                    "attributes": {},
                    "created_at": now,
                    "updated_at": now,
                }
                for n in range(1234)
            ],
        )
        db.session.commit()
    html = client_a.get("/contacts/").get_data(as_text=True)
    assert "1,234" in html  # thousands separators
    html = client_a.get("/contacts/?q=ada&status=subscribed").get_data(as_text=True)
    assert "617" in html
    assert "Page 1 of 13" in html
    assert "Bob" not in html
    next_link = html.split('rel="next"')[0].rsplit('href="', 1)[1].split('"')[0]
    assert "q=ada" in next_link and "status=subscribed" in next_link and "page=2" in next_link
    html = client_a.get("/contacts/?q=nobody").get_data(as_text=True)
    assert "No contacts match" in html


def test_list_page_shows_tags_and_the_tag_filter(clean_app, org_a, client_a, people):
    html = client_a.get("/contacts/?tag=vip").get_data(as_text=True)
    assert "Lovelace" in html and "Hopper" in html and "Turing" not in html
    assert '<option value="vip" selected>vip (2)</option>' in html
    html = client_a.get("/contacts/?status=opted_out").get_data(as_text=True)
    assert "Turing" in html and "Lovelace" not in html


def test_create_page_adds_a_contact(clean_app, client_a):
    page = client_a.get("/contacts/new").get_data(as_text=True)
    assert '<label for="phone">Phone number</label>' in page
    response = client_a.post(
        "/contacts/new",
        data={
            "phone": "(202) 555-0143",
            "first_name": "Ada",
            "timezone": "Europe/London",
            "tags": "vip, news",
            "attributes": "city: London\n\nplan: pro",
        },
    )
    assert response.status_code == 302
    with clean_app.app_context():
        contact = db.session.scalar(select(Contact))
        assert contact.phone == "+12025550143"
        assert contact.attributes == {"city": "London", "plan": "pro"}
    html = client_a.get("/contacts/").get_data(as_text=True)
    assert "+12025550143" in html and "vip" in html


@pytest.mark.parametrize(
    ("data", "field", "message"),
    [
        ({"phone": "+44 7700 900123"}, "phone", "is not a valid phone number"),
        ({"phone": ""}, "phone", "needs a phone number or a WhatsApp user id"),
        ({"phone": "+12025550143", "timezone": "Mars/Olympus"}, "timezone", "Unknown time zone"),
        ({"phone": "+12025550143", "attributes": "no colon here"}, "attributes", "Line 1"),
    ],
)
def test_create_page_shows_field_errors(clean_app, client_a, data, field, message):
    response = client_a.post("/contacts/new", data=data)
    assert response.status_code in (400, 422)
    html = response.get_data(as_text=True)
    assert f'id="{field}-error"' in html
    assert message in html.split(f'id="{field}-error"')[1].split("</span>")[0]
    with clean_app.app_context():
        assert db.session.scalar(select(func.count()).select_from(Contact)) == 0


def test_create_page_reports_a_duplicate_phone(clean_app, org_a, client_a):
    create(clean_app.test_client(), org_a, phone="+12025550143")
    response = client_a.post("/contacts/new", data={"phone": "202 555 0143"})
    assert response.status_code == 409
    assert "already exists" in response.get_data(as_text=True)


def test_edit_page_changes_a_contact(clean_app, org_a, client_a):
    contact = create(
        clean_app.test_client(), org_a, phone="+12025550143", firstName="Ada", tags=["vip"]
    )
    url = f"/contacts/{contact['id']}/edit"
    page = client_a.get(url).get_data(as_text=True)
    assert 'value="+12025550143"' in page and 'value="vip"' in page
    response = client_a.post(
        url, data={"phone": "+12025550143", "first_name": "Augusta", "tags": "", "opted_out": "y"}
    )
    assert response.status_code == 302
    data = clean_app.test_client().get(f"/api/contacts/{contact['id']}", headers=org_a.auth)
    data = data.json["data"]
    assert data["firstName"] == "Augusta"
    assert data["tags"] == []
    assert data["optedOutAt"] is not None


def test_delete_asks_for_confirmation_first(clean_app, org_a, client_a):
    contact = create(clean_app.test_client(), org_a, phone="+12025550143")
    url = f"/contacts/{contact['id']}/delete"
    page = client_a.get(url).get_data(as_text=True)
    assert "Delete +12025550143?" in page
    assert 'name="confirm" value="yes"' in page
    # A POST that did not come from the confirmation deletes nothing.
    assert client_a.post(url).status_code == 200
    assert client_a.get(f"/contacts/{contact['id']}/edit").status_code == 200
    response = client_a.post(url, data={"confirm": "yes"})
    assert response.status_code == 302
    assert client_a.get(f"/contacts/{contact['id']}/edit").status_code == 404
