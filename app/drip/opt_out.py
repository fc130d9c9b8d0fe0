"""Opting a contact out everywhere (a STOP keyword, Meta's error 131050) and ending one
enrollment because of what happened to its message. Set-based UPDATEs, no commit."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from app.drip.enrolling import LIVE_STATUSES
from app.models import Contact, DripEnrollment, Organization

DEFAULT_KEYWORDS = ("STOP", "UNSUBSCRIBE", "CANCEL")
REASON_KEYWORD = "keyword"
REASON_META_OPT_OUT = "meta_131050"
REASON_USER_PREFERENCES = "meta_user_preferences"
STOP_REASON_OPTED_OUT = "opted_out"


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
    """Opt the contact out (the first opt-out's time and reason are kept) and unsubscribe every
    live enrollment of theirs, in every campaign. How many enrollments ended."""
    session.execute(
        update(Contact)
        .where(Contact.id == contact_id, Contact.opted_out_at.is_(None))
        .values(opted_out_at=at, opt_out_reason=reason)
    )
    return end_enrollments(
        session,
        DripEnrollment.contact_id == contact_id,
        status="unsubscribed",
        reason=STOP_REASON_OPTED_OUT,
        at=at,
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
