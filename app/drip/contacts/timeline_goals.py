"""The timeline's goal sources (issue 19): events posted through the API (drip_events) and the
goal conversions they made (drip_conversions), with their words."""

from __future__ import annotations

from decimal import Decimal, InvalidOperation

from sqlalchemy import String, case, cast, literal_column, select

from app.drip.contacts.timeline_columns import entry_columns as _columns
from app.models import DripConversion, DripEvent


def events(organization_id: int, contact_id: int):
    """Events the organization's systems posted (POST /api/events); the value travels as
    text in the status column (one type per column of the UNION), read back in _event_words."""
    return select(
        *_columns(
            DripEvent.occurred_at,
            "event",
            text=DripEvent.name,
            status=cast(DripEvent.value, String),
            code=DripEvent.currency,
            ref=DripEvent.id,
        )
    ).where(DripEvent.organization_id == organization_id, DripEvent.contact_id == contact_id)


def conversions(organization_id: int, contact_id: int):
    """Goal conversions: the campaign, its goal's event, the step credited (the last message
    sent before the event; none for a holdout or an event before any message)."""
    return (
        select(
            *_columns(
                DripConversion.occurred_at,
                "converted",
                campaign_id=DripConversion.campaign_id,
                step_id=DripConversion.attributed_step_id,
                text=DripEvent.name,
                status=case(
                    (DripConversion.holdout_id.is_not(None), literal_column("'holdout'", String)),
                    else_=literal_column("'messaged'", String),
                ),
                ref=DripConversion.id,
            )
        )
        .join(DripEvent, DripEvent.id == DripConversion.event_id)
        .where(
            DripConversion.organization_id == organization_id,
            DripConversion.contact_id == contact_id,
        )
    )


def event_words(row, details: dict) -> str:
    value = _amount(row.status)
    details |= {"eventId": row.ref, "name": row.text, "value": value, "currency": row.code}
    if value is None:
        return row.text
    return f"{row.text}: {value} {row.code}" if row.code else f"{row.text}: {value}"


def _amount(text: str | None) -> str | None:
    """The event's value as sent, without the column's trailing zeros (12.5000 -> 12.50)."""
    if text is None:
        return None
    try:
        value = Decimal(text)
    except InvalidOperation:
        return text
    return f"{value:.2f}" if value == value.quantize(Decimal("0.01")) else f"{value.normalize():f}"


def converted_words(row, details: dict) -> str:
    holdout = row.status == "holdout"
    details |= {"conversionId": row.ref, "event": row.text, "holdout": holdout}
    if holdout:
        return f"Reached the goal ({row.text}) while in the holdout: never messaged"
    if row.step_id is not None:
        return f"Reached the goal ({row.text}), credited to the last message sent before it"
    return f"Reached the goal ({row.text}) before any message was sent"
