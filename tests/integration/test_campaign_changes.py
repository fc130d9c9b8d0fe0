"""app.drip.campaigns' audited changes without a request: each change and its audit event in
one call, on both databases; and no view or API handler writes an audit event itself."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest
from sqlalchemy import select

from app.drip import campaigns
from app.drip.audit import Actor
from app.drip.errors import ValidationError
from app.models import AuditEvent, DripEnrollment
from tests.integration.enrollment_world import make_contacts

ROOT = Path(__file__).resolve().parents[2]
ACTOR = Actor("ops@acme.example", user_id=None)
STEP = {"name": "Welcome", "delay_amount": 0, "delay_unit": "minutes", "message_content": "Hi"}


def actions(session, campaign_id: int) -> list[str]:
    query = select(AuditEvent.action).where(AuditEvent.campaign_id == campaign_id)
    return list(session.scalars(query.order_by(AuditEvent.id)))


def test_each_change_records_its_event_in_the_same_call(session, org_a):
    campaign = campaigns.create_campaign(session, ACTOR, org_a.org_id, {"name": "Spring"})
    first = campaigns.add_step(session, ACTOR, campaign, STEP)
    second = campaigns.add_step(session, ACTOR, campaign, {**STEP, "name": "Tips"})
    campaigns.update_step(session, ACTOR, campaign, second, {"name": "Tips and tricks"})
    campaigns.move_step(session, ACTOR, campaign, second, "up")
    campaigns.reorder_steps(session, ACTOR, campaign, [first.id, second.id])
    campaigns.update_campaign(session, ACTOR, campaign, {"description": "Hello"})
    campaigns.change_status(session, ACTOR, campaign, "activate")
    contacts = make_contacts(session, org_a.org_id, 2)
    result = campaigns.enroll_contacts(
        session, ACTOR, campaign, {"contact_ids": [c.id for c in contacts]}
    )
    enrollment_id = session.scalar(
        select(DripEnrollment.id).where(DripEnrollment.campaign_id == campaign.id).limit(1)
    )
    campaigns.change_enrollment(session, ACTOR, campaign, enrollment_id, "pause")
    campaigns.delete_step(session, ACTOR, campaign, first)
    session.flush()

    assert result.enrolled == 2
    assert actions(session, campaign.id) == [
        "campaign.created",
        "step.added",
        "step.added",
        "step.updated",
        "steps.reordered",
        "steps.reordered",
        "campaign.updated",
        "campaign.activated",
        "enrollments.added",
        "enrollment.paused",
        "step.deleted",
    ]
    updated = session.scalars(select(AuditEvent).where(AuditEvent.action == "step.updated")).one()
    assert updated.actor == "ops@acme.example"
    assert updated.details["changes"] == {"name": ["Tips", "Tips and tricks"]}


def test_a_refused_change_records_nothing(session, org_a):
    campaign = campaigns.create_campaign(session, ACTOR, org_a.org_id, {"name": "Spring"})
    session.flush()
    with pytest.raises(ValidationError):
        campaigns.add_step(session, ACTOR, campaign, {**STEP, "delay_unit": "fortnights"})
    with pytest.raises(ValidationError):
        campaigns.change_status(session, ACTOR, campaign, "explode")
    session.flush()
    assert actions(session, campaign.id) == ["campaign.created"]


def test_views_and_api_handlers_never_write_audit_events():
    """Rule 8 of DESIGN.md: a change's audit event is written by the domain function."""
    offenders = []
    for path in sorted([*ROOT.glob("app/web/*.py"), *ROOT.glob("app/api/*.py")]):
        for node in ast.walk(ast.parse(path.read_text())):
            if (
                isinstance(node, ast.Attribute)
                and isinstance(node.value, ast.Name)
                and node.value.id == "audit"
                and node.attr.startswith(("record", "snapshot"))
            ):
                offenders.append(f"{path.relative_to(ROOT)}:{node.lineno} audit.{node.attr}")
    assert offenders == []
