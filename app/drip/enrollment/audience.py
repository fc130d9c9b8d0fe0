"""The audience: which contacts a search, a tag or an opt-out state selects.

Enrolling targets it, the contact list shows it, and a pre-launch review counts it, so it
lives with enrollment (which the contact changes call for their triggers) rather than with
the contact pages.
"""

from __future__ import annotations

import re

from sqlalchemy import Select, or_, select

from app.models import Contact, ContactTag, Tag

_PHONE_LIKE = re.compile(r"[\d\s+().-]+")


def contact_filter(
    organization_id: int,
    *,
    q: str | None = None,
    tag: str | None = None,
    opted_out: bool | None = None,
) -> Select:
    """SELECT Contact.id of the organization's contacts matching a search, a tag, an opt-out state.

    Shared by the contact list and by "enroll everyone matching this search". `q` matches
    first name, last name, "first last", part of the WhatsApp user id (BSUID), or, when it is
    written like a phone number (digits, spaces, + - . ( )), part of the phone number.
    """
    query = select(Contact.id).where(Contact.organization_id == organization_id)
    q = (q or "").strip()
    if q:
        like = "%" + _escape_like(q.lower()) + "%"
        conditions = [
            Contact.first_name.ilike(like, escape="\\"),
            Contact.last_name.ilike(like, escape="\\"),
            (Contact.first_name + " " + Contact.last_name).ilike(like, escape="\\"),
            Contact.whatsapp_user_id.ilike(like, escape="\\"),  # a BSUID, or part of one
        ]
        digits = "".join(ch for ch in q if ch.isdigit())
        if digits and _PHONE_LIKE.fullmatch(q):
            conditions.append(Contact.phone.like(f"%{digits}%"))
        query = query.where(or_(*conditions))
    tag = (tag or "").strip()
    if tag:
        query = query.where(
            Contact.id.in_(
                select(ContactTag.contact_id)
                .join(Tag, Tag.id == ContactTag.tag_id)
                .where(Tag.organization_id == organization_id, Tag.name == tag)
            )
        )
    if opted_out is True:
        query = query.where(Contact.opted_out_at.is_not(None))
    elif opted_out is False:
        query = query.where(Contact.opted_out_at.is_(None))
    return query


def _escape_like(text: str) -> str:
    """A search for "50%" or "a_b" means those characters, not LIKE wildcards."""
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
