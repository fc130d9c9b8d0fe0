"""Webhook event keys are unique per organization: another organization, signing with its own
secret, cannot take a message id or a (wamid, status) that this organization's real events
need (issue 15, finding 6). Through the signed endpoint, on both databases."""

from __future__ import annotations

import json
from datetime import UTC, datetime

from sqlalchemy import select

from app.models import Contact, DripEnrollment, DripMessageLog, WhatsAppStatusEvent
from tests.integration.test_webhook import (
    ANA,
    PHONE_B,
    SECRET_A,
    SECRET_B,
    fixture_body,
    post,
    world,
)

NOW = datetime(2026, 1, 1, tzinfo=UTC)


def as_account(name: str, phone_id: str) -> bytes:
    """A fixture delivery addressed to another phone number id."""
    payload = json.loads(fixture_body(name))
    for entry in payload["entry"]:
        for change in entry["changes"]:
            change["value"]["metadata"]["phone_number_id"] = phone_id
    return json.dumps(payload).encode()


def test_another_organizations_message_id_does_not_swallow_a_stop(clean_app, session, org_a, org_b):
    client = clean_app.test_client()
    # Org B posts, under its own number and secret, a message with the id Ana's STOP will have.
    world(session, org_b.org_id, phone_id=PHONE_B, secret=SECRET_B, wamids=("wamid.B1",))
    world(session, org_a.org_id)
    assert (
        post(client, as_account("inbound_stop.json", PHONE_B), secret=SECRET_B).status_code == 200
    )

    assert post(client, fixture_body("inbound_stop.json"), secret=SECRET_A).status_code == 200

    session.expire_all()
    ana = session.scalars(
        select(Contact).where(Contact.organization_id == org_a.org_id, Contact.phone == ANA)
    ).one()
    assert ana.opted_out_at is not None
    statuses = session.scalars(
        select(DripEnrollment.status).where(DripEnrollment.contact_id == ana.id)
    ).all()
    assert statuses == ["unsubscribed"]


def test_another_organizations_status_key_does_not_swallow_a_status(
    clean_app, session, org_a, org_b
):
    # Org B holds a (wamid, status) event that org A's message will also report.
    world(session, org_a.org_id)
    session.add(
        WhatsAppStatusEvent(
            organization_id=org_b.org_id,
            wamid="wamid.FAKE0002",
            status="failed",
            occurred_at=NOW,
        )
    )
    session.commit()

    body = fixture_body("statuses_sent_and_failed.json")
    assert post(clean_app.test_client(), body).status_code == 200

    session.expire_all()
    log = session.scalars(
        select(DripMessageLog).where(DripMessageLog.wamid == "wamid.FAKE0002")
    ).one()
    assert (log.status, log.error_code) == ("failed", "131050")
    keys = session.execute(
        select(WhatsAppStatusEvent.wamid, WhatsAppStatusEvent.status).where(
            WhatsAppStatusEvent.organization_id == org_a.org_id
        )
    ).all()
    assert ("wamid.FAKE0002", "failed") in keys
