"""The send path of issue 16 through real processing passes and the fake Cloud API, on both
databases: template steps held while their template cannot be sent (no request, not claimed)
and released by an APPROVED status webhook or a sync; the 24-hour window (text inside it, the
fallback template or the end of the enrollment outside it); each message's category; sends
to a contact known only by its business-scoped user id."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest
from sqlalchemy import select

from app.drip.audit import SYSTEM
from app.drip.campaigns import update_step
from app.drip.enrollment import STOP_REASON_OUTSIDE_WINDOW
from app.drip.enrollment import actions as enrollment
from app.drip.templates import sync_organization
from app.extensions import db
from app.models import (
    Contact,
    DripCampaign,
    DripCampaignStep,
    DripEnrollment,
    DripMessageLog,
    Organization,
    WhatsAppTemplate,
    utcnow,
)
from app.tasks.processing import run_processing_pass
from app.whatsapp.webhook import signature_for
from tests.fakes.cloud_api import FakeCloudApi
from tests.fakes.templates import BUSINESS_ACCOUNT_ID
from tests.integration.enrollment_world import NOW, make_campaign, make_contacts
from tests.support.accounts import send_through_fake
from tests.support.catalog import add_template, meta_id_of
from tests.support.window import wrote_to_us

APP_SECRET = "s"  # send_through_fake's
MINUTE = timedelta(minutes=1)


@pytest.fixture
def fake():
    with FakeCloudApi() as server:
        yield server


@pytest.fixture
def org_id(clean_app, org_a, fake):
    with clean_app.app_context():
        org = db.session.get(Organization, org_a.org_id)
        account = send_through_fake(clean_app, db.session, org, fake)
        account.business_account_id = BUSINESS_ACCOUNT_ID
        db.session.commit()
    return org_a.org_id


def campaign_of(app, org_id: int, contacts: int = 2, *, wrote_at=None, **step) -> int:
    """A one-step campaign (the step's fields as given) with `contacts` enrolled, due at NOW."""
    with app.app_context():
        session = db.session
        campaign = make_campaign(session, org_id, steps=((0, "minutes"),))
        row = session.scalar(
            select(DripCampaignStep).where(DripCampaignStep.campaign_id == campaign.id)
        )
        for name, value in step.items():
            setattr(row, name, value)
        made = make_contacts(session, org_id, contacts)
        if wrote_at is not None:
            wrote_to_us(session, wrote_at, contact_ids=[c.id for c in made])
        if made:
            enrollment.enroll(session, campaign, contact_ids=[c.id for c in made], now=NOW)
        session.commit()
        return campaign.id


def template_step(name="spring_sale", language="en_US"):
    return {
        "message_type": "template",
        "template_name": name,
        "template_language": language,
        "template_parameters": ["{{first_name}}", "20%"],
    }


def run(app, at):
    with app.app_context():
        return run_processing_pass(at)


def rows(app, model):
    with app.app_context():
        db.session.expire_all()
        return db.session.scalars(select(model).order_by(model.id)).all()


def status_webhook(client, event: str, name="spring_sale", later: int = 60):
    value = {
        "event": event,
        "message_template_id": int(meta_id_of(name)),
        "message_template_name": name,
        "message_template_language": "en_US",
        "reason": None,
    }
    change = {"field": "message_template_status_update", "value": value}
    entry = {
        "id": BUSINESS_ACCOUNT_ID,
        "time": int(utcnow().timestamp()) + later,
        "changes": [change],
    }
    body = json.dumps({"object": "whatsapp_business_account", "entry": [entry]}).encode()
    headers = {
        "Content-Type": "application/json",
        "X-Hub-Signature-256": signature_for(body, APP_SECRET),
    }
    return client.post("/api/webhooks/whatsapp", data=body, headers=headers)


def sync(app, org_id):
    with app.app_context():
        counts = sync_organization(
            db.session,
            org_id,
            utcnow(),
            decrypt=app.extensions["drip_secret_box"].decrypt,
            allowed_hosts=app.config["WHATSAPP_API_ALLOWED_HOSTS"],
        )
        db.session.commit()
        return counts


@pytest.mark.parametrize(
    ("status", "release"),
    [
        ("PAUSED", "webhook"),
        ("DISABLED", "sync"),
        ("REJECTED", "webhook"),
        ("PENDING", "sync"),
        (None, "sync"),  # not in the catalog at all
    ],
)
def test_a_template_that_cannot_be_sent_holds_the_step_until_it_is_approved(
    clean_app, org_id, fake, status, release
):
    if status is not None:
        with clean_app.app_context():
            add_template(db.session, org_id, "spring_sale", parameters=["1", "2"], status=status)
            db.session.commit()
    campaign_of(clean_app, org_id, **template_step())

    stats = run(clean_app, NOW)
    assert (stats["claimed"], stats["held"], stats["sent"]) == (2, 2, 0)
    assert fake.requests == 0
    assert rows(clean_app, DripMessageLog) == []
    template_id = None if status is None else rows(clean_app, WhatsAppTemplate)[0].id
    for row in rows(clean_app, DripEnrollment):
        assert (row.status, row.held_at, row.held_template_id) == ("active", NOW, template_id)
        assert row.next_send_at == NOW and row.last_step_id is None
    # Held: not in the due batch any more, however late.
    assert run(clean_app, NOW + timedelta(days=3))["claimed"] == 0
    assert fake.requests == 0

    if release == "webhook":
        assert status_webhook(clean_app.test_client(), "APPROVED").status_code == 200
    else:
        sync(clean_app, org_id)  # the fake's catalog lists spring_sale, APPROVED
    for row in rows(clean_app, DripEnrollment):
        assert (row.held_at, row.held_template_id) == (None, None)

    stats = run(clean_app, NOW + timedelta(days=3, minutes=1))  # within one pass
    assert (stats["sent"], stats["completed"]) == (2, 2)
    assert fake.requests == 2
    for record in fake.records():
        template = record["body"]["template"]
        assert template["name"] == "spring_sale"
        assert template["components"][0]["type"] == "body"
        assert [p["text"] for p in template["components"][0]["parameters"]][1] == "20%"
    for log in rows(clean_app, DripMessageLog):
        assert (log.status, log.category, log.template_name) == ("sent", "MARKETING", "spring_sale")


def test_a_held_enrollment_keeps_its_first_held_at_and_is_released_only_by_approval(
    clean_app, org_id, fake
):
    with clean_app.app_context():
        add_template(db.session, org_id, "spring_sale", parameters=["1", "2"], status="PAUSED")
        db.session.commit()
    campaign_of(clean_app, org_id, 1, **template_step())
    run(clean_app, NOW)
    client = clean_app.test_client()
    assert status_webhook(client, "DISABLED").status_code == 200  # still not sendable
    (row,) = rows(clean_app, DripEnrollment)
    assert row.held_at == NOW
    assert run(clean_app, NOW + MINUTE)["claimed"] == 0
    assert status_webhook(client, "REINSTATED", later=120).status_code == 200  # approved again
    assert run(clean_app, NOW + 2 * MINUTE)["sent"] == 1


def test_inside_the_window_a_text_step_goes_out_as_service(clean_app, org_id, fake):
    campaign_of(clean_app, org_id, wrote_at=NOW - timedelta(hours=23))
    stats = run(clean_app, NOW)
    assert stats["sent"] == 2 and fake.requests == 2
    assert all(r["body"]["type"] == "text" for r in fake.records())
    for log in rows(clean_app, DripMessageLog):
        assert (log.category, log.template_name) == ("SERVICE", None)


def fallback_step(name="cart_reminder"):
    return {
        "message_content": "Hi {{first_name}}",
        "fallback_template_name": name,
        "fallback_template_language": "en_US",
        "fallback_template_parameters": ["{{first_name|there}}"],
    }


def test_outside_the_window_the_fallback_template_goes_out(clean_app, org_id, fake):
    with clean_app.app_context():
        add_template(db.session, org_id, "cart_reminder", category="UTILITY", parameters=["1"])
        db.session.commit()
    # One never wrote, one wrote 24 hours ago: both windows are closed.
    campaign_of(clean_app, org_id, 1, **fallback_step())
    campaign_of(
        clean_app, org_id, 1, wrote_at=NOW - timedelta(hours=24) + MINUTE, **fallback_step()
    )
    stats = run(clean_app, NOW)
    assert stats["sent"] == 2
    for record in fake.records():
        body = record["body"]
        assert body["type"] == "template" and "text" not in body
        assert body["template"]["name"] == "cart_reminder"
        (parameter,) = body["template"]["components"][0]["parameters"]
        assert parameter["text"].startswith("Person")
    for log in rows(clean_app, DripMessageLog):
        assert (log.category, log.template_name) == ("UTILITY", "cart_reminder")


def test_a_fallback_that_cannot_be_sent_holds_the_step(clean_app, org_id, fake):
    with clean_app.app_context():
        add_template(db.session, org_id, "cart_reminder", parameters=["1"], status="PAUSED")
        db.session.commit()
    campaign_of(clean_app, org_id, 1, **fallback_step())
    assert run(clean_app, NOW)["held"] == 1
    assert fake.requests == 0 and rows(clean_app, DripMessageLog) == []
    assert status_webhook(clean_app.test_client(), "APPROVED", "cart_reminder").status_code == 200
    assert run(clean_app, NOW + MINUTE)["sent"] == 1


def test_outside_the_window_without_a_fallback_the_enrollment_ends_before_any_request(
    clean_app, org_id, fake
):
    campaign_of(clean_app, org_id, 1)  # never wrote
    campaign_of(clean_app, org_id, 1, wrote_at=NOW - timedelta(hours=25))
    stats = run(clean_app, NOW)
    assert (stats["outside_window"], stats["sent"]) == (2, 0)
    assert fake.requests == 0
    assert rows(clean_app, DripMessageLog) == []
    for row in rows(clean_app, DripEnrollment):
        assert (row.status, row.stop_reason) == ("stopped", STOP_REASON_OUTSIDE_WINDOW)
        assert row.stopped_at == NOW and row.next_send_at is None


def test_a_contact_known_only_by_its_user_id_is_sent_to_as_recipient(clean_app, org_id, fake):
    campaign_id = campaign_of(clean_app, org_id, 0)
    with clean_app.app_context():
        session = db.session
        contact = Contact(
            organization_id=org_id, phone=None, whatsapp_user_id="US.13491208655302741918"
        )
        session.add(contact)
        session.flush()
        wrote_to_us(session, NOW, contact_ids=[contact.id])
        campaign = session.get(DripCampaign, campaign_id)
        enrollment.enroll(session, campaign, contact_ids=[contact.id], now=NOW)
        session.commit()
    assert run(clean_app, NOW)["sent"] == 1
    (record,) = fake.records()
    assert record["body"]["recipient"] == "US.13491208655302741918"
    assert "to" not in record["body"]


def test_editing_a_held_step_to_another_template_releases_its_contacts(clean_app, org_id, fake):
    """Held on a paused template, then the marketer picks an approved one: the next pass sends
    the new template (the hold was on the step's old message, not on the contact)."""
    with clean_app.app_context():
        add_template(db.session, org_id, "spring_sale", parameters=["1", "2"], status="PAUSED")
        add_template(db.session, org_id, "summer_sale", parameters=["1", "2"])
        db.session.commit()
    campaign_id = campaign_of(clean_app, org_id, **template_step())
    assert run(clean_app, NOW)["held"] == 2
    with clean_app.app_context():
        step = db.session.scalar(
            select(DripCampaignStep).where(DripCampaignStep.campaign_id == campaign_id)
        )
        parameters = ["{{first_name}}", "30%"]
        template = {"name": "summer_sale", "language": "en_US", "parameters": parameters}
        campaign = db.session.get(DripCampaign, campaign_id)
        fields = {"message_type": "template", "template": template}
        update_step(db.session, SYSTEM, campaign, step, fields)
        db.session.commit()
    assert [row.held_at for row in rows(clean_app, DripEnrollment)] == [None, None]
    stats = run(clean_app, NOW + MINUTE)
    assert stats["sent"] == 2 and stats["held"] == 0
    assert {r["body"]["template"]["name"] for r in fake.records()} == {"summer_sale"}
