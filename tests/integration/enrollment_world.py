"""Builders for enrollment tests: campaigns, steps and contacts made directly with the models
(the campaign and contact domains are written in parallel)."""

from __future__ import annotations

from datetime import UTC, datetime

from app.models import (
    Contact,
    ContactTag,
    DripCampaign,
    DripCampaignStep,
    DripEnrollment,
    Organization,
    Tag,
)

# A Monday, noon UTC.
NOW = datetime(2030, 1, 7, 12, 0, tzinfo=UTC)


def make_campaign(session, org_id: int, *, steps=((0, "minutes"), (1, "days")), **fields):
    """A campaign (active, any time, by default) with live steps of the given delays."""
    values = {"name": "Welcome", "status": "active", "window_timezone": "UTC"}
    values.update(fields)
    campaign = DripCampaign(organization_id=org_id, **values)
    session.add(campaign)
    session.flush()
    for position, (amount, unit) in enumerate(steps, start=1):
        add_step(session, campaign, position, amount, unit)
    session.flush()
    return campaign


def add_step(session, campaign, position: int, amount: int = 0, unit: str = "minutes"):
    step = DripCampaignStep(
        organization_id=campaign.organization_id,
        campaign_id=campaign.id,
        position=position,
        name=f"Step {position}",
        delay_amount=amount,
        delay_unit=unit,
        message_content="Hi {{first_name|there}}",
    )
    session.add(step)
    session.flush()
    return step


def live_steps(session, campaign) -> list[DripCampaignStep]:
    return (
        session.query(DripCampaignStep)
        .filter_by(campaign_id=campaign.id, deleted_at=None)
        .order_by(DripCampaignStep.position)
        .all()
    )


def make_contacts(session, org_id: int, count: int, *, tag: str | None = None, **fields):
    """Contacts with fictional-but-valid London numbers, optionally tagged."""
    start = session.query(Contact).filter_by(organization_id=org_id).count()
    first_name = fields.pop("first_name", None)
    contacts = [
        Contact(
            organization_id=org_id,
            phone=f"+4420794{60000 + start + i:05d}",
            first_name=first_name or f"Person{start + i}",
            **fields,
        )
        for i in range(count)
    ]
    session.add_all(contacts)
    session.flush()
    if tag:
        tag_contacts(session, org_id, tag, contacts)
    return contacts


def tag_contacts(session, org_id: int, name: str, contacts) -> Tag:
    tag = session.query(Tag).filter_by(organization_id=org_id, name=name).one_or_none()
    if tag is None:
        tag = Tag(organization_id=org_id, name=name)
        session.add(tag)
        session.flush()
    session.add_all(
        ContactTag(contact_id=c.id, tag_id=tag.id, organization_id=org_id) for c in contacts
    )
    session.flush()
    return tag


def enrollments_of(session, campaign, status: str | None = None) -> list[DripEnrollment]:
    session.expire_all()
    query = session.query(DripEnrollment).filter_by(campaign_id=campaign.id)
    if status:
        query = query.filter_by(status=status)
    return query.order_by(DripEnrollment.id).all()


def one_enrollment(session, campaign, contact) -> DripEnrollment:
    session.expire_all()
    return (
        session.query(DripEnrollment)
        .filter_by(campaign_id=campaign.id, contact_id=contact.id)
        .order_by(DripEnrollment.id.desc())
        .first()
    )


def set_org_timezone(session, org_id: int, zone: str) -> None:
    session.get(Organization, org_id).timezone = zone
    session.flush()
