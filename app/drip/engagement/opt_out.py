"""Opting a contact out everywhere (a STOP keyword, Meta's error 131050, by hand) and marking
one undeliverable (131026). Set-based UPDATEs, no commit.

Earliest wins: the contact keeps the time (and reason) of their earliest opt-out, and the
enrollments a later event ended are ended again by it (app.drip.enrollment's endings); replies
after the opt-out are judged again (app.drip.engagement.replies, which needs nothing from here:
the keywords are keywords.py's)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import update
from sqlalchemy.orm import Session

from app.drip.engagement.replies import reconcile_replies
from app.drip.enrollment import STOP_REASON_OPTED_OUT, end_enrollments_from
from app.models import Contact, DripEnrollment


def opt_out_contact(session: Session, contact_id: int, reason: str, at: datetime) -> int:
    """Opt the contact out (the earliest opt-out's time and reason are kept) and unsubscribe
    every enrollment of theirs live at `at`, in every campaign. How many live ones ended."""
    column = Contact.opted_out_at
    session.execute(
        update(Contact)
        .where(Contact.id == contact_id, column.is_(None) | (column > at))
        .values(opted_out_at=at, opt_out_reason=reason)
        .execution_options(synchronize_session="fetch")
    )
    ended, ended_ids = end_enrollments_from(
        session,
        DripEnrollment.contact_id == contact_id,
        status="unsubscribed",
        reason=STOP_REASON_OPTED_OUT,
        at=at,
    )
    # Replies after the opt-out (applied before it) found these enrollments live.
    reconcile_replies(session, contact_id, ended_ids, at)
    return ended


def mark_undeliverable(session: Session, contact_id: int, at: datetime) -> None:
    """131026: the contact cannot receive WhatsApp messages; the earliest time found is kept."""
    column = Contact.undeliverable_at
    session.execute(
        update(Contact)
        .where(Contact.id == contact_id, column.is_(None) | (column > at))
        .values(undeliverable_at=at)
        .execution_options(synchronize_session="fetch")
    )
