"""Editing a branching campaign, on both databases: a step a branch leads to cannot be deleted,
no reorder (or undo of a deletion) makes a branch lead backwards, settings that would keep a
branch from being taken are refused, a duplicate's branches lead to its own steps, the audit
log records a branch's change, and enrollments waiting on a branch that changes are decided
again by the next real processing pass."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select

from app.drip import audit, campaigns
from app.drip.audit import Actor
from app.drip.enrollment import actions as enrollment
from app.drip.errors import Conflict, ValidationError
from app.extensions import db
from app.models import AuditEvent, DripCampaign, DripCampaignStep, DripEnrollment, Organization
from app.tasks.processing import run_processing_pass
from tests.fakes.cloud_api import FakeCloudApi
from tests.integration.enrollment_world import NOW, make_contacts
from tests.support.accounts import send_through_fake
from tests.support.window import wrote_to_us

ACTOR = Actor("ops@acme.example")
TEXT = {"delay_amount": 1, "delay_unit": "days", "message_content": "Hi"}


def read_to(target, **extra) -> dict:
    return {
        "waitAmount": 2,
        "waitUnit": "days",
        "conditions": [{"event": "read", "goTo": target}],
        **extra,
    }


def journey(session, org_id, *, branch=None, **settings):
    """Welcome, Reminder, Offer; Welcome branches (read -> Offer by default)."""
    campaign = campaigns.create_campaign(
        session, ACTOR, org_id, {"name": "Journey", "stop_on_reply": False, **settings}
    )
    welcome, reminder, offer = (
        campaigns.add_step(session, ACTOR, campaign, {**TEXT, "name": name})
        for name in ("Welcome", "Reminder", "Offer")
    )
    campaigns.update_step(
        session, ACTOR, campaign, welcome, {"branch": branch or read_to(offer.id)}
    )
    return campaign, (welcome, reminder, offer)


def positions(session, campaign) -> list[str]:
    return [s.name for s in campaigns.live_steps(session, campaign.id)]


def test_deleting_the_step_a_branch_leads_to_is_refused(session, org_a):
    campaign, (welcome, reminder, offer) = journey(session, org_a.org_id)
    with pytest.raises(Conflict) as caught:
        campaigns.delete_step(session, ACTOR, campaign, offer)
    assert caught.value.message == (
        "Step 3 “Offer” is where the branch of step 1 “Welcome” leads: change that branch first."
    )
    assert offer.deleted_at is None and positions(session, campaign) == [
        "Welcome",
        "Reminder",
        "Offer",
    ]
    # The timeout's target is a target too.
    campaigns.update_step(
        session, ACTOR, campaign, welcome, {"branch": read_to("end", onTimeout=reminder.id)}
    )
    with pytest.raises(Conflict, match="Step 2 “Reminder” is where the branch of step 1"):
        campaigns.delete_step(session, ACTOR, campaign, reminder)
    campaigns.delete_step(session, ACTOR, campaign, offer)  # no branch leads there any more
    assert positions(session, campaign) == ["Welcome", "Reminder"]


def test_a_reorder_that_makes_a_branch_lead_backwards_is_refused(session, org_a):
    campaign, (welcome, reminder, offer) = journey(session, org_a.org_id)
    for order in ([offer.id, welcome.id, reminder.id], [reminder.id, offer.id, welcome.id]):
        with pytest.raises(ValidationError) as caught:
            campaigns.reorder_steps(session, ACTOR, campaign, order)
        assert caught.value.message == (
            "The branch of step 1 “Welcome” leads to step 3 “Offer”, which would then come "
            "before it: change that branch first."
        )
        assert set(caught.value.fields) == {"step_ids"}
        assert positions(session, campaign) == ["Welcome", "Reminder", "Offer"]
    campaigns.move_step(session, ACTOR, campaign, offer, "up")  # still after Welcome
    assert positions(session, campaign) == ["Welcome", "Offer", "Reminder"]
    with pytest.raises(ValidationError):
        campaigns.move_step(session, ACTOR, campaign, offer, "up")
    assert positions(session, campaign) == ["Welcome", "Offer", "Reminder"]
    reorders = session.scalars(select(AuditEvent).where(AuditEvent.action == "steps.reordered"))
    assert len(reorders.all()) == 1  # the allowed move only


@pytest.mark.parametrize(
    ("event", "settings", "change", "field", "words"),
    [
        ("replied", {}, {"stop_on_reply": True}, "stop_on_reply", "Stop on reply"),
        ("clicked", {"track_links": True}, {"track_links": False}, "track_links", "Track links"),
        ("goal", {"goal": {"event": "purchase", "within_days": 7}}, {"goal": None}, "goal", "goal"),
        (
            "goal",
            {"goal": {"event": "purchase", "within_days": 7}},
            {"exit_on_goal": True},
            "exit_on_goal",
            "End the journey at the goal",
        ),
    ],
)
def test_settings_that_keep_a_branch_from_being_taken_are_refused(
    session, org_a, event, settings, change, field, words
):
    campaign, (welcome, _, offer) = journey(session, org_a.org_id, **settings)
    campaigns.update_step(
        session,
        ACTOR,
        campaign,
        welcome,
        {"branch": {"waitAmount": 1, "conditions": [{"event": event, "goTo": offer.id}]}},
    )
    before = {k: getattr(campaign, k) for k in ("stop_on_reply", "track_links", "goal_event")}
    with pytest.raises(ValidationError) as caught:
        campaigns.update_campaign(session, ACTOR, campaign, {"name": "Renamed", **change})
    assert set(caught.value.fields) == {field}
    assert caught.value.fields[field].startswith(f"Step 1 “Welcome” branches on “{event}”: ")
    assert words in caught.value.fields[field]
    assert campaign.name == "Journey"
    assert {k: getattr(campaign, k) for k in before} == before
    assert not session.scalars(
        select(AuditEvent).where(AuditEvent.action == "campaign.updated")
    ).all()


def test_a_duplicate_branches_to_its_own_steps(session, org_a):
    campaign, (welcome, reminder, offer) = journey(
        session, org_a.org_id, branch=None, track_links=True
    )
    campaigns.update_step(
        session,
        ACTOR,
        campaign,
        welcome,
        {
            "branch": {
                "waitAmount": 3,
                "waitUnit": "hours",
                "conditions": [
                    {"event": "clicked", "goTo": "end"},
                    {"event": "read", "goTo": offer.id},
                ],
                "onTimeout": reminder.id,
            }
        },
    )
    copy = campaigns.duplicate_campaign(session, ACTOR, campaign)
    session.flush()
    one, two, three = campaigns.live_steps(session, copy.id)
    assert one.branch == {
        "waitAmount": 3,
        "waitUnit": "hours",
        "conditions": [{"event": "clicked", "goTo": "end"}, {"event": "read", "goTo": three.id}],
        "onTimeout": two.id,
    }
    assert two.branch is None and three.branch is None
    assert welcome.branch["onTimeout"] == reminder.id  # the original is untouched
    assert campaigns.campaign_graph(session, copy).warnings == []


def test_a_restored_step_keeps_its_branch(session, org_a):
    campaign, (welcome, reminder, offer) = journey(session, org_a.org_id)
    campaigns.update_step(session, ACTOR, campaign, welcome, {"branch": None})
    campaigns.update_step(session, ACTOR, campaign, reminder, {"branch": read_to(offer.id)})
    campaigns.delete_step(session, ACTOR, campaign, reminder)
    session.flush()
    campaigns.restore_step(session, ACTOR, campaign, reminder)
    assert positions(session, campaign) == ["Welcome", "Reminder", "Offer"]
    assert reminder.branch == read_to(offer.id, onTimeout="next")


def test_an_undo_that_would_make_a_branch_lead_backwards_is_refused(session, org_a):
    campaign, (welcome, reminder, offer) = journey(session, org_a.org_id)
    campaigns.update_step(session, ACTOR, campaign, welcome, {"branch": None})
    campaigns.update_step(session, ACTOR, campaign, reminder, {"branch": read_to(offer.id)})
    campaigns.delete_step(session, ACTOR, campaign, reminder)
    campaigns.reorder_steps(session, ACTOR, campaign, [offer.id, welcome.id])
    session.flush()
    with pytest.raises(Conflict) as caught:
        campaigns.restore_step(session, ACTOR, campaign, reminder)
    assert caught.value.message == (
        "Undoing would bring back step 2 “Reminder” with its branch leading to step 1 “Offer”, "
        "which is now before it: put the steps back in order first, or add the step again."
    )
    assert reminder.deleted_at is not None
    assert positions(session, campaign) == ["Offer", "Welcome"]


def test_the_audit_log_records_a_branch_before_and_after(session, org_a):
    campaign, (welcome, _, offer) = journey(session, org_a.org_id)
    campaigns.update_step(session, ACTOR, campaign, welcome, {"branch": None})
    session.flush()
    added, removed = session.scalars(
        select(AuditEvent).where(AuditEvent.action == "step.updated").order_by(AuditEvent.id)
    ).all()
    assert added.details["changes"] == {"branch": [None, read_to(offer.id, onTimeout="next")]}
    assert removed.details["changes"] == {"branch": [read_to(offer.id, onTimeout="next"), None]}
    assert audit.describe("step.updated", removed.details) == "changed step “Welcome”: branch"


# --- waiters decided again, through real passes ------------------------------------------


@pytest.fixture
def waiting(clean_app, org_a):
    """Two contacts sent the Welcome at NOW, waiting on its two-day branch (read -> Offer)."""
    with FakeCloudApi() as fake, clean_app.app_context():
        session = db.session
        org = session.get(Organization, org_a.org_id)
        send_through_fake(clean_app, session, org, fake)
        campaign, (welcome, reminder, offer) = journey(session, org.id)
        campaign.track_links = True
        campaigns.change_status(session, ACTOR, campaign, "activate")
        contacts = make_contacts(session, org.id, 2)
        wrote_to_us(session, NOW)
        welcome.delay_amount = 0
        enrollment.enroll(session, campaign, contact_ids=[c.id for c in contacts], now=NOW)
        session.commit()
        assert run_processing_pass(NOW)["sent"] == 2
        rows = session.scalars(select(DripEnrollment)).all()
        assert {(r.current_step_id, r.wait_reason) for r in rows} == {(welcome.id, "branch")}
        yield campaign.id, (welcome.id, reminder.id, offer.id)


def edit_branch(app, campaign_id, step_id, branch):
    with app.app_context():
        session = db.session
        step = session.get(DripCampaignStep, step_id)
        campaign = session.get(DripCampaign, campaign_id)
        campaigns.update_step(session, ACTOR, campaign, step, {"branch": branch})
        session.commit()


def enrollments(app):
    with app.app_context():
        return [
            (r.current_step_id, r.via_step_id, r.via, r.wait_reason)
            for r in db.session.scalars(select(DripEnrollment).order_by(DripEnrollment.id))
        ]


def test_waiters_are_decided_again_when_their_branch_changes(clean_app, waiting):
    campaign_id, (welcome, reminder, offer) = waiting
    later = NOW + timedelta(hours=2)
    with clean_app.app_context():
        assert run_processing_pass(later)["claimed"] == 0  # still waiting: two days
    # A one-hour wait has run out for them: the next pass takes the timeout's way at once.
    edit_branch(clean_app, campaign_id, welcome, read_to(offer, waitAmount=1, waitUnit="hours"))
    with clean_app.app_context():
        run_processing_pass(later)
    assert enrollments(clean_app) == [(reminder, welcome, "timeout", None)] * 2


def test_waiters_go_on_in_order_when_their_branch_is_removed(clean_app, waiting):
    campaign_id, (welcome, reminder, _) = waiting
    edit_branch(clean_app, campaign_id, welcome, None)
    with clean_app.app_context():
        run_processing_pass(NOW + timedelta(hours=2))
    assert enrollments(clean_app) == [(reminder, welcome, "next", None)] * 2
