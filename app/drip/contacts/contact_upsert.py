"""Writing an import chunk's contacts: one row per contact, WhatsApp user ids that belong to
someone else refused, and set-based upserts that keep what a blank cell would erase."""

from __future__ import annotations

from sqlalchemy import func, literal_column, select
from sqlalchemy.orm import Session

from app.drip.contacts.csv_report import error_entry, stored_cells
from app.drip.contacts.csv_rows import ContactRow
from app.drip.sql import dialect_name, upsert_insert
from app.models import Contact, utcnow


def merge_repeated_contacts(rows: list[ContactRow]) -> tuple[list[ContactRow], int]:
    """One row per contact, a phone or else a WhatsApp user id (one upsert cannot touch a row
    twice); how many rows were folded."""
    by_key: dict[tuple[str, str], ContactRow] = {}
    for row in rows:
        if row.key in by_key:
            by_key[row.key].merge(row)
        else:
            by_key[row.key] = row
    return list(by_key.values()), len(rows) - len(by_key)


def refuse_taken_user_ids(
    session: Session, organization_id: int, rows: list[ContactRow]
) -> tuple[list[ContactRow], list[dict]]:
    """Rows with a phone whose WhatsApp user id belongs to another contact (another phone's,
    or a contact known by that id alone) are row errors: two contacts are not merged here."""
    wanted = {row.whatsapp_user_id for row in rows if row.phone and row.whatsapp_user_id}
    if not wanted:
        return rows, []
    holders = dict(
        session.execute(
            select(Contact.whatsapp_user_id, Contact.phone).where(
                Contact.organization_id == organization_id,
                Contact.whatsapp_user_id.in_(sorted(wanted)),
            )
        ).all()
    )
    kept, errors, claimed = [], [], {}
    for row in rows:
        user_id = row.whatsapp_user_id if row.phone else None
        owner = holders.get(user_id, row.phone) if user_id else row.phone
        if user_id and (owner != row.phone or claimed.get(user_id, row.phone) != row.phone):
            message = f"whatsapp_user_id: {user_id} belongs to another contact."
            errors.append(error_entry(row.number, message, stored_cells(row.cells, len(row.cells))))
            continue
        if user_id:
            claimed[user_id] = row.phone
        kept.append(row)
    return kept, errors


def upsert_contacts(
    session: Session, organization_id: int, rows: list[ContactRow]
) -> tuple[dict[tuple[str, str], int], list[int]]:
    """INSERT ... ON CONFLICT DO UPDATE for rows of distinct contacts: those with a phone on
    (organization_id, phone), those without on (organization_id, whatsapp_user_id).

    An existing contact keeps what a blank cell would erase: names, time zone and WhatsApp
    user id change only when the file has a value, attributes are merged. Answers
    ({row.key: id}, [new ids])."""
    now = utcnow()
    ids: dict[tuple[str, str], int] = {}
    created: list[int] = []
    for name in ("phone", "whatsapp_user_id"):
        part = [row for row in rows if row.key[0] == name]
        if not part:
            continue
        for contact_id, value, created_at in _upsert(session, organization_id, name, part, now):
            ids[(name, value)] = contact_id
            # An update leaves created_at alone: only rows inserted now carry this instant.
            if created_at == now:
                created.append(contact_id)
    return ids, sorted(created)


def _upsert(session: Session, organization_id: int, key: str, rows: list[ContactRow], now):
    table = Contact.__table__
    stmt = upsert_insert(session, table)
    excluded = stmt.excluded
    stmt = stmt.on_conflict_do_update(
        index_elements=["organization_id", key],
        set_={
            "first_name": func.coalesce(excluded.first_name, table.c.first_name),
            "last_name": func.coalesce(excluded.last_name, table.c.last_name),
            "timezone": func.coalesce(excluded.timezone, table.c.timezone),
            "whatsapp_user_id": func.coalesce(excluded.whatsapp_user_id, table.c.whatsapp_user_id),
            "attributes": _merged_json(session, table.c.attributes, excluded.attributes),
            "updated_at": excluded.updated_at,
        },
    ).returning(table.c.id, table.c[key], table.c.created_at)
    values = [
        {
            "organization_id": organization_id,
            "phone": row.phone,
            "whatsapp_user_id": row.whatsapp_user_id,
            "first_name": row.first_name,
            "last_name": row.last_name,
            "timezone": row.timezone,
            "attributes": row.attributes,
            "created_at": now,
            "updated_at": now,
        }
        for row in rows
    ]
    return session.execute(stmt, values).all()


def _merged_json(session: Session, current, incoming):
    if dialect_name(session) == "postgresql":
        return func.coalesce(current, literal_column("'{}'::jsonb")).op("||")(incoming)
    return func.json_patch(func.coalesce(current, "{}"), incoming)
