"""Contacts who wrote to the business: their 24-hour customer service window is open.

Free text goes out only inside that window (the processor ends, or sends the fallback template
to, a contact who never wrote or wrote more than 24 hours ago), so tests that send text steps
give their contacts a message to us first, as an inbound message does (last_inbound_at; the
reply rules of the inbound path are left out: it is only the window here)."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime, timedelta

from sqlalchemy import update

from app.models import Contact

# How long before `at` the contacts wrote: well inside the window.
JUST_BEFORE = timedelta(minutes=1)


def wrote_to_us(
    session,
    at: datetime,
    *,
    contact_ids: Iterable[int] | None = None,
    organization_id: int | None = None,
) -> None:
    """The contacts (all, or these ids, or this organization's) wrote to us just before `at`,
    so their window is open at `at` (and for the 24 hours before it closes). No commit."""
    statement = update(Contact).values(last_inbound_at=at - JUST_BEFORE)
    if contact_ids is not None:
        statement = statement.where(Contact.id.in_(list(contact_ids)))
    if organization_id is not None:
        statement = statement.where(Contact.organization_id == organization_id)
    session.execute(statement.execution_options(synchronize_session=False))
