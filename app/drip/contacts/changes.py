"""Contacts, the write side: create, edit, delete, tags. Creating a contact and adding tags
fire the enrollment triggers (app.drip.enrollment.on_contacts_created / on_tags_added)."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from app.drip import engagement, enrollment
from app.drip.contacts import fields
from app.drip.contacts.phones import normalize_phone
from app.drip.contacts.tags import attach_tags, detach_other_tags, ensure_tags
from app.drip.errors import Conflict, ValidationError
from app.drip.scope import get_scoped
from app.models import Contact, Organization, utcnow

# The fields a change may name, as the domain spells them (the API speaks camelCase).
EDITABLE = (
    "phone",
    "whatsapp_user_id",
    "first_name",
    "last_name",
    "timezone",
    "tags",
    "attributes",
    "opted_out",
)
# A contact is reached by its phone, its business-scoped user id (BSUID), or both.
IDENTITIES = ("phone", "whatsapp_user_id")
NO_IDENTITY = "A contact needs a phone number or a WhatsApp user id."
OPT_OUT_REASON_MANUAL = "manual"


def organization_region(session: Session, organization_id: int) -> str:
    """The region numbers without a country code are read in (Organization.default_region)."""
    region = session.scalar(
        select(Organization.default_region).where(Organization.id == organization_id)
    )
    return region or "US"


def _checkers(region: str) -> dict:
    return {
        "phone": lambda value: _optional_phone(value, region),
        "whatsapp_user_id": fields.whatsapp_user_id,
        "first_name": fields.name,
        "last_name": fields.name,
        "timezone": fields.timezone,
        "tags": fields.tag_names,
        "attributes": fields.attributes,
        "opted_out": _boolean,
    }


def _optional_phone(value, region: str) -> str | None:
    """E.164, or None for null / empty (a contact may have a WhatsApp user id instead)."""
    if value is None or (isinstance(value, str) and not value.strip()):
        return None
    return normalize_phone(value, region)


def _boolean(value) -> bool:
    if not isinstance(value, bool):
        raise fields.FieldError("true or false.")
    return value


def _clean(session: Session, organization_id: int, changes: dict) -> dict:
    unknown = sorted(set(changes) - set(EDITABLE))
    if unknown:
        raise ValidationError(
            "Unknown fields: " + ", ".join(unknown) + ".",
            {name: "Unknown field." for name in unknown},
        )
    checkers = _checkers(organization_region(session, organization_id))
    return fields.collect({name: (checkers[name], value) for name, value in changes.items()})


def create_contact(session: Session, organization_id: int, **values) -> Contact:
    """A new contact from phone and/or whatsapp_user_id (one of them is required),
    first_name, last_name, timezone, tags, attributes.

    Fires on_contacts_created, then on_tags_added for each of its tags.
    """
    clean = _clean(session, organization_id, {"phone": values.pop("phone", None), **values})
    opted_out = clean.pop("opted_out", False)
    tags = clean.pop("tags", [])
    clean.setdefault("attributes", {})
    _ensure_reachable(clean.get("phone"), clean.get("whatsapp_user_id"))
    for name in IDENTITIES:
        _ensure_identity_is_free(session, organization_id, name, clean.get(name))
    contact = Contact(organization_id=organization_id, **clean)
    if opted_out:
        contact.opted_out_at, contact.opt_out_reason = utcnow(), OPT_OUT_REASON_MANUAL
    session.add(contact)
    _flush_or_conflict(session, contact)
    added = _set_tags(session, organization_id, contact.id, tags)
    enrollment.on_contacts_created(session, organization_id, [contact.id])
    notify_tags_added(session, organization_id, added)
    return contact


def update_contact(
    session: Session, organization_id: int, contact_id: int, changes: dict
) -> Contact:
    """Change the named fields only. `tags` replaces the contact's tags (new ones fire
    on_tags_added), `attributes` replaces its attributes, `opted_out` opts out / back in."""
    contact = get_scoped(session, Contact, organization_id, contact_id)
    clean = _clean(session, organization_id, changes)
    _ensure_reachable(
        clean.get("phone", contact.phone),
        clean.get("whatsapp_user_id", contact.whatsapp_user_id),
    )
    for name in IDENTITIES:
        if name in clean and clean[name] != getattr(contact, name):
            _ensure_identity_is_free(session, organization_id, name, clean[name])
    for name in (*IDENTITIES, "first_name", "last_name", "timezone", "attributes"):
        if name in clean:
            setattr(contact, name, clean[name])
    _flush_or_conflict(session, contact)
    if "opted_out" in clean:
        _set_opted_out(session, contact, clean["opted_out"])
    if "tags" in clean:
        notify_tags_added(
            session, organization_id, _set_tags(session, organization_id, contact.id, clean["tags"])
        )
    return contact


def _set_opted_out(session: Session, contact: Contact, opted_out: bool) -> None:
    if opted_out and contact.opted_out_at is None:
        # As a STOP keyword does: every live enrollment ends now, so nothing more is sent.
        engagement.opt_out_contact(session, contact.id, OPT_OUT_REASON_MANUAL, utcnow())
        session.refresh(contact)
    elif not opted_out:
        contact.opted_out_at, contact.opt_out_reason = None, None
        session.flush()


def delete_contact(session: Session, organization_id: int, contact_id: int) -> None:
    """Delete the contact; its tags, enrollments and message logs go with it (ON DELETE)."""
    contact = get_scoped(session, Contact, organization_id, contact_id)
    session.delete(contact)
    session.flush()


def _set_tags(
    session: Session, organization_id: int, contact_id: int, names: list[str]
) -> dict[int, list[int]]:
    tag_ids = ensure_tags(session, organization_id, names)
    detach_other_tags(session, organization_id, contact_id, tag_ids.values())
    return attach_tags(session, organization_id, [(contact_id, t) for t in tag_ids.values()])


def notify_tags_added(session: Session, organization_id: int, added: dict[int, list[int]]) -> None:
    """One on_tags_added call per tag, with only the contacts that newly got it."""
    for tag_id, contact_ids in sorted(added.items()):
        if contact_ids:
            enrollment.on_tags_added(session, organization_id, tag_id, contact_ids)


def _ensure_reachable(phone: str | None, user_id: str | None) -> None:
    if not phone and not user_id:
        raise ValidationError(NO_IDENTITY, {"phone": NO_IDENTITY, "whatsapp_user_id": NO_IDENTITY})


def _ensure_identity_is_free(
    session: Session, organization_id: int, name: str, value: str | None
) -> None:
    if value is None:
        return
    column = getattr(Contact, name)
    existing = session.scalar(
        select(Contact.id).where(Contact.organization_id == organization_id, column == value)
    )
    if existing is not None:
        raise _duplicate(name, value, existing)


def _flush_or_conflict(session: Session, contact: Contact) -> None:
    # Two requests can pass the check above at once; the unique index decides (the caller
    # rolls back, as after any DripError).
    try:
        session.flush()
    except IntegrityError:
        if contact.phone:
            raise _duplicate("phone", contact.phone, None) from None
        raise _duplicate("whatsapp_user_id", contact.whatsapp_user_id, None) from None


def _duplicate(name: str, value: str | None, contact_id: int | None) -> Conflict:
    what = "phone" if name == "phone" else "WhatsApp user id"
    message = f"A contact with {what} {value} already exists."
    return Conflict(message, {"fields": {name: message}, "contactId": contact_id})
