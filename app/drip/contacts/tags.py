"""Tags: found or created by name in bulk, put on contacts, listed with their counts.

Nothing here fires triggers: the callers that add tags (contact_changes, csv_import) pass
what attach_tags reports to contact_changes.notify_tags_added once the contacts are saved.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable

from sqlalchemy import delete, func, select
from sqlalchemy.orm import Session

from app.drip.sql import chunked, upsert_insert
from app.models import ContactTag, Tag, utcnow


def ensure_tags(session: Session, organization_id: int, names: Iterable[str]) -> dict[str, int]:
    """{name: tag id} for clean tag names, creating the missing tags."""
    names = list(dict.fromkeys(names))
    if not names:
        return {}
    now = utcnow()
    ids: dict[str, int] = {}
    for part in chunked(names):
        rows = [{"organization_id": organization_id, "name": n, "created_at": now} for n in part]
        insert = upsert_insert(session, Tag.__table__)
        session.execute(
            insert.on_conflict_do_nothing(index_elements=["organization_id", "name"]), rows
        )
        found = session.execute(
            select(Tag.name, Tag.id).where(
                Tag.organization_id == organization_id, Tag.name.in_(part)
            )
        )
        ids.update((name, tag_id) for name, tag_id in found)
    return ids


def attach_tags(
    session: Session, organization_id: int, pairs: Iterable[tuple[int, int]]
) -> dict[int, list[int]]:
    """Put tags on contacts, given (contact_id, tag_id) pairs of this organization's rows.

    Answers {tag_id: [contact ids that did not have it before]}; pairs already there are left.
    """
    added: dict[int, list[int]] = defaultdict(list)
    now = utcnow()
    table = ContactTag.__table__
    for part in chunked(sorted(set(pairs))):
        rows = [
            {
                "contact_id": contact_id,
                "tag_id": tag_id,
                "organization_id": organization_id,
                "created_at": now,
            }
            for contact_id, tag_id in part
        ]
        insert = upsert_insert(session, table)
        stmt = insert.on_conflict_do_nothing(index_elements=["contact_id", "tag_id"]).returning(
            table.c.contact_id, table.c.tag_id
        )
        for contact_id, tag_id in session.execute(stmt, rows):
            added[tag_id].append(contact_id)
    return {tag_id: sorted(ids) for tag_id, ids in added.items()}


def detach_other_tags(
    session: Session, organization_id: int, contact_id: int, keep_tag_ids: Iterable[int]
) -> None:
    """Remove every tag of the contact but the ones kept."""
    session.execute(
        delete(ContactTag).where(
            ContactTag.organization_id == organization_id,
            ContactTag.contact_id == contact_id,
            ContactTag.tag_id.not_in(list(keep_tag_ids)),
        )
    )


def tags_by_contact(
    session: Session, organization_id: int, contact_ids: list[int]
) -> dict[int, list[str]]:
    """{contact id: [tag names, sorted]} for a page of contacts, in one query."""
    result: dict[int, list[str]] = {contact_id: [] for contact_id in contact_ids}
    if not contact_ids:
        return result
    rows = session.execute(
        select(ContactTag.contact_id, Tag.name)
        .join(Tag, Tag.id == ContactTag.tag_id)
        .where(
            ContactTag.organization_id == organization_id, ContactTag.contact_id.in_(contact_ids)
        )
        .order_by(Tag.name)
    )
    for contact_id, name in rows:
        result[contact_id].append(name)
    return result


def list_tags(session: Session, organization_id: int) -> list[tuple[str, int]]:
    """The organization's tags by name, each with how many contacts carry it."""
    rows = session.execute(
        select(Tag.name, func.count(ContactTag.contact_id))
        .outerjoin(ContactTag, ContactTag.tag_id == Tag.id)
        .where(Tag.organization_id == organization_id)
        .group_by(Tag.id, Tag.name)
        .order_by(Tag.name)
    )
    return [(name, count) for name, count in rows]
