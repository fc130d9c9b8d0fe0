"""Events posted through the API and the goal conversions they make (issue 19), on both
databases, after a real processing pass through the fake Cloud API."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import func, select

from app.drip.enrollment import actions as enrollment
from app.extensions import db
from app.models import (
    DripConversion,
    DripEnrollment,
    DripEvent,
    DripHoldout,
    DripMessageLog,
    Organization,
    utcnow,
)
from app.tasks.processing import run_processing_pass
from tests.fakes.cloud_api import FakeCloudApi
from tests.integration.enrollment_world import make_campaign, make_contacts
from tests.support.accounts import send_through_fake
from tests.support.window import wrote_to_us


@pytest.fixture
def fake():
    with FakeCloudApi() as server:
        yield server


@pytest.fixture
def sent(clean_app, org_a, fake):
    """Two contacts enrolled two hours ago in a campaign whose goal is "purchase" within 7
    days; its first step went out an hour ago."""
    clean_app.config["SEND_CONCURRENCY"] = 4
    now = utcnow()
    with clean_app.app_context():
        session = db.session
        org = session.get(Organization, org_a.org_id)
        send_through_fake(clean_app, session, org, fake)
        campaign = make_campaign(
            session, org.id, goal_event="purchase", goal_within_days=7, exit_on_goal=True
        )
        contacts = make_contacts(session, org.id, 2)
        wrote_to_us(session, now - timedelta(hours=2))
        enrollment.enroll(
            session, campaign, contact_ids=[c.id for c in contacts], now=now - timedelta(hours=2)
        )
        session.commit()
        run_processing_pass(now - timedelta(hours=1))
        log = session.scalar(select(DripMessageLog).order_by(DripMessageLog.id))
        return {
            "campaign_id": campaign.id,
            "contacts": [c.id for c in contacts],
            "phones": [c.phone for c in contacts],
            "now": now,
            "first_log": log.id,
            "first_step": log.step_id,
        }


def post(app, org, body):
    return app.test_client().post("/api/events", json=body, headers=org.auth)


def iso(at):
    return at.isoformat().replace("+00:00", "Z")


def conversions(app):
    with app.app_context():
        return db.session.scalars(select(DripConversion).order_by(DripConversion.id)).all()


def test_a_goal_event_converts_the_enrollment_and_ends_it(clean_app, org_a, sent):
    contact = sent["contacts"][0]
    at = sent["now"] - timedelta(minutes=30)
    answer = post(
        clean_app,
        org_a,
        {
            "id": "order-1",
            "contactId": contact,
            "name": "purchase",
            "value": 49.9,
            "currency": "eur",
            "occurredAt": iso(at),
        },
    )
    assert answer.status_code == 201, answer.json
    assert answer.json["data"]["conversions"] == 1
    assert answer.json["data"]["currency"] == "EUR"
    (conversion,) = conversions(clean_app)
    assert conversion.attributed_step_id == sent["first_step"]
    assert float(conversion.value) == 49.9
    with clean_app.app_context():
        ended = db.session.scalar(
            select(DripEnrollment).where(DripEnrollment.contact_id == contact)
        )
        assert (ended.status, ended.stop_reason) == ("stopped", "converted")
        other = db.session.scalar(
            select(DripEnrollment).where(DripEnrollment.contact_id == sent["contacts"][1])
        )
        assert other.status == "active"


def test_the_same_id_again_is_the_same_event(clean_app, org_a, sent):
    body = {"id": "order-9", "phone": sent["phones"][1], "name": "purchase"}
    first = post(clean_app, org_a, body)
    again = post(clean_app, org_a, {**body, "name": "refund"})
    assert (first.status_code, again.status_code) == (201, 200)
    assert again.json["data"]["eventId"] == first.json["data"]["eventId"]
    assert again.json["data"]["name"] == "purchase" and again.json["data"]["conversions"] == 0
    with clean_app.app_context():
        assert db.session.scalar(select(func.count()).select_from(DripEvent)) == 1
    assert len(conversions(clean_app)) == 1


def test_the_earliest_goal_event_counts_whatever_the_arrival_order(clean_app, org_a, sent):
    contact = sent["contacts"][1]
    later = sent["now"] - timedelta(minutes=10)
    earlier = sent["now"] - timedelta(minutes=50)
    post(clean_app, org_a, {"contactId": contact, "name": "purchase", "occurredAt": iso(later)})
    moved = post(
        clean_app, org_a, {"contactId": contact, "name": "purchase", "occurredAt": iso(earlier)}
    )
    assert moved.json["data"]["conversions"] == 1
    again = post(
        clean_app, org_a, {"contactId": contact, "name": "purchase", "occurredAt": iso(later)}
    )
    assert again.json["data"]["conversions"] == 0
    (conversion,) = conversions(clean_app)
    assert conversion.occurred_at == earlier.replace(microsecond=earlier.microsecond)


def test_other_events_and_events_outside_the_goal_window_convert_nothing(clean_app, org_a, sent):
    contact = sent["contacts"][0]
    before_enrolling = sent["now"] - timedelta(hours=3)
    assert post(clean_app, org_a, {"contactId": contact, "name": "signup"}).status_code == 201
    late = post(
        clean_app,
        org_a,
        {"contactId": contact, "name": "purchase", "occurredAt": iso(before_enrolling)},
    )
    assert late.status_code == 201 and late.json["data"]["conversions"] == 0
    assert conversions(clean_app) == []


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"contactId": 1}, "name"),
        ({"name": "x" * 101, "contactId": 1}, "name"),
        ({"name": "purchase"}, "contactId"),
        ({"name": "purchase", "contactId": 1, "value": 5}, "currency"),
        ({"name": "purchase", "contactId": 1, "value": "lots", "currency": "EUR"}, "value"),
        ({"name": "purchase", "contactId": 1, "occurredAt": "yesterday"}, "occurredAt"),
        ({"name": "purchase", "contactId": 1, "occurredAt": "2026-01-01T10:00:00"}, "occurredAt"),
        ({"name": "purchase", "contactId": 1, "id": "i" * 201}, "id"),
        ({"name": "purchase", "contactId": 1, "currency": "EURO"}, "currency"),
    ],
)
def test_bad_events_are_refused_in_words_and_change_nothing(clean_app, org_a, sent, body, field):
    answer = post(clean_app, org_a, body)
    assert answer.status_code == 422, answer.json
    assert field in answer.json["error"]["details"]["fields"], answer.json
    with clean_app.app_context():
        assert db.session.scalar(select(func.count()).select_from(DripEvent)) == 0


def test_another_organizations_contact_is_not_found(clean_app, org_a, org_b, sent):
    answer = post(clean_app, org_b, {"contactId": sent["contacts"][0], "name": "purchase"})
    assert answer.status_code == 404
    by_phone = post(clean_app, org_b, {"phone": sent["phones"][0], "name": "purchase"})
    assert by_phone.status_code == 404
    assert conversions(clean_app) == []


def test_a_holdout_contact_converts_as_the_baseline(clean_app, org_a, sent):
    contact = sent["contacts"][1]
    with clean_app.app_context():
        db.session.add(
            DripHoldout(
                organization_id=org_a.org_id,
                campaign_id=sent["campaign_id"],
                contact_id=contact,
                assigned_at=sent["now"] - timedelta(hours=2),
            )
        )
        db.session.commit()
    answer = post(clean_app, org_a, {"contactId": contact, "name": "purchase"})
    assert answer.json["data"]["conversions"] == 2  # the enrollment and the holdout row
    kinds = sorted(c.holdout_id is not None for c in conversions(clean_app))
    assert kinds == [False, True]
