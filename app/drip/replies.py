"""The pieces of applying a contact's message: recording it once, finding (or creating) the
sender, the 24-hour window, replies (replied_at, stop on reply) and keyword-triggered
campaigns. app.drip.engagement.apply_inbound puts them together."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import case, func, literal, select, update
from sqlalchemy.orm import Session

from app.drip import enrollment
from app.drip.enrolling import LIVE_STATUSES, first_step
from app.drip.insert_once import insert_once
from app.drip.opt_out import end_enrollments
from app.drip.scope import scoped
from app.models import Contact, DripCampaign, DripEnrollment, DripMessageLog, InboundMessage

SENT_STATUSES = ("sent", "delivered", "read")
STOP_REASON_REPLIED = "replied"
NAME_MAX = 120


def e164(digits: str) -> str:
    """Meta's wa_id / from ("447700900123") as the contacts table stores it ("+447700900123")."""
    return "+" + "".join(ch for ch in digits if ch.isdigit())


def contact_id_for(session: Session, organization_id: int, phone: str) -> int | None:
    return session.scalar(
        select(Contact.id).where(Contact.organization_id == organization_id, Contact.phone == phone)
    )


def record_inbound(session: Session, organization_id: int, values: dict) -> int | None:
    """Record the message once (unique wa_message_id); its row id, or None for a repeat."""
    row = {"organization_id": organization_id, **values}
    return insert_once(session, InboundMessage, row, ("wa_message_id",))


def link_inbound(session: Session, inbound_id: int, contact_id: int) -> None:
    session.execute(
        update(InboundMessage).where(InboundMessage.id == inbound_id).values(contact_id=contact_id)
    )


def touch_last_inbound(session: Session, contact_id: int, at: datetime) -> None:
    """last_inbound_at becomes the latest of its value and `at` (opens the 24-hour window)."""
    column = Contact.last_inbound_at
    latest = case((column.is_(None) | (column < at), literal(at, column.type)), else_=column)
    session.execute(
        update(Contact)
        .where(Contact.id == contact_id)
        .values(last_inbound_at=latest)
        .execution_options(synchronize_session="fetch")
    )


def keyword_campaigns(
    session: Session, organization_id: int, text: str | None
) -> list[DripCampaign]:
    """Active keyword-triggered campaigns (with a step to send) whose keyword is the text,
    trimmed and case-insensitive."""
    word = (text or "").strip().lower()
    if not word:
        return []
    campaigns = session.scalars(
        scoped(DripCampaign, organization_id)
        .where(
            DripCampaign.status == "active",
            DripCampaign.trigger_type == "keyword",
            func.lower(func.trim(DripCampaign.trigger_value)) == word,
        )
        .order_by(DripCampaign.id)
    ).all()
    return [c for c in campaigns if first_step(session, c.id) is not None]


def create_sender(
    session: Session, organization_id: int, phone: str, profile_name: str | None
) -> int:
    """A contact for an unknown sender, named from their WhatsApp profile; fires the
    contact-created trigger like any new contact. Meta's number needs no parsing."""
    first, _, last = (profile_name or "").strip().partition(" ")
    values = {
        "organization_id": organization_id,
        "phone": phone,
        "first_name": first[:NAME_MAX] or None,
        "last_name": last.strip()[:NAME_MAX] or None,
        "attributes": {},
    }
    new_id = insert_once(session, Contact, values, ("organization_id", "phone"))
    if new_id is None:  # created meanwhile by a concurrent message of theirs
        return contact_id_for(session, organization_id, phone)
    enrollment.on_contacts_created(session, organization_id, [new_id])
    return new_id


def enroll_by_keyword(session: Session, campaigns: list[DripCampaign], contact_id: int) -> int:
    """Enroll the contact in each campaign (skipped where already live, opted out, ...)."""
    return sum(enrollment.enroll(session, c, contact_ids=[contact_id]).enrolled for c in campaigns)


def apply_reply(
    session: Session,
    contact_id: int,
    at: datetime,
    context_wamid: str | None,
    skip_campaign_ids: set[int],
) -> int:
    """Mark the replied message of each live enrollment (the quoted one, else the latest sent
    at or before the reply) once, and the quoted message of an ended enrollment; then stop the
    live enrollments of campaigns that stop on reply. How many enrollments stopped.

    Campaigns in `skip_campaign_ids` (triggered by this very message's keyword) are left alone.
    """
    live = session.execute(
        select(DripEnrollment.id, DripEnrollment.campaign_id).where(
            DripEnrollment.contact_id == contact_id,
            DripEnrollment.status.in_(LIVE_STATUSES),
            DripEnrollment.campaign_id.not_in(skip_campaign_ids),
        )
    ).all()
    live_ids = [row.id for row in live]
    replied = _replied_logs(session, contact_id, live_ids, at, context_wamid, skip_campaign_ids)
    if replied:
        session.execute(
            update(DripMessageLog)
            .where(DripMessageLog.id.in_(replied), DripMessageLog.replied_at.is_(None))
            .values(replied_at=at)
            .execution_options(synchronize_session="fetch")
        )
    if not live_ids:
        return 0
    stopping = select(DripCampaign.id).where(DripCampaign.stop_on_reply.is_(True))
    return end_enrollments(
        session,
        DripEnrollment.id.in_(live_ids),
        DripEnrollment.campaign_id.in_(stopping),
        status="stopped",
        reason=STOP_REASON_REPLIED,
        at=at,
    )


def _replied_logs(
    session: Session,
    contact_id: int,
    live_ids: list[int],
    at: datetime,
    context: str | None,
    skip_campaign_ids: set[int],
) -> list[int]:
    quoted = None
    if context:
        quoted = session.execute(
            select(DripMessageLog.id, DripMessageLog.enrollment_id).where(
                DripMessageLog.wamid == context,
                DripMessageLog.contact_id == contact_id,
                DripMessageLog.status.in_(SENT_STATUSES),
                DripMessageLog.campaign_id.not_in(skip_campaign_ids),
            )
        ).first()
    chosen: dict[int, int] = {}
    if live_ids:
        rows = session.execute(
            select(DripMessageLog.id, DripMessageLog.enrollment_id)
            .where(
                DripMessageLog.enrollment_id.in_(live_ids),
                DripMessageLog.status.in_(SENT_STATUSES),
                DripMessageLog.sent_at <= at,
            )
            .order_by(DripMessageLog.sent_at.desc(), DripMessageLog.id.desc())
        )
        for row in rows:
            chosen.setdefault(row.enrollment_id, row.id)
    if quoted is not None:
        chosen[quoted.enrollment_id] = quoted.id
    return list(chosen.values())
