"""The pieces of applying a contact's message: recording it once, finding (or creating) the
sender, the 24-hour window, replies (replied_at, stop on reply) and keyword-triggered
campaigns. app.drip.engagement.apply_inbound puts them together."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import and_, case, func, literal, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, aliased

from app.drip import enrollment
from app.drip.engagement.keywords import is_opt_out, organization_keywords
from app.drip.enrollment import STOP_REASON_REPLIED, end_enrollments_from, first_step, live_at
from app.drip.scope import scoped
from app.drip.sql import as_utc, insert_once, savepoint_on_postgresql
from app.models import Contact, DripCampaign, DripEnrollment, DripMessageLog, InboundMessage

SENT_STATUSES = ("sent", "delivered", "read")
# A reply may mark a message that failed after it (it had not failed when the reply came).
MARKABLE_STATUSES = (*SENT_STATUSES, "failed")
NAME_MAX = 120


def e164(digits: str | None) -> str | None:
    """Meta's wa_id / from ("447700900123") as the contacts table stores it ("+447700900123");
    None when Meta shared no number (a user with a username, known by their BSUID)."""
    if not digits:
        return None
    return "+" + "".join(ch for ch in digits if ch.isdigit())


def contact_id_for(
    session: Session, organization_id: int, phone: str | None, user_id: str | None = None
) -> int | None:
    """The contact with this phone when there is one, else the one with this BSUID."""
    for column, value in ((Contact.phone, phone), (Contact.whatsapp_user_id, user_id)):
        if value:
            mine = Contact.organization_id == organization_id
            found = session.scalar(select(Contact.id).where(mine, column == value))
            if found is not None:
                return found
    return None


def link_identities(
    session: Session, organization_id: int, contact_id: int, phone: str | None, user_id: str | None
) -> None:
    """A message carrying both the phone and the BSUID tells they are one person: the contact
    found gets the one it lacks (never replaced), unless another contact of the organization
    already holds it. Such a pair (a phone contact and a BSUID-only contact of the same person)
    is left as it is: merging two contacts' histories is not done here, the phone's contact is
    the one the message goes to. A savepoint (PostgreSQL) keeps a concurrent link from aborting
    the caller's transaction."""
    if not (phone and user_id):
        return
    other = aliased(Contact)  # not correlated to the updated row
    for name, value in (("whatsapp_user_id", user_id), ("phone", phone)):
        column = getattr(Contact, name)
        taken = (
            select(other.id)
            .where(other.organization_id == organization_id, getattr(other, name) == value)
            .exists()
        )
        try:
            with savepoint_on_postgresql(session):
                session.execute(
                    update(Contact)
                    .where(Contact.id == contact_id, column.is_(None), ~taken)
                    .values({name: value})
                    .execution_options(synchronize_session="fetch")
                )
        except IntegrityError:
            pass  # linked to another contact meanwhile: left as it is


def record_inbound(session: Session, organization_id: int, values: dict) -> int | None:
    """Record the message once per organization (another organization's message with the
    same id is not this one's repeat); its row id, or None for a repeat."""
    row = {"organization_id": organization_id, **values}
    # With Meta's timestamp, the month inbound messages are partitioned by (0018): a repeat
    # of the message carries the same one.
    key = ("organization_id", "wa_message_id", "occurred_at")
    return insert_once(session, InboundMessage, row, key)


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
    session: Session,
    organization_id: int,
    phone: str | None,
    profile_name: str | None,
    user_id: str | None = None,
) -> int:
    """A contact for an unknown sender, named from their WhatsApp profile, with their phone,
    their BSUID, or both (a sender with a username may have no phone); fires the
    contact-created trigger like any new contact. Meta's number needs no parsing."""
    first, _, last = (profile_name or "").strip().partition(" ")
    values = {
        "organization_id": organization_id,
        "phone": phone,
        "whatsapp_user_id": user_id,
        "first_name": first[:NAME_MAX] or None,
        "last_name": last.strip()[:NAME_MAX] or None,
        "attributes": {},
    }
    unique = ("organization_id", "phone") if phone else ("organization_id", "whatsapp_user_id")
    try:
        with savepoint_on_postgresql(session):
            new_id = insert_once(session, Contact, values, unique)
    except IntegrityError:  # the other identity was taken meanwhile
        new_id = None
    if new_id is None:  # created meanwhile by a concurrent message of theirs
        return contact_id_for(session, organization_id, phone, user_id)
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
    """Mark the replied message of each enrollment live at the reply's time (the quoted one,
    else the latest sent at or before the reply that had not failed by then), and the quoted
    message of an ended enrollment, each with the earliest reply's time; then stop the
    enrollments of campaigns that stop on reply (again, at this earlier time, those a later
    event ended). How many live enrollments stopped.

    Campaigns in `skip_campaign_ids` (triggered by this very message's keyword) are left alone.
    """
    _mark_replied(session, contact_id, at, context_wamid, skip_campaign_ids)
    stopping = select(DripCampaign.id).where(DripCampaign.stop_on_reply.is_(True))
    ended, ended_ids = end_enrollments_from(
        session,
        DripEnrollment.contact_id == contact_id,
        DripEnrollment.campaign_id.not_in(skip_campaign_ids),
        DripEnrollment.campaign_id.in_(stopping),
        status="stopped",
        reason=STOP_REASON_REPLIED,
        at=at,
    )
    # Replies after this one (applied before it) found these enrollments live.
    reconcile_replies(session, contact_id, ended_ids, at, inclusive=False)
    return ended


def reconcile_replies(
    session: Session,
    contact_id: int,
    enrollment_ids: list[int],
    since: datetime,
    *,
    inclusive: bool = True,
) -> None:
    """Judge again, in time order, the contact's messages at or after `since` as replies to
    these enrollments: an earlier event (an ending, a failure) arrived after them and changes
    which enrollments were live and which messages had failed when they came. Marks of these
    enrollments' messages at or after `since` are cleared and set again (ordinary UPDATEs, so
    the rollup triggers follow). Nothing to do, and one query, when no message came since.
    Not `inclusive`: only after `since` (a reply judging the replies after it)."""
    if not enrollment_ids:
        return
    if inclusive:
        came, marked = InboundMessage.occurred_at >= since, DripMessageLog.replied_at >= since
    else:
        came, marked = InboundMessage.occurred_at > since, DripMessageLog.replied_at > since
    messages = session.execute(
        select(
            InboundMessage.occurred_at,
            InboundMessage.text,
            InboundMessage.payload,
            InboundMessage.context_wamid,
        )
        .where(InboundMessage.contact_id == contact_id, came)
        .order_by(InboundMessage.occurred_at, InboundMessage.id)
    ).all()
    if not messages:
        return
    session.flush()
    session.execute(
        update(DripMessageLog)
        .where(DripMessageLog.enrollment_id.in_(enrollment_ids), marked)
        .values(replied_at=None)
        .execution_options(synchronize_session="fetch")
    )
    organization_id = session.scalar(
        select(Contact.organization_id).where(Contact.id == contact_id)
    )
    keywords = organization_keywords(session, organization_id)
    for message in messages:  # the contact's own messages since `since`: a handful
        payload = message.payload or {}
        texts = (message.text, payload.get("button_payload"), payload.get("button_title"))
        if is_opt_out(texts, keywords):
            continue  # an opt-out is not a reply
        skip = {c.id for c in keyword_campaigns(session, organization_id, message.text)}
        _mark_replied(
            session,
            contact_id,
            as_utc(message.occurred_at),
            message.context_wamid,
            skip,
            DripEnrollment.id.in_(enrollment_ids),
        )


def _mark_replied(
    session: Session,
    contact_id: int,
    at: datetime,
    context: str | None,
    skip_campaign_ids: set[int],
    *where,
) -> None:
    replied = _replied_logs(session, contact_id, at, context, skip_campaign_ids, *where)
    if replied:
        column = DripMessageLog.replied_at
        session.execute(
            update(DripMessageLog)
            .where(DripMessageLog.id.in_(replied), column.is_(None) | (column > at))
            .values(replied_at=at)
            .execution_options(synchronize_session="fetch")
        )


def unfailed_at(at: datetime):
    """Messages sent that had not failed by `at` (a failure after it does not count)."""
    return and_(
        DripMessageLog.status.in_(MARKABLE_STATUSES),
        DripMessageLog.failed_at.is_(None) | (DripMessageLog.failed_at > at),
    )


def _replied_logs(
    session: Session,
    contact_id: int,
    at: datetime,
    context: str | None,
    skip_campaign_ids: set[int],
    *where,
) -> list[int]:
    enrollments = select(DripEnrollment.id).where(DripEnrollment.contact_id == contact_id, *where)
    quoted = None
    if context:
        quoted = session.execute(
            select(DripMessageLog.id, DripMessageLog.enrollment_id).where(
                DripMessageLog.wamid == context,
                DripMessageLog.contact_id == contact_id,
                unfailed_at(at),
                DripMessageLog.campaign_id.not_in(skip_campaign_ids),
                DripMessageLog.enrollment_id.in_(enrollments),
            )
        ).first()
    live = enrollments.where(live_at(at), DripEnrollment.campaign_id.not_in(skip_campaign_ids))
    rows = session.execute(
        select(DripMessageLog.id, DripMessageLog.enrollment_id)
        .where(
            DripMessageLog.enrollment_id.in_(live),
            DripMessageLog.sent_at <= at,
            unfailed_at(at),
        )
        .order_by(DripMessageLog.sent_at.desc(), DripMessageLog.id.desc())
    )
    chosen: dict[int, int] = {}
    for row in rows:
        chosen.setdefault(row.enrollment_id, row.id)
    if quoted is not None:
        chosen[quoted.enrollment_id] = quoted.id
    return list(chosen.values())
