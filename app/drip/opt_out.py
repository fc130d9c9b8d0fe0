"""Opting a contact out everywhere (a STOP keyword, Meta's error 131050) and ending one
enrollment because of what happened to its message. Set-based UPDATEs, no commit.

Earliest wins: the contact's events arrive in any order, so an enrollment ended by one of
them (a reply, an opt-out, a failure of its message) is ended again by an earlier one that
arrives later, and the contact keeps the time (and reason) of their earliest opt-out. Endings
by the marketer (stopped, paused) or by Drip (completed) are never replaced."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime

from sqlalchemy import and_, or_, select, update
from sqlalchemy.orm import Session

from app.drip.enrolling import LIVE_STATUSES
from app.models import Contact, DripEnrollment, Organization

DEFAULT_KEYWORDS = ("STOP", "UNSUBSCRIBE", "CANCEL")
REASON_KEYWORD = "keyword"
REASON_META_OPT_OUT = "meta_131050"
REASON_USER_PREFERENCES = "meta_user_preferences"
STOP_REASON_OPTED_OUT = "opted_out"
STOP_REASON_REPLIED = "replied"


def normalized(word: str | None) -> str:
    """A keyword as it is compared: trimmed, case-folded."""
    return (word or "").strip().casefold()


def organization_keywords(session: Session, organization_id: int) -> frozenset[str]:
    """The default opt-out keywords plus the organization's own, normalized."""
    extra = session.scalar(
        select(Organization.opt_out_keywords).where(Organization.id == organization_id)
    )
    words = [*DEFAULT_KEYWORDS, *(w for w in extra or () if isinstance(w, str))]
    return frozenset(normalized(w) for w in words if normalized(w))


def is_opt_out(candidates: Iterable[str | None], keywords: frozenset[str]) -> bool:
    """Whether any of the texts (message text, button payload, button title) is a keyword."""
    return any(normalized(text) in keywords for text in candidates if text)


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
    from app.drip.replies import reconcile_replies  # replies builds on this module

    # Replies after the opt-out (applied before it) found these enrollments live.
    reconcile_replies(session, contact_id, ended_ids, at)
    return ended


def ended_by_event():
    """Enrollments ended by an event of their contact (a reply, an opt-out, a failure of a
    message): an earlier event of that kind ends them again."""
    return or_(
        DripEnrollment.status == "failed",
        and_(
            DripEnrollment.status == "stopped",
            DripEnrollment.stop_reason == STOP_REASON_REPLIED,
        ),
        and_(
            DripEnrollment.status == "unsubscribed",
            DripEnrollment.stop_reason == STOP_REASON_OPTED_OUT,
        ),
    )


def live_at(at: datetime, *, ended_at_it: bool = True):
    """Enrollments that were live at `at`: live now, or ended by a contact's event since (with
    ended_at_it=False, only by one strictly after `at`)."""
    ended_since = DripEnrollment.stopped_at >= at if ended_at_it else DripEnrollment.stopped_at > at
    return or_(
        DripEnrollment.status.in_(LIVE_STATUSES),
        and_(ended_by_event(), ended_since, DripEnrollment.enrolled_at <= at),
    )


def mark_undeliverable(session: Session, contact_id: int, at: datetime) -> None:
    """131026: the contact cannot receive WhatsApp messages; the earliest time found is kept."""
    column = Contact.undeliverable_at
    session.execute(
        update(Contact)
        .where(Contact.id == contact_id, column.is_(None) | (column > at))
        .values(undeliverable_at=at)
        .execution_options(synchronize_session="fetch")
    )


def end_enrollments(session: Session, *where, status: str, reason: str, at: datetime) -> int:
    """End the live (active or paused) enrollments matching `where`; how many ended."""
    result = session.execute(
        update(DripEnrollment)
        .where(DripEnrollment.status.in_(LIVE_STATUSES), *where)
        .values(status=status, stop_reason=reason, stopped_at=at, next_send_at=None)
        .execution_options(synchronize_session="fetch")
    )
    return result.rowcount


def end_enrollments_from(
    session: Session, *where, status: str, reason: str, at: datetime
) -> tuple[int, list[int]]:
    """An event of the contact at `at` ends the live enrollments matching `where`, and ends
    again (at `at`) those that a later event of theirs ended. (How many live ones ended, the
    ids of all it ended: replies after `at` are to be judged again for them.)"""
    ending = live_at(at, ended_at_it=False)
    rows = session.execute(
        select(DripEnrollment.id, DripEnrollment.status).where(ending, *where)
    ).all()
    if rows:
        session.execute(
            update(DripEnrollment)
            # The condition again: checked on the row itself, should it have moved meanwhile.
            .where(DripEnrollment.id.in_([row.id for row in rows]), ending)
            .values(status=status, stop_reason=reason, stopped_at=at, next_send_at=None)
            .execution_options(synchronize_session="fetch")
        )
    return sum(row.status in LIVE_STATUSES for row in rows), [row.id for row in rows]
