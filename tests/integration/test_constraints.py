"""The database, not only Python, refuses a second live enrollment, a second send of a step,
a repeated wamid, a second assignment and a duplicate phone."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone
from decimal import Decimal

import pytest
from sqlalchemy import select, text
from sqlalchemy.exc import IntegrityError, StatementError

from app.models import (
    Contact,
    DripAbTest,
    DripAbVariant,
    DripCampaign,
    DripCampaignStep,
    DripEnrollment,
    DripMessageLog,
    DripVariantAssignment,
)


@pytest.fixture
def world(session, org_a):
    org = org_a.org_id
    campaign = DripCampaign(organization_id=org, name="Welcome")
    contacts = [
        Contact(organization_id=org, phone=f"+44207946000{i}", first_name=f"C{i}") for i in range(3)
    ]
    session.add_all([campaign, *contacts])
    session.flush()
    steps = [
        DripCampaignStep(
            organization_id=org,
            campaign_id=campaign.id,
            position=i,
            name=f"S{i}",
            message_content="Hi",
        )
        for i in (1, 2)
    ]
    session.add_all(steps)
    session.commit()
    return {"org": org, "campaign": campaign, "contacts": contacts, "steps": steps}


def enroll(session, world, contact_index=0, status="active"):
    row = DripEnrollment(
        organization_id=world["org"],
        campaign_id=world["campaign"].id,
        contact_id=world["contacts"][contact_index].id,
        status=status,
        current_step_id=world["steps"][0].id,
    )
    session.add(row)
    session.flush()
    return row


def assert_refused(session, action):
    with pytest.raises(IntegrityError):
        action()
        session.flush()
    session.rollback()


def test_one_live_enrollment_per_campaign_and_contact(session, world):
    enroll(session, world, status="active")
    session.commit()
    assert_refused(session, lambda: enroll(session, world, status="active"))
    assert_refused(session, lambda: enroll(session, world, status="paused"))
    # History does not block: finished enrollments may repeat beside one live one.
    enroll(session, world, status="completed")
    enroll(session, world, status="stopped")
    enroll(session, world, contact_index=1, status="paused")
    session.commit()
    count = session.scalar(text("SELECT count(*) FROM drip_enrollments"))
    assert count == 4


def test_a_finished_enrollment_frees_the_slot(session, world):
    first = enroll(session, world)
    session.commit()
    first.status = "completed"
    session.commit()
    enroll(session, world)
    session.commit()


def log_for(world, enrollment, step_index=0, wamid=None):
    return DripMessageLog(
        organization_id=world["org"],
        enrollment_id=enrollment.id,
        campaign_id=world["campaign"].id,
        step_id=world["steps"][step_index].id,
        contact_id=enrollment.contact_id,
        wamid=wamid,
    )


def test_a_step_is_logged_once_per_enrollment(session, world):
    enrollment = enroll(session, world)
    session.add(log_for(world, enrollment, 0))
    session.add(log_for(world, enrollment, 1))
    session.commit()
    assert_refused(session, lambda: session.add(log_for(world, enrollment, 0)))


def test_wamid_is_unique(session, world):
    first = enroll(session, world, 0)
    second = enroll(session, world, 1)
    session.add(log_for(world, first, wamid="wamid.A"))
    # Many logs have no wamid yet (pending): NULLs do not collide.
    session.add(log_for(world, first, 1))
    session.add(log_for(world, second, 1))
    session.commit()
    assert_refused(session, lambda: session.add(log_for(world, second, 0, wamid="wamid.A")))


def test_one_assignment_per_test_and_contact(session, world):
    test = DripAbTest(
        organization_id=world["org"],
        campaign_id=world["campaign"].id,
        step_id=world["steps"][0].id,
        name="T",
    )
    session.add(test)
    session.flush()
    variants = [
        DripAbVariant(
            organization_id=world["org"], test_id=test.id, name=n, traffic_allocation=Decimal(50)
        )
        for n in ("A", "B")
    ]
    session.add_all(variants)
    session.flush()
    contact = world["contacts"][0]

    def assign(variant):
        session.add(
            DripVariantAssignment(
                organization_id=world["org"],
                test_id=test.id,
                variant_id=variant.id,
                contact_id=contact.id,
            )
        )

    assign(variants[0])
    session.commit()
    assert_refused(session, lambda: assign(variants[1]))


def test_one_running_test_per_step(session, world):
    def running_test():
        session.add(
            DripAbTest(
                organization_id=world["org"],
                campaign_id=world["campaign"].id,
                step_id=world["steps"][0].id,
                name="T",
                status="running",
            )
        )

    running_test()
    session.add(
        DripAbTest(
            organization_id=world["org"],
            campaign_id=world["campaign"].id,
            step_id=world["steps"][0].id,
            name="old",
            status="completed",
        )
    )
    session.commit()
    assert_refused(session, running_test)


def test_phone_is_unique_per_organization(session, world, org_b):
    phone = world["contacts"][0].phone
    assert_refused(session, lambda: session.add(Contact(organization_id=world["org"], phone=phone)))
    session.add(Contact(organization_id=org_b.org_id, phone=phone))
    session.commit()


def test_status_values_are_checked_by_the_database(session, world):
    assert_refused(session, lambda: enroll(session, world, status="sleeping"))
    campaign = world["campaign"]
    with pytest.raises(IntegrityError):
        session.execute(
            text("UPDATE drip_campaigns SET status = 'deleted' WHERE id = :id"), {"id": campaign.id}
        )
    session.rollback()


def test_foreign_keys_are_enforced(session, world):
    assert_refused(
        session,
        lambda: session.add(
            DripCampaignStep(
                organization_id=world["org"],
                campaign_id=999_999,
                position=1,
                name="x",
            )
        ),
    )


def test_times_come_back_timezone_aware_utc(session, world):
    paris = timezone(timedelta(hours=1))
    enrollment = enroll(session, world)
    enrollment.next_send_at = datetime(2026, 3, 29, 9, 30, tzinfo=paris)
    session.commit()
    session.expire_all()
    stored = session.scalar(select(DripEnrollment.next_send_at))
    assert stored == datetime(2026, 3, 29, 8, 30, tzinfo=UTC)
    assert stored.utcoffset() == timedelta(0)


def test_naive_datetimes_are_refused(session, world):
    enrollment = enroll(session, world)
    enrollment.next_send_at = datetime(2026, 1, 1, 9, 0)
    with pytest.raises(StatementError, match="naive datetime"):
        session.flush()
    session.rollback()
