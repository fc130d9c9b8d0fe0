"""Contacts: create, edit, delete, tags, search."""

from __future__ import annotations

from sqlalchemy import Select, or_, select

from app.models import Contact, ContactTag, Tag


def contact_filter(
    organization_id: int,
    *,
    q: str | None = None,
    tag: str | None = None,
    opted_out: bool | None = None,
) -> Select:
    """SELECT Contact.id of the organization's contacts matching a search, a tag, an opt-out state.

    Shared by the contact list and by "enroll everyone matching this search".
    """
    query = select(Contact.id).where(Contact.organization_id == organization_id)
    if q:
        like = f"%{q.strip().lower()}%"
        digits = "".join(ch for ch in q if ch.isdigit())
        conditions = [
            Contact.first_name.ilike(like),
            Contact.last_name.ilike(like),
            (Contact.first_name + " " + Contact.last_name).ilike(like),
        ]
        if digits:
            conditions.append(Contact.phone.like(f"%{digits}%"))
        query = query.where(or_(*conditions))
    if tag:
        query = query.where(
            Contact.id.in_(
                select(ContactTag.contact_id)
                .join(Tag, Tag.id == ContactTag.tag_id)
                .where(Tag.organization_id == organization_id, Tag.name == tag.strip())
            )
        )
    if opted_out is True:
        query = query.where(Contact.opted_out_at.is_not(None))
    elif opted_out is False:
        query = query.where(Contact.opted_out_at.is_(None))
    return query
