"""Business-scoped user ids (BSUIDs) on SQLite and PostgreSQL: webhooks from a user whose
phone number Meta does not share (signed, through the real route), contacts known by their
BSUID alone (API, CSV, pages, search), and a real processing pass sending to one through the
fake Cloud API with Meta's `recipient` field."""

from __future__ import annotations

import io
import json
from datetime import timedelta
from pathlib import Path

import pytest
from flask import current_app
from sqlalchemy import select

from app.drip.enrollment import actions as enrollment
from app.extensions import db
from app.models import (
    Contact,
    DripEnrollment,
    DripMessageLog,
    InboundMessage,
    Organization,
)
from app.tasks.processing import run_processing_pass
from app.whatsapp.webhook import signature_for
from tests.fakes.cloud_api import FakeCloudApi
from tests.integration.enrollment_world import NOW, live_steps, make_campaign
from tests.integration.test_engagement import enrollment_row, log_row
from tests.support.accounts import send_through_fake, set_verified_account

FIXTURES = Path(__file__).resolve().parents[1] / "fakes" / "fixtures"
URL = "/api/webhooks/whatsapp"
PHONE_ID, SECRET = "900000000000001", "test_app_secret"
BSUID = "US.13491208655302741918"
PARENT_BSUID = "US.ENT.11815799212886844830"


def fixture(name: str) -> dict:
    return json.loads((FIXTURES / name).read_text())


def inbound(text: str | None = None, *, phone: str | None = None, at=None):
    """The BSUID-only inbound fixture, its text, time or sender's phone changed."""
    body = fixture("inbound_text_bsuid_only.json")
    value = body["entry"][0]["changes"][0]["value"]
    message = value["messages"][0]
    if at is not None:
        message["timestamp"] = str(int(at.timestamp()))
    if text is not None:
        message["text"]["body"] = text
    if phone is not None:
        message["from"] = phone
        value["contacts"][0]["wa_id"] = phone
    return body


def post(client, body: dict, secret: str = SECRET):
    raw = json.dumps(body).encode()
    signature = signature_for(raw, secret)
    headers = {"Content-Type": "application/json", "X-Hub-Signature-256": signature}
    response = client.post(URL, data=raw, headers=headers)
    assert response.status_code == 200, response.get_data(as_text=True)
    return response


@pytest.fixture
def account(clean_app, org_a):
    with clean_app.app_context():
        org = db.session.get(Organization, org_a.org_id)
        set_verified_account(current_app, db.session, org, PHONE_ID, SECRET)
        db.session.commit()
    return org_a.org_id


def contacts_of(app, org_id):
    with app.app_context():
        return db.session.scalars(
            select(Contact).where(Contact.organization_id == org_id).order_by(Contact.id)
        ).all()


def add_contact(app, org_id, **values) -> int:
    with app.app_context():
        contact = Contact(organization_id=org_id, **values)
        db.session.add(contact)
        db.session.commit()
        return contact.id


# --- webhooks -------------------------------------------------------------------------------


def test_a_message_without_a_phone_reaches_the_contact_with_its_bsuid(clean_app, account):
    contact_id = add_contact(clean_app, account, whatsapp_user_id=BSUID, first_name="Maya")
    post(clean_app.test_client(), fixture("inbound_text_bsuid_only.json"))
    with clean_app.app_context():
        message = db.session.scalar(select(InboundMessage))
        assert message.contact_id == contact_id
        assert message.text == "Hello, is the spring offer still on?"
        contact = db.session.get(Contact, contact_id)
        assert contact.last_inbound_at is not None  # the 24-hour window is open
        assert contact.phone is None


def test_an_unknown_bsuid_sender_with_a_keyword_becomes_a_contact_without_phone(clean_app, account):
    with clean_app.app_context():
        campaign = make_campaign(
            db.session, account, trigger_type="keyword", trigger_value="SPRING"
        )
        campaign_id = campaign.id
        db.session.commit()
    post(clean_app.test_client(), inbound("spring"))
    [contact] = contacts_of(clean_app, account)
    assert (contact.phone, contact.whatsapp_user_id) == (None, BSUID)
    assert (contact.first_name, contact.last_name) == ("Maya", "Lopes")
    assert contact.last_inbound_at is not None
    with clean_app.app_context():
        enrolled = db.session.scalar(select(DripEnrollment))
        assert (enrolled.contact_id, enrolled.campaign_id) == (contact.id, campaign_id)


def test_an_unknown_bsuid_sender_without_a_keyword_is_recorded_without_a_contact(
    clean_app, account
):
    post(clean_app.test_client(), fixture("inbound_text_bsuid_only.json"))
    assert contacts_of(clean_app, account) == []
    with clean_app.app_context():
        assert db.session.scalar(select(InboundMessage)).contact_id is None


def test_a_message_with_both_gives_the_phone_contact_its_bsuid(clean_app, account):
    contact_id = add_contact(clean_app, account, phone="+447700900123")
    post(clean_app.test_client(), inbound(phone="447700900123"))
    [contact] = contacts_of(clean_app, account)
    assert (contact.id, contact.whatsapp_user_id) == (contact_id, BSUID)
    with clean_app.app_context():
        assert db.session.scalar(select(InboundMessage)).contact_id == contact_id


def test_a_message_with_both_gives_the_bsuid_contact_its_phone(clean_app, account):
    contact_id = add_contact(clean_app, account, whatsapp_user_id=BSUID)
    post(clean_app.test_client(), inbound(phone="447700900123"))
    [contact] = contacts_of(clean_app, account)
    assert (contact.id, contact.phone) == (contact_id, "+447700900123")


def test_two_contacts_of_one_person_are_not_merged_the_phone_contact_gets_the_message(
    clean_app, account
):
    phone_id = add_contact(clean_app, account, phone="+447700900123")
    bsuid_id = add_contact(clean_app, account, whatsapp_user_id=BSUID)
    post(clean_app.test_client(), inbound(phone="447700900123"))
    by_id = {c.id: c for c in contacts_of(clean_app, account)}
    assert (by_id[phone_id].whatsapp_user_id, by_id[bsuid_id].phone) == (None, None)
    assert by_id[bsuid_id].whatsapp_user_id == BSUID
    with clean_app.app_context():
        assert db.session.scalar(select(InboundMessage)).contact_id == phone_id


def test_stop_from_a_bsuid_only_contact_opts_it_out(clean_app, account):
    with clean_app.app_context():
        campaign = make_campaign(db.session, account)
        contact = Contact(organization_id=account, whatsapp_user_id=BSUID)
        db.session.add(contact)
        db.session.flush()
        enrollment_row(db.session, campaign, contact, step=live_steps(db.session, campaign)[0])
        db.session.commit()
        contact_id = contact.id
    post(clean_app.test_client(), inbound("STOP", at=NOW + timedelta(hours=1)))
    with clean_app.app_context():
        contact = db.session.get(Contact, contact_id)
        assert contact.opted_out_at is not None and contact.opt_out_reason == "keyword"
        assert db.session.scalar(select(DripEnrollment.status)) == "unsubscribed"


def test_a_marketing_stop_in_whatsapp_settings_opts_out_a_bsuid_only_contact(clean_app, account):
    contact_id = add_contact(clean_app, account, whatsapp_user_id=BSUID)
    preference = {"user_id": BSUID, "timestamp": 1767225600, "value": "stop"}
    value = {"metadata": {"phone_number_id": PHONE_ID}, "user_preferences": [preference]}
    change = {"field": "user_preferences", "value": value}
    post(clean_app.test_client(), {"entry": [{"id": "1", "changes": [change]}]})
    with clean_app.app_context():
        assert db.session.get(Contact, contact_id).opted_out_at is not None


def test_a_reply_from_a_bsuid_only_contact_is_a_reply(clean_app, account):
    with clean_app.app_context():
        campaign = make_campaign(db.session, account, stop_on_reply=True)
        contact = Contact(organization_id=account, whatsapp_user_id=BSUID)
        db.session.add(contact)
        db.session.flush()
        first, second = live_steps(db.session, campaign)
        row = enrollment_row(db.session, campaign, contact, step=second)
        log_row(db.session, row, first, wamid="wamid.BSUID.OUT0001")
        db.session.commit()
    post(clean_app.test_client(), inbound(at=NOW + timedelta(hours=1)))
    with clean_app.app_context():
        assert db.session.scalar(select(DripMessageLog.replied_at)) is not None
        assert db.session.scalar(select(DripEnrollment.status)) == "stopped"


def test_statuses_with_recipient_user_id_settle_the_logs(clean_app, account):
    with clean_app.app_context():
        campaign = make_campaign(db.session, account, steps=((0, "minutes"),) * 3)
        contact = Contact(organization_id=account, whatsapp_user_id=BSUID)
        db.session.add(contact)
        db.session.flush()
        first, second, third = live_steps(db.session, campaign)
        row = enrollment_row(db.session, campaign, contact, step=third)
        log_row(db.session, row, first, wamid="wamid.BSUID.OUT0001")
        # An ambiguous send (its answer lost): the status's callback data names its log.
        pending = log_row(db.session, row, second, wamid=None, status="pending")
        pending.sent_at = None
        db.session.commit()
        pending_id = pending.id
    body = fixture("statuses_bsuid_only.json")
    failed = body["entry"][0]["changes"][1]["value"]["statuses"][0]
    failed["biz_opaque_callback_data"] = f"log={pending_id}"
    post(clean_app.test_client(), body)
    with clean_app.app_context():
        logs = {log.wamid: log for log in db.session.scalars(select(DripMessageLog))}
        assert logs["wamid.BSUID.OUT0001"].status == "delivered"
        settled = logs["wamid.BSUID.OUT0002"]
        assert (settled.id, settled.status, settled.error_code) == (pending_id, "failed", "131026")
        assert db.session.scalar(select(Contact.undeliverable_at)) is not None


# --- the API, the CSV import, the pages -----------------------------------------------------


def test_the_api_creates_reads_finds_and_edits_a_contact_known_by_its_bsuid(clean_app, org_a):
    client = clean_app.test_client()
    created = client.post(
        "/api/contacts", json={"whatsappUserId": BSUID, "firstName": "Maya"}, headers=org_a.auth
    )
    assert created.status_code == 201, created.get_json()
    data = created.get_json()["data"]
    assert (data["phone"], data["whatsappUserId"]) == (None, BSUID)
    found = client.get("/api/contacts?q=13491208655", headers=org_a.auth).get_json()["data"]
    assert [c["id"] for c in found] == [data["id"]]
    parent = client.patch(
        f"/api/contacts/{data['id']}",
        json={"whatsappUserId": PARENT_BSUID, "phone": "+12025550143"},
        headers=org_a.auth,
    )
    assert parent.status_code == 200
    assert parent.get_json()["data"]["whatsappUserId"] == PARENT_BSUID
    again = client.post("/api/contacts", json={"whatsappUserId": PARENT_BSUID}, headers=org_a.auth)
    assert again.status_code == 409
    assert "whatsappUserId" in again.get_json()["error"]["details"]["fields"]


@pytest.mark.parametrize(
    ("body", "fields"),
    [
        ({"firstName": "Nobody"}, {"phone", "whatsappUserId"}),
        ({"phone": "", "whatsappUserId": None}, {"phone", "whatsappUserId"}),
        ({"whatsappUserId": "13491208655302741918"}, {"whatsappUserId"}),
        ({"whatsappUserId": "US." + "1" * 160}, {"whatsappUserId"}),
        ({"whatsappUserId": "US.1349 1208"}, {"whatsappUserId"}),
    ],
)
def test_the_api_refuses_a_contact_without_phone_or_bsuid_and_a_bad_bsuid(
    clean_app, org_a, body, fields
):
    response = clean_app.test_client().post("/api/contacts", json=body, headers=org_a.auth)
    assert response.status_code == 422
    assert set(response.get_json()["error"]["details"]["fields"]) == fields


def test_the_api_refuses_removing_the_last_identity(clean_app, org_a):
    contact_id = add_contact(clean_app, org_a.org_id, whatsapp_user_id=BSUID)
    response = clean_app.test_client().patch(
        f"/api/contacts/{contact_id}", json={"whatsappUserId": None}, headers=org_a.auth
    )
    assert response.status_code == 422
    assert set(response.get_json()["error"]["details"]["fields"]) == {"phone", "whatsappUserId"}


def test_the_csv_import_takes_a_whatsapp_user_id_column(clean_app, org_a):
    existing = add_contact(clean_app, org_a.org_id, phone="+12025550143")
    held = add_contact(clean_app, org_a.org_id, whatsapp_user_id="GB.777")
    csv = (
        "phone,whatsapp_user_id,first_name\n"
        f",{BSUID},Maya\n"  # 2: a contact known by its BSUID alone
        "+1 202 555 0143,BR.1502576394655843,Ana\n"  # 3: the phone's contact gets the BSUID
        ",,Nobody\n"  # 4: neither
        ",not-a-bsuid,Bad\n"  # 5
        "+1 202 555 0144,GB.777,Taken\n"  # 6: another contact's BSUID
        f",{BSUID},Maya Again\n"  # 7: the same contact as row 2
    ).encode()
    response = clean_app.test_client().post(
        "/api/contacts/import",
        data={"file": (io.BytesIO(csv), "people.csv")},
        headers=org_a.auth,
        content_type="multipart/form-data",
    )
    assert response.status_code == 200, response.get_json()
    result = response.get_json()["data"]
    assert [e["row"] for e in result["errors"]] == [4, 5, 6]
    assert "phone" in result["errors"][0]["message"]
    assert "whatsapp_user_id" in result["errors"][1]["message"]
    assert "another contact" in result["errors"][2]["message"]
    assert (result["created"], result["updated"]) == (1, 2)
    rows = {c.id: c for c in contacts_of(clean_app, org_a.org_id)}
    assert rows[existing].whatsapp_user_id == "BR.1502576394655843"
    assert rows[existing].first_name == "Ana"
    assert rows[held].phone is None
    [new] = [c for c in rows.values() if c.whatsapp_user_id == BSUID]
    assert (new.phone, new.first_name) == (None, "Maya Again")


def test_the_pages_show_a_contact_without_phone(clean_app, client_a, org_a):
    response = client_a.post(
        "/contacts/new", data={"phone": "", "whatsapp_user_id": BSUID, "first_name": "Maya"}
    )
    assert response.status_code == 302
    [contact] = contacts_of(clean_app, org_a.org_id)
    html = client_a.get("/contacts/").get_data(as_text=True)
    assert BSUID in html and "None" not in html
    assert BSUID in client_a.get(f"/contacts/{contact.id}/edit").get_data(as_text=True)
    assert BSUID in client_a.get(f"/contacts/{contact.id}/delete").get_data(as_text=True)
    assert BSUID in client_a.get(f"/contacts/?q={BSUID}").get_data(as_text=True)
    refused = client_a.post("/contacts/new", data={"phone": "", "first_name": "Nobody"})
    assert refused.status_code == 422
    assert "needs a phone number or a WhatsApp user id" in refused.get_data(as_text=True)


# --- sending --------------------------------------------------------------------------------


def test_a_pass_sends_to_a_bsuid_only_contact_with_recipient_not_to(clean_app, org_a):
    with FakeCloudApi() as fake:
        with clean_app.app_context():
            org = db.session.get(Organization, org_a.org_id)
            account = send_through_fake(clean_app, db.session, org, fake)
            campaign = make_campaign(db.session, org.id)
            contact = Contact(organization_id=org.id, whatsapp_user_id=BSUID, first_name="Maya")
            db.session.add(contact)
            db.session.commit()
            contact_id, phone_number_id = contact.id, account.phone_number_id
            app_secret = "s"
        # The contact writes first (their 24-hour window opens), through the real webhook.
        body = inbound(at=NOW - timedelta(minutes=5))
        value = body["entry"][0]["changes"][0]["value"]
        value["metadata"]["phone_number_id"] = phone_number_id
        post(clean_app.test_client(), body, secret=app_secret)
        with clean_app.app_context():
            assert db.session.get(Contact, contact_id).last_inbound_at is not None
            campaign = db.session.merge(campaign)
            enrollment.enroll(db.session, campaign, contact_ids=[contact_id], now=NOW)
            db.session.commit()
            stats = run_processing_pass(NOW)
        assert stats["sent"] == 1, stats
        [record] = fake.records()
        sent = record["body"]
        assert sent["recipient"] == BSUID and "to" not in sent
        assert sent["text"]["body"] == "Hi Maya"
        with clean_app.app_context():
            log = db.session.scalar(select(DripMessageLog))
            assert (log.status, log.contact_id) == ("sent", contact_id)
