"""The messaging limit and the frequency cap through real processing passes and the fake Cloud
API, on both databases: sends over them are deferred (never failed) with the time they are
allowed and the reason; the limit is shared by all of the account's campaigns; contacts
already reached and sends inside the window use no slot."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select

from app.drip.enrollment import actions as enrollment
from app.extensions import db
from app.models import (
    DripCampaign,
    DripCampaignStep,
    DripEnrollment,
    DripMessageLog,
    Organization,
    WhatsAppAccount,
)
from tests.fakes.cloud_api import FakeCloudApi
from tests.fakes.templates import BUSINESS_ACCOUNT_ID
from tests.integration.enrollment_world import NOW, make_campaign, make_contacts
from tests.integration.test_send_holds_window import rows, run, template_step
from tests.support.accounts import send_through_fake
from tests.support.catalog import add_template
from tests.support.window import wrote_to_us

HOUR = timedelta(hours=1)
DAY = timedelta(days=1)


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
        add_template(db.session, org.id, "spring_sale", parameters=["1", "2"])
        add_template(db.session, org.id, "receipt", parameters=["1", "2"], category="UTILITY")
        db.session.commit()
    return org_a.org_id


def set_limit(app, org_id, limit):
    with app.app_context():
        account = db.session.scalar(
            select(WhatsAppAccount).where(WhatsAppAccount.organization_id == org_id)
        )
        account.messaging_limit = limit
        db.session.commit()


def campaign(app, org_id, contacts, *, at=NOW, steps=((0, "minutes"),), exempt=False, **step):
    """A template campaign enrolling `contacts` (a count: new ones, or a list of ids) at `at`;
    the contact ids."""
    with app.app_context():
        session = db.session
        made = make_campaign(session, org_id, steps=steps, frequency_cap_exempt=exempt)
        for row in session.scalars(
            select(DripCampaignStep).where(DripCampaignStep.campaign_id == made.id)
        ):
            for name, value in (step or template_step()).items():
                setattr(row, name, value)
        if isinstance(contacts, int):
            contacts = [c.id for c in make_contacts(session, org_id, contacts)]
        enrollment.enroll(session, made, contact_ids=contacts, now=at)
        session.commit()
        return contacts


def of_campaign(app, campaign_id=None):
    return [
        e for e in rows(app, DripEnrollment) if campaign_id is None or e.campaign_id == campaign_id
    ]


def test_two_campaigns_of_one_account_share_the_limit_and_wait_for_the_next_slot(
    clean_app, org_id, fake
):
    set_limit(clean_app, org_id, 3)
    campaign(clean_app, org_id, 2, at=NOW - 2 * HOUR)
    run(clean_app, NOW - 2 * HOUR)  # two people reached two hours ago
    campaign(clean_app, org_id, 3)
    run(clean_app, NOW)
    assert fake.requests == 3  # one slot was left
    logs = rows(clean_app, DripMessageLog)
    assert len(logs) == 3 and all(log.outside_window for log in logs)
    waiting = [e for e in of_campaign(clean_app) if e.wait_reason]
    assert len(waiting) == 2
    for row in waiting:
        assert (row.status, row.wait_reason) == ("active", "messaging_limit")
        # The two reached first leave the 24 hours at NOW + 22 h: the next slots.
        assert row.next_send_at == NOW + 22 * HOUR
    # Nothing is failed, and nothing goes out before the slots free.
    assert run(clean_app, NOW + 21 * HOUR)["claimed"] == 0
    run(clean_app, NOW + 22 * HOUR)
    assert fake.requests == 5
    assert all(e.wait_reason is None for e in of_campaign(clean_app))
    assert all(log.status == "sent" for log in rows(clean_app, DripMessageLog))


def test_contacts_already_reached_and_sends_inside_the_window_use_no_slot(clean_app, org_id, fake):
    set_limit(clean_app, org_id, 2)
    reached = campaign(clean_app, org_id, 2, at=NOW - HOUR)
    run(clean_app, NOW - HOUR)
    assert fake.requests == 2
    # The same two people again (another campaign): already counted, no slot needed.
    campaign(clean_app, org_id, reached)
    # Two people inside their window: not counted either.
    inside = campaign(clean_app, org_id, 2)
    with clean_app.app_context():
        wrote_to_us(db.session, NOW, contact_ids=inside)
        db.session.commit()
    run(clean_app, NOW)
    assert fake.requests == 6
    assert not any(e.wait_reason for e in of_campaign(clean_app))
    logs = rows(clean_app, DripMessageLog)
    assert [log.outside_window for log in logs] == [True] * 4 + [False] * 2
    # A new person outside the window now has no slot.
    campaign(clean_app, org_id, 1)
    run(clean_app, NOW + HOUR)
    assert fake.requests == 6
    (row,) = [e for e in of_campaign(clean_app) if e.wait_reason]
    assert (row.wait_reason, row.next_send_at) == ("messaging_limit", NOW + 24 * HOUR)


def test_no_limit_set_sends_everything(clean_app, org_id, fake):
    campaign(clean_app, org_id, 5)
    run(clean_app, NOW)
    assert fake.requests == 5


def set_cap(app, org_id, messages, days):
    with app.app_context():
        org = db.session.get(Organization, org_id)
        org.frequency_cap_messages, org.frequency_cap_days = messages, days
        db.session.commit()


def test_the_frequency_cap_defers_marketing_across_campaigns_to_the_first_allowed_time(
    clean_app, org_id, fake
):
    set_cap(clean_app, org_id, 2, 7)
    people = campaign(clean_app, org_id, 2, at=NOW - 3 * DAY)
    run(clean_app, NOW - 3 * DAY)
    campaign(clean_app, org_id, people, at=NOW - DAY)
    run(clean_app, NOW - DAY)
    assert fake.requests == 4
    # A utility campaign is not capped; a third marketing one waits.
    campaign(clean_app, org_id, people, **template_step("receipt"))
    third = campaign(clean_app, org_id, people)
    assert third == people
    run(clean_app, NOW)
    assert fake.requests == 6
    waiting = [e for e in of_campaign(clean_app) if e.wait_reason]
    assert len(waiting) == 2
    for row in waiting:
        # The oldest counted message (NOW - 3 days) leaves the 7 days at NOW + 4 days.
        assert (row.wait_reason, row.next_send_at) == ("frequency_cap", NOW + 4 * DAY)
    run(clean_app, NOW + 4 * DAY)
    assert fake.requests == 8
    assert not any(e.wait_reason for e in of_campaign(clean_app))


def test_an_exempt_campaign_is_neither_capped_nor_counted(clean_app, org_id, fake):
    set_cap(clean_app, org_id, 1, 7)
    people = campaign(clean_app, org_id, 1, at=NOW - DAY, exempt=True)
    run(clean_app, NOW - DAY)
    campaign(clean_app, org_id, people, at=NOW - HOUR)  # counted: the first in 7 days
    run(clean_app, NOW - HOUR)
    campaign(clean_app, org_id, people, exempt=True)  # exempt: not capped
    run(clean_app, NOW)
    assert fake.requests == 3
    with clean_app.app_context():
        exempt = db.session.scalars(
            select(DripCampaign.id).where(DripCampaign.frequency_cap_exempt.is_(True))
        ).all()
    assert len(exempt) == 2


def test_the_sending_panel_shows_the_limit_and_the_next_slot(clean_app, org_id, fake, client_a):
    page = client_a.get("/campaigns/").get_data(as_text=True)
    assert "No messaging limit set" in page
    set_limit(clean_app, org_id, 2)
    campaign(clean_app, org_id, 3, at=NOW - HOUR)
    run(clean_app, NOW - HOUR)
    with clean_app.app_context():
        from app.drip.sending import queue_health

        health = queue_health(db.session, org_id, NOW)
    assert (health.limit.limit, health.limit.used) == (2, 2)
    assert health.limit.next_slot == NOW + 23 * HOUR
    page = client_a.get("/campaigns/").get_data(as_text=True)
    assert "Messaging limit 2 per 24 h: 2 used" in page


def test_wait_reason_in_the_enrollment_api_and_list(clean_app, org_id, fake, client_a, org_a):
    set_limit(clean_app, org_id, 1)
    campaign(clean_app, org_id, 2)
    run(clean_app, NOW)
    (waiting,) = [e for e in of_campaign(clean_app) if e.wait_reason]
    body = client_a.get(
        f"/api/drip-campaigns/{waiting.campaign_id}/enrollments", headers=org_a.auth
    ).get_json()
    reasons = sorted(str(e["waitReason"]) for e in body["data"])
    assert reasons == ["None", "messaging_limit"]
    page = client_a.get(f"/campaigns/{waiting.campaign_id}/enrollments").get_data(as_text=True)
    assert "waiting for a free slot: the WhatsApp account&#39;s messaging limit" in page


def test_patch_settings_sets_the_limits_for_admins_only_and_audits(clean_app, org_a, org_id):
    api = clean_app.test_client()
    answer = api.patch(
        "/api/settings",
        json={"messagingLimit": 250, "frequencyCap": {"messages": 2, "days": 7}},
        headers=org_a.auth,
    )
    assert answer.status_code == 200, answer.get_json()
    data = answer.get_json()["data"]
    assert (data["messagingLimit"], data["frequencyCap"]) == (250, {"messages": 2, "days": 7})
    assert api.get("/api/settings", headers=org_a.auth).get_json()["data"] == data
    with clean_app.app_context():
        from app.models import AuditEvent

        (event,) = db.session.scalars(select(AuditEvent)).all()
        assert event.action == "settings.sending_limits_changed"
        assert event.details["changes"]["messaging_limit"] == [None, 250]
    bad = api.patch(
        "/api/settings", json={"frequencyCap": {"messages": 0, "days": 7}}, headers=org_a.auth
    )
    assert bad.status_code == 422
    assert "frequencyCap.messages" in bad.get_json()["error"]["details"]["fields"]
    off = api.patch(
        "/api/settings", json={"messagingLimit": None, "frequencyCap": None}, headers=org_a.auth
    )
    assert off.get_json()["data"]["messagingLimit"] is None
    from tests.conftest import make_user

    member = make_user(clean_app, org_a)
    assert (
        api.patch("/api/settings", json={"messagingLimit": 9}, headers=member.auth).status_code
        == 403
    )


def test_the_settings_page_saves_the_sending_limits(clean_app, org_id, client_a):
    page = client_a.get("/settings/").get_data(as_text=True)
    assert "Sending limits" in page
    answer = client_a.post(
        "/settings/sending-limits",
        data={"messaging_limit": "2000", "frequency_cap_messages": "3", "frequency_cap_days": "7"},
    )
    assert answer.status_code == 302
    with clean_app.app_context():
        org = db.session.get(Organization, org_id)
        account = db.session.scalar(select(WhatsAppAccount))
        assert (account.messaging_limit, org.frequency_cap_messages, org.frequency_cap_days) == (
            2000,
            3,
            7,
        )
    bad = client_a.post("/settings/sending-limits", data={"frequency_cap_messages": "3"})
    assert bad.status_code == 422
    assert "Give both" in bad.get_data(as_text=True)


def test_verification_stores_metas_messaging_limit_tier(clean_app, org_a):
    with FakeCloudApi() as meta:
        meta._numbers.messaging_limit_tier = "TIER_2K"
        with clean_app.app_context():
            org = db.session.get(Organization, org_a.org_id)
            account = send_through_fake(clean_app, db.session, org, meta)
            assert (account.messaging_tier, account.messaging_limit) == ("TIER_2K", 2000)
            db.session.rollback()


def test_meta_tier_labels_as_numbers():
    from app.whatsapp import UNKNOWN_LIMIT, messaging_limit_of

    assert messaging_limit_of("TIER_250") == 250
    assert messaging_limit_of("TIER_100K") == 100_000
    assert messaging_limit_of("TIER_UNLIMITED") is None
    assert messaging_limit_of("2000") == 2000
    assert messaging_limit_of("TIER_NOT_SET") is UNKNOWN_LIMIT
