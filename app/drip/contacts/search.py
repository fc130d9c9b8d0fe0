"""Contacts, the read side: search, filters, a page of contacts with their tags.

The changes (create, edit, delete, which fire the enrollment triggers) are in
contact_changes.py, the CSV import in csv_import.py: app.drip.enrollment reads contacts
through contact_filter, so this module must not import it back.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from app.drip.contacts.tags import tags_by_contact
from app.drip.enrollment import contact_filter
from app.drip.paging import PageOf
from app.drip.scope import get_scoped
from app.models import Contact


@dataclass
class ContactPage(PageOf):
    contacts: list[Contact]
    total: int
    page: int
    per_page: int
    tags: dict[int, list[str]] = field(default_factory=dict)


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
