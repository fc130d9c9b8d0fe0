"""A/B tests on journeys that branch, on both databases, through real passes and signed
webhooks: a test on the step that branches (sends split by variant, each contact's read
settles their branch, the results count the variants' sends and reads as usual), and a test
on a step reached only by that branch."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select

from app.drip.ab import results as ab_results
from app.drip.enrollment import actions as enrollment
from app.extensions import db
from app.models import DripAbTest, DripEnrollment, DripMessageLog, Organization
from tests.integration.enrollment_world import NOW, live_steps, make_campaign, make_contacts
from tests.integration.test_ab_testing import make_test
from tests.integration.test_branch_journeys import HOUR, fake, post, run  # noqa: F401
from tests.integration.test_webhook import status_body
from tests.support.accounts import send_through_fake
from tests.support.window import wrote_to_us

CONTACTS = 8


@pytest.fixture
def world(clean_app, org_a, fake):  # noqa: F811
    """Welcome waits a day: read -> Offer (step 3), else the Reminder. An A/B test on the
    Welcome (it branches) and one on the Offer (reached only by the branch)."""
    with clean_app.app_context():
        session = db.session
        org = session.get(Organization, org_a.org_id)
        send_through_fake(clean_app, session, org, fake)
        campaign = make_campaign(
            session, org.id, steps=((0, "minutes"), (0, "minutes"), (0, "minutes"))
        )
        welcome, reminder, offer = live_steps(session, campaign)
        welcome.branch = {
            "waitAmount": 1,
            "waitUnit": "days",
            "conditions": [{"event": "read", "goTo": offer.id}],
            "onTimeout": "next",
        }
        # The Reminder is in the way of the Offer in order: the Offer only by the branch.
        reminder.branch = {
            "waitAmount": 1,
            "waitUnit": "days",
            "conditions": [{"event": "read", "goTo": "end"}],
            "onTimeout": "end",
        }
        on_welcome = make_test(session, campaign, welcome)
        on_offer = make_test(session, campaign, offer)
        contacts = make_contacts(session, org.id, CONTACTS)
        wrote_to_us(session, NOW)
        enrollment.enroll(session, campaign, contact_ids=[c.id for c in contacts], now=NOW)
        session.commit()
        yield {
            "tests": (on_welcome.id, on_offer.id),
            "steps": (welcome.id, reminder.id, offer.id),
            "phones": {c.id: c.phone.lstrip("+") for c in contacts},
            "phone_id": fake.phone_number_id,
        }


def logs_at(step_id: int) -> list[DripMessageLog]:
    return db.session.scalars(
        select(DripMessageLog).where(DripMessageLog.step_id == step_id).order_by(DripMessageLog.id)
    ).all()


def counts(test_id: int) -> dict:
    return ab_results.phase_counts(db.session, [test_id], NOW + timedelta(days=3))[test_id]


def read_statuses(world, logs, at) -> bytes:
    statuses = [
        {
            "id": log.wamid,
            "status": "read",
            "timestamp": str(int(at.timestamp())),
            "recipient_id": world["phones"][log.contact_id],
        }
        for log in logs
    ]
    return status_body(world["phone_id"], statuses)


def test_ab_tests_on_a_branching_step_and_on_a_branch_target(clean_app, world):
    client = clean_app.test_client()
    welcome, reminder, offer = world["steps"]
    on_welcome, on_offer = world["tests"]
    assert run(clean_app, NOW)["sent"] == CONTACTS
    with clean_app.app_context():
        sent = logs_at(welcome)
        by_variant = {}
        for log in sent:
            assert log.variant_id is not None
            by_variant.setdefault(log.variant_id, []).append(log)
        assert len(by_variant) == 2  # both variants went out
        # One reader of each variant, and a second of the first: their reads settle their
        # branches whatever text they got.
        first, second = (logs for _, logs in sorted(by_variant.items()))
        readers = [first[0], second[0], *first[1:2]]
        reader_ids = {log.contact_id for log in readers}
        body = read_statuses(world, readers, NOW + 2 * HOUR)
    post(client, body)

    with clean_app.app_context():
        rows = {row.contact_id: row for row in db.session.scalars(select(DripEnrollment)).all()}
        for contact_id, row in rows.items():
            if contact_id in reader_ids:
                assert (row.current_step_id, row.via_step_id, row.via) == (offer, welcome, "read")
            else:
                assert (row.current_step_id, row.wait_reason) == (welcome, "branch")
        welcome_counts = counts(on_welcome)
        assert {v: c.sent for v, c in welcome_counts.items()} == {
            v: len(logs) for v, logs in by_variant.items()
        }
        assert sum(c.read for c in welcome_counts.values()) == len(readers)
        reads = {v: c.read for v, c in welcome_counts.items()}
        assert sorted(reads.values()) == [1, 2]

    # The readers' Offers go out, split by the Offer's own test; the others time out to the
    # Reminder, which has no test and ends their journey.
    assert run(clean_app, NOW + 3 * HOUR)["sent"] == len(readers)
    run(clean_app, NOW + timedelta(days=1))
    with clean_app.app_context():
        wrote_to_us(db.session, NOW + timedelta(days=1))
        db.session.commit()
    run(clean_app, NOW + timedelta(days=1, minutes=1))
    with clean_app.app_context():
        offers = logs_at(offer)
        assert {log.contact_id for log in offers} == reader_ids
        assert all(log.variant_id is not None for log in offers)
        assert {(log.via_step_id, log.via) for log in offers} == {(welcome, "read")}
        assert len(logs_at(reminder)) == CONTACTS - len(readers)
        assert all(log.variant_id is None for log in logs_at(reminder))
        offer_counts = counts(on_offer)
        assert sum(c.sent for c in offer_counts.values()) == len(readers)
        test = db.session.get(DripAbTest, on_offer)
        assert test.status == "running"
        body = read_statuses(world, offers[:1], NOW + timedelta(days=1, hours=1))
    post(client, body)
    with clean_app.app_context():
        assert sum(c.read for c in counts(on_offer).values()) == 1
        # The Welcome's test still counts its own sends and reads only.
        assert sum(c.sent for c in counts(on_welcome).values()) == CONTACTS
        assert sum(c.read for c in counts(on_welcome).values()) == len(readers)
