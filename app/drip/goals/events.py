"""Events a contact did, posted by the organization's systems (POST /api/events): validated,
recorded once per sender's id, and turned into the goal conversions they make
(app.drip.goals.conversions)."""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal, InvalidOperation

from sqlalchemy import select
from sqlalchemy.orm import Session

from app.drip import contacts
from app.drip.errors import NotFound, ValidationError
from app.drip.goals.conversions import convert
from app.drip.sql import insert_once
from app.models import Contact, DripEvent, Organization

NAME_MAX = 100
ID_MAX = 200
# A value's bound: Numeric(14, 4) holds 10 digits before the point.
VALUE_MAX = Decimal("9999999999")
# Clocks drift: an event a little in the future is taken, one days ahead is a mistake.
FUTURE_SLACK = timedelta(hours=1)


@dataclass
class RecordedEvent:
    event: DripEvent
    created: bool  # False: the same id was posted before, and this is that event
    conversions: int  # goal conversions this event made (0 for a repeat)


def record_event(
    session: Session,
    organization_id: int,
    *,
    name: object,
    occurred_at: datetime | None,
    now: datetime,
    contact_id: object = None,
    phone: object = None,
    value: object = None,
    currency: object = None,
    external_id: object = None,
) -> RecordedEvent:
    """Record an event once per `external_id` (a repeat returns the first, changes nothing)
    and the conversions it makes. Raises ValidationError naming the field, NotFound for a
    contact that is not the organization's."""
    errors: dict[str, str] = {}
    name = _name(name, errors)
    amount = _value(value, errors)
    currency = _currency(currency, amount, errors)
    external_id = _external_id(external_id, errors)
    at = occurred_at or now
    if at > now + FUTURE_SLACK:
        errors["occurredAt"] = "The event's time is in the future."
    if errors:
        raise ValidationError("The event is not valid: " + " ".join(errors.values()), errors)
    if external_id is not None:
        existing = _by_external_id(session, organization_id, external_id)
        if existing is not None:
            return RecordedEvent(existing, False, 0)
    contact = _contact(session, organization_id, contact_id, phone)
    values = {
        "organization_id": organization_id,
        "contact_id": contact.id,
        "name": name,
        "value": amount,
        "currency": currency,
        "occurred_at": at,
        "external_id": external_id,
        "received_at": now,
    }
    if external_id is None:
        event = DripEvent(**values)
        session.add(event)
        session.flush()
    else:
        # ON CONFLICT DO NOTHING: two posts of one id at once record it once, and neither
        # aborts its transaction.
        new_id = insert_once(session, DripEvent, values, ("organization_id", "external_id"))
        if new_id is None:
            return RecordedEvent(_by_external_id(session, organization_id, external_id), False, 0)
        event = session.get(DripEvent, new_id)
    return RecordedEvent(event, True, convert(session, event, now))


def _by_external_id(session: Session, organization_id: int, external_id: str):
    return session.scalar(
        select(DripEvent).where(
            DripEvent.organization_id == organization_id, DripEvent.external_id == external_id
        )
    )


def _contact(session: Session, organization_id: int, contact_id: object, phone: object):
    if (contact_id is None) == (phone is None or phone == ""):
        raise ValidationError(
            "Give the contact by contactId or by phone (one of them).",
            {"contactId": "contactId or phone, one of them."},
        )
    if contact_id is not None:
        if not isinstance(contact_id, int) or isinstance(contact_id, bool) or contact_id < 1:
            raise ValidationError(
                "contactId must be a contact's id.", {"contactId": "A whole number from 1."}
            )
        where = Contact.id == contact_id
        label = f"Contact {contact_id}"
    else:
        if not isinstance(phone, str) or len(phone) > 64:
            raise ValidationError("phone must be text.", {"phone": "A phone number as text."})
        region = session.scalar(
            select(Organization.default_region).where(Organization.id == organization_id)
        )
        normalized = contacts.phone_field(phone, region)
        where = Contact.phone == normalized
        label = f"No contact has the phone {normalized}; contact"
    contact = session.scalar(
        select(Contact).where(Contact.organization_id == organization_id, where)
    )
    if contact is None:
        raise NotFound(f"{label} does not exist.")
    return contact


def _name(name: object, errors: dict) -> str:
    if not isinstance(name, str) or not name.strip():
        errors["name"] = "name is required (e.g. purchase)."
        return ""
    name = name.strip()
    if len(name) > NAME_MAX:
        errors["name"] = f"name is at most {NAME_MAX} characters."
    return name


def _value(value: object, errors: dict) -> Decimal | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float | str):
        errors["value"] = "value must be a number."
        return None
    try:
        amount = Decimal(str(value))
    except InvalidOperation:
        errors["value"] = "value must be a number."
        return None
    if not amount.is_finite() or (isinstance(value, float) and not math.isfinite(value)):
        errors["value"] = "value must be a finite number."
        return None
    if abs(amount) > VALUE_MAX:
        errors["value"] = f"value is at most {VALUE_MAX:,} in size."
        return None
    return amount.quantize(Decimal("0.0001"))


def _currency(currency: object, amount: Decimal | None, errors: dict) -> str | None:
    if currency is None or currency == "":
        if amount is not None:
            errors["currency"] = "A value needs its currency (three letters, e.g. EUR)."
        return None
    if not isinstance(currency, str) or len(currency) != 3 or not currency.isalpha():
        errors["currency"] = "currency is three letters (ISO 4217, e.g. EUR)."
        return None
    return currency.upper()


def _external_id(external_id: object, errors: dict) -> str | None:
    if external_id is None:
        return None
    if isinstance(external_id, bool) or not isinstance(external_id, str | int):
        errors["id"] = "id is text: your system's id of the event."
        return None
    text = str(external_id).strip()
    if not text or len(text) > ID_MAX:
        errors["id"] = f"id is 1 to {ID_MAX} characters."
        return None
    return text
