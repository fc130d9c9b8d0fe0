"""The holdout at enrollment (issue 19), on both databases: a share of the eligible contacts,
chosen by the campaign's sticky salted hash, is recorded in drip_holdouts instead of being
enrolled, stays there when enrolled again, and is never messaged by a processing pass; the
pre-launch review counts it, the API and the enroll page report it; the contact's timeline
shows the events and conversions."""

from __future__ import annotations

import math
from datetime import timedelta

import pytest
from sqlalchemy import func, select

from app.drip import campaigns
from app.drip.audit import Actor
from app.drip.enrollment import actions as enrollment
from app.drip.enrollment import in_holdout, review_audience, stop_reason_text
from app.extensions import db
from app.models import (
    DripEnrollment,
    DripHoldout,
    DripMessageLog,
    Organization,
    Tag,
    utcnow,
)
from app.tasks.processing import run_processing_pass
from tests.integration.enrollment_world import make_campaign, make_contacts
from tests.integration.test_events_goals import fake, post, sent  # noqa: F401 - fixtures
from tests.support.accounts import send_through_fake
from tests.support.window import wrote_to_us

ACTOR = Actor(user_id=None, api_key_id=None, label="test")


def holdout_ids(session, campaign_id) -> set[int]:
    return set(
        session.scalars(
            select(DripHoldout.contact_id).where(DripHoldout.campaign_id == campaign_id)
        )
    )


def enrolled_ids(session, campaign_id) -> set[int]:
    return set(
        session.scalars(
            select(DripEnrollment.contact_id).where(DripEnrollment.campaign_id == campaign_id)
        )
    )


def holdout_campaign(session, org_id, percent, **fields):
    campaign = make_campaign(session, org_id, **fields)
    campaigns.update_campaign(session, ACTOR, campaign, {"holdout_percent": percent})
    return campaign


def test_a_fifth_of_1000_contacts_is_held_out_never_enrolled_and_stays_held_out(session, org_a):
    campaign = holdout_campaign(session, org_a.org_id, 20)
    contacts = [c.id for c in make_contacts(session, org_a.org_id, 1000)]
    review = review_audience(session, campaign, contact_ids=contacts)
    result = enrollment.enroll(session, campaign, contact_ids=contacts)
    session.commit()

    held = holdout_ids(session, campaign.id)
    # Binomial(1000, 0.2): mean 200, sd 12.6; five sd either side.
    sd = math.sqrt(1000 * 0.2 * 0.8)
    assert 200 - 5 * sd < len(held) < 200 + 5 * sd
    assert result.held_out == len(held) == review.would_hold_out
    assert result.enrolled == 1000 - len(held) == review.would_enroll - review.would_hold_out
    assert not held & enrolled_ids(session, campaign.id)
    assert held == {c for c in contacts if in_holdout(campaign.holdout_salt, c, 20)}

    again = enrollment.enroll(session, campaign, contact_ids=contacts)
    session.commit()
    assert again.enrolled == 0 and again.held_out == len(held)
    assert holdout_ids(session, campaign.id) == held
    assert not held & enrolled_ids(session, campaign.id)
    count = session.scalar(select(func.count()).select_from(DripHoldout))
    assert count == len(held)


def test_without_a_holdout_everyone_is_enrolled(session, org_a):
    campaign = make_campaign(session, org_a.org_id)
    contacts = [c.id for c in make_contacts(session, org_a.org_id, 50)]
    result = enrollment.enroll(session, campaign, contact_ids=contacts)
    assert (result.enrolled, result.held_out) == (50, 0)
    assert campaign.holdout_salt is None and not holdout_ids(session, campaign.id)


def test_tag_triggered_enrollments_keep_the_holdout(session, org_a):
    campaign = holdout_campaign(
        session, org_a.org_id, 50, trigger_type="tag_added", trigger_value="vip"
    )
    contacts = make_contacts(session, org_a.org_id, 60, tag="vip")
    tag = session.scalar(select(Tag).where(Tag.name == "vip"))
    enrollment.on_tags_added(session, org_a.org_id, tag.id, [c.id for c in contacts])
    held = holdout_ids(session, campaign.id)
    assert held and len(held) < 60
    assert held == {c.id for c in contacts if in_holdout(campaign.holdout_salt, c.id, 50)}
    assert len(enrolled_ids(session, campaign.id)) == 60 - len(held)


def test_processing_passes_never_message_the_holdout(clean_app, org_a, fake):  # noqa: F811
    clean_app.config["SEND_CONCURRENCY"] = 4
    now = utcnow()
    with clean_app.app_context():
        session = db.session
        org = session.get(Organization, org_a.org_id)
        send_through_fake(clean_app, session, org, fake)
        campaign = holdout_campaign(session, org.id, 50, steps=((0, "minutes"), (0, "minutes")))
        contacts = [c.id for c in make_contacts(session, org.id, 30)]
        wrote_to_us(session, now - timedelta(hours=2))
        enrollment.enroll(session, campaign, contact_ids=contacts, now=now - timedelta(hours=2))
        session.commit()
        run_processing_pass(now - timedelta(hours=1))
        run_processing_pass(now)
        held = holdout_ids(session, campaign.id)
        messaged = set(session.scalars(select(DripMessageLog.contact_id)))
        assert held and messaged
        assert messaged == set(contacts) - held


def test_the_api_and_the_enroll_page_report_the_holdout(clean_app, org_a, client_a):
    with clean_app.app_context():
        campaign = holdout_campaign(db.session, org_a.org_id, 50)
        contacts = [c.id for c in make_contacts(db.session, org_a.org_id, 40)]
        db.session.commit()
        cid = campaign.id
    answer = client_a.post(
        f"/api/drip-campaigns/{cid}/enrollments",
        json={"contactIds": contacts[:20]},
        headers=org_a.auth,
    )
    assert answer.status_code == 200, answer.json
    held = answer.json["data"]["heldOut"]
    assert held > 0 and answer.json["data"]["enrolled"] == 20 - held
    page = client_a.post(
        f"/campaigns/{cid}/enrollments",
        data={"target": "ids", "contact_ids": " ".join(map(str, contacts[20:]))},
    )
    text = page.get_data(as_text=True)
    with clean_app.app_context():
        total = len(holdout_ids(db.session, cid))
    assert f"{total - held} were put in the holdout (never messaged)" in text or (
        total - held == 1 and "1 was put in the holdout (never messaged)" in text
    )


def test_the_stop_reason_of_a_conversion_is_in_words():
    assert stop_reason_text("converted") == "reached the campaign's goal"


def test_the_timeline_shows_the_event_and_the_conversion(clean_app, org_a, client_a, sent):  # noqa: F811
    contact = sent["contacts"][0]
    answer = post(
        clean_app,
        org_a,
        {"id": "o-1", "contactId": contact, "name": "purchase", "value": 49.9, "currency": "EUR"},
    )
    assert answer.status_code == 201 and answer.json["data"]["conversions"] == 1
    timeline = client_a.get(f"/api/contacts/{contact}/timeline", headers=org_a.auth).json["data"]
    by_kind = {e["kind"]: e for e in timeline}
    event, converted = by_kind["event"], by_kind["converted"]
    assert event["text"] == "purchase: 49.90 EUR" and event["details"]["currency"] == "EUR"
    assert converted["campaignId"] == sent["campaign_id"]
    assert converted["stepId"] == sent["first_step"]
    assert converted["details"]["event"] == "purchase" and not converted["details"]["holdout"]
    assert by_kind["stopped"]["text"] == "reached the campaign's goal"
    kinds = [e["kind"] for e in timeline]
    # Same instant: the stop it caused, then the conversion, then the event (newest first).
    assert kinds.index("stopped") < kinds.index("converted") < kinds.index("event")
    page = client_a.get(f"/contacts/{contact}").get_data(as_text=True)
    assert "Reached a goal" in page and "credited to" in page and "49.90 EUR" in page
    assert 'data-kind="event"' in page and 'data-kind="converted"' in page


@pytest.mark.parametrize("percent", [0, 50])
def test_review_counts_without_a_salt_by_the_expected_share(session, org_a, percent):
    campaign = make_campaign(session, org_a.org_id, holdout_percent=percent)
    contacts = [c.id for c in make_contacts(session, org_a.org_id, 10)]
    review = review_audience(session, campaign, contact_ids=contacts)
    assert review.would_hold_out == 10 * percent // 100
    assert campaign.holdout_salt is None
