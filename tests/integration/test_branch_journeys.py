"""Branching journeys end to end, on both databases: real processing passes through the fake
Cloud API over real sockets, and the read and reply that settle the branches posted as signed
webhooks in Meta's format."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest
from sqlalchemy import select

from app.drip.enrollment import actions as enrollment
from app.extensions import db
from app.models import DripEnrollment, DripMessageLog, Organization
from app.tasks.processing import run_processing_pass
from app.whatsapp.webhook import signature_for
from tests.fakes.cloud_api import FakeCloudApi
from tests.integration.enrollment_world import NOW, live_steps, make_campaign, make_contacts
from tests.integration.test_webhook import URL, status_body
from tests.support.accounts import send_through_fake
from tests.support.window import wrote_to_us

SECRET = "s"  # the app secret send_through_fake gives the account
HOUR = timedelta(hours=1)


@pytest.fixture
def fake():
    with FakeCloudApi() as server:
        yield server


@pytest.fixture
def journey(clean_app, org_a, fake):
    """Welcome waits two days: replied -> end, read -> Offer (step 3), else the Reminder
    (step 2, the next). Three contacts enrolled: one reads, one replies, one stays silent."""
    with clean_app.app_context():
        session = db.session
        org = session.get(Organization, org_a.org_id)
        send_through_fake(clean_app, session, org, fake)
        campaign = make_campaign(
            session, org.id, steps=((0, "minutes"), (0, "minutes"), (0, "minutes"))
        )
        campaign.stop_on_reply = False
        welcome, reminder, offer = live_steps(session, campaign)
        welcome.branch = {
            "waitAmount": 2,
            "waitUnit": "days",
            "conditions": [
                # A reply counts as a read too: listed first, it wins a tie with its read.
                {"event": "replied", "goTo": "end"},
                {"event": "read", "goTo": offer.id},
            ],
            "onTimeout": "next",
        }
        contacts = make_contacts(session, org.id, 3)
        wrote_to_us(session, NOW)
        enrollment.enroll(session, campaign, contact_ids=[c.id for c in contacts], now=NOW)
        session.commit()
        yield {
            "campaign_id": campaign.id,
            "contacts": [c.id for c in contacts],
            "steps": (welcome.id, reminder.id, offer.id),
            "phones": [c.phone for c in contacts],
            "phone_id": fake.phone_number_id,
        }


def run(app, at):
    with app.app_context():
        return run_processing_pass(at)


def post(client, body: bytes):
    headers = {
        "Content-Type": "application/json",
        "X-Hub-Signature-256": signature_for(body, SECRET),
    }
    response = client.post(URL, data=body, headers=headers)
    assert response.status_code == 200, response.get_data(as_text=True)


def reply_body(phone_id: str, phone: str, at, context_wamid: str) -> bytes:
    message = {
        "from": phone.lstrip("+"),
        "id": f"wamid.IN{phone[-4:]}{int(at.timestamp())}",
        "timestamp": str(int(at.timestamp())),
        "type": "text",
        "text": {"body": "Sounds good"},
        "context": {"from": "15550000000", "id": context_wamid},
    }
    value = {
        "messaging_product": "whatsapp",
        "metadata": {"phone_number_id": phone_id},
        "contacts": [{"profile": {"name": "Someone"}, "wa_id": phone.lstrip("+")}],
        "messages": [message],
    }
    payload = {
        "object": "whatsapp_business_account",
        "entry": [{"id": "1", "changes": [{"field": "messages", "value": value}]}],
    }
    return json.dumps(payload).encode()


def state(app):
    with app.app_context():
        session = db.session
        rows = session.scalars(select(DripEnrollment).order_by(DripEnrollment.contact_id)).all()
        logs = session.scalars(select(DripMessageLog).order_by(DripMessageLog.id)).all()
        sent = {}
        for log in logs:
            sent.setdefault(log.contact_id, []).append((log.step_id, log.via_step_id, log.via))
        return {r.contact_id: r for r in rows}, sent, {log.contact_id: log for log in logs}


def test_contacts_take_each_path_of_the_branch(clean_app, journey, fake):
    client = clean_app.test_client()
    welcome, reminder, offer = journey["steps"]
    reader, replier, silent = journey["contacts"]
    assert run(clean_app, NOW)["sent"] == 3
    rows, sent, first_logs = state(clean_app)
    for contact in (reader, replier, silent):
        assert rows[contact].current_step_id == welcome
        assert rows[contact].wait_reason == "branch"
        assert rows[contact].next_send_at == NOW + timedelta(days=2)
    # Nothing is due while they wait.
    assert run(clean_app, NOW + HOUR)["claimed"] == 0

    read_at = NOW + 3 * HOUR
    status = {
        "id": first_logs[reader].wamid,
        "status": "read",
        "timestamp": str(int(read_at.timestamp())),
        "recipient_id": journey["phones"][0].lstrip("+"),
    }
    post(client, status_body(journey["phone_id"], [status]))
    # The webhook moved the reader on at once: the Offer is due from the read.
    rows, _, _ = state(clean_app)
    assert rows[reader].current_step_id == offer
    assert (rows[reader].via_step_id, rows[reader].via) == (welcome, "read")
    assert rows[reader].next_send_at == read_at

    replied_at = NOW + 4 * HOUR
    post(
        client,
        reply_body(
            journey["phone_id"], journey["phones"][1], replied_at, first_logs[replier].wamid
        ),
    )
    rows, _, _ = state(clean_app)
    assert (rows[replier].via_step_id, rows[replier].via) == (welcome, "replied")
    assert rows[replier].status == "active"  # completed by the next pass

    stats = run(clean_app, NOW + 5 * HOUR)
    assert stats["sent"] == 1
    rows, sent, _ = state(clean_app)
    assert sent[reader] == [(welcome, None, None), (offer, welcome, "read")]
    assert rows[replier].status == "completed"
    assert sent[replier] == [(welcome, None, None)]
    assert rows[silent].current_step_id == welcome

    # The silent contact's wait runs out: the Reminder, then the Offer in order.
    deadline = NOW + timedelta(days=2)
    assert run(clean_app, deadline - HOUR)["claimed"] == 0
    run(clean_app, deadline)
    rows, _, _ = state(clean_app)
    assert rows[silent].current_step_id == reminder
    assert (rows[silent].via_step_id, rows[silent].via) == (welcome, "timeout")
    with clean_app.app_context():
        wrote_to_us(db.session, deadline)
        db.session.commit()
    run(clean_app, deadline + timedelta(minutes=1))
    run(clean_app, deadline + timedelta(minutes=2))
    rows, sent, _ = state(clean_app)
    assert sent[silent] == [
        (welcome, None, None),
        (reminder, welcome, "timeout"),
        (offer, reminder, "next"),
    ]
    assert rows[silent].status == "completed"
    assert rows[reader].status == "completed"
    # Each step at most once per enrollment; the replier never got the Reminder or the Offer.
    assert all(len(steps) == len({s for s, _, _ in steps}) for steps in sent.values())
    assert fake.requests == 3 + 1 + 2  # three welcomes, the reader's offer, the silent two
