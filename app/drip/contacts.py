"""Contacts, the read side: search, filters, a page of contacts with their tags.

The changes (create, edit, delete, which fire the enrollment triggers) are in
contact_changes.py, the CSV import in csv_import.py: app.drip.enrollment reads contacts
through contact_filter, so this module must not import it back.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from sqlalchemy import Select, func, or_, select
from sqlalchemy.orm import Session

from app.drip.paging import page_count
from app.drip.scope import get_scoped
from app.drip.tags import tags_by_contact
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
    first name, last name, "first last", or, when it is written like a phone number (digits,
    spaces, + - . ( )), part of the phone number.
    """
    query = select(Contact.id).where(Contact.organization_id == organization_id)
    q = (q or "").strip()
    if q:
        like = "%" + _escape_like(q.lower()) + "%"
        conditions = [
            Contact.first_name.ilike(like, escape="\\"),
            Contact.last_name.ilike(like, escape="\\"),
            (Contact.first_name + " " + Contact.last_name).ilike(like, escape="\\"),
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


@dataclass
class ContactPage:
    contacts: list[Contact]
    total: int
    page: int
    per_page: int
    tags: dict[int, list[str]] = field(default_factory=dict)

    @property
    def pages(self) -> int:
        return page_count(self.total, self.per_page)


def list_contacts(
    session: Session,
    organization_id: int,
    *,
    q: str | None = None,
    tag: str | None = None,
    opted_out: bool | None = None,
    page: int = 1,
    per_page: int = 50,
) -> ContactPage:
    """A page of matching contacts, newest first, with their tags."""
    matching = contact_filter(organization_id, q=q, tag=tag, opted_out=opted_out)
    total = session.scalar(select(func.count()).select_from(matching.subquery()))
    contacts = list(
        session.scalars(
            matching.with_only_columns(Contact)
            .order_by(Contact.created_at.desc(), Contact.id.desc())
            .limit(per_page)
            .offset((page - 1) * per_page)
        )
    )
    tags = tags_by_contact(session, organization_id, [c.id for c in contacts])
    return ContactPage(contacts, total or 0, page, per_page, tags)


def get_contact(session: Session, organization_id: int, contact_id: int) -> Contact:
    return get_scoped(session, Contact, organization_id, contact_id)


def contact_tags(session: Session, organization_id: int, contact_id: int) -> list[str]:
    return tags_by_contact(session, organization_id, [contact_id])[contact_id]
