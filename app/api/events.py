"""JSON API: events a contact did (a purchase, a sign-up), posted by the organization's own
systems. Idempotent per organization by the event's `id`: a repeat answers 200 with the first
event, a new one 201. An event named as a campaign's goal converts the contact's enrollments
(app.drip.goals)."""

from __future__ import annotations

from datetime import datetime

from flask import Blueprint

from app.api.openapi import data_response, error_responses
from app.api.respond import json_body, ok
from app.auth import current_org_id
from app.drip import goals
from app.drip.errors import ValidationError
from app.extensions import db
from app.models import DripEvent, utcnow

bp = Blueprint("api_events", __name__, url_prefix="/api/events")

__all__ = ["OPENAPI", "bp", "serialize_event"]


def serialize_event(event: DripEvent) -> dict:
    return {
        "id": event.external_id,
        "eventId": event.id,
        "contactId": event.contact_id,
        "name": event.name,
        "value": float(event.value) if event.value is not None else None,
        "currency": event.currency,
        "occurredAt": event.occurred_at,
        "receivedAt": event.received_at,
    }


@bp.post("")
def post_event():
    body = json_body()
    now = utcnow()
    recorded = goals.record_event(
        db.session,
        current_org_id(),
        name=body.get("name"),
        occurred_at=_time(body.get("occurredAt"), now),
        now=now,
        contact_id=body.get("contactId"),
        phone=body.get("phone"),
        value=body.get("value"),
        currency=body.get("currency"),
        external_id=body.get("id"),
    )
    db.session.commit()
    data = {**serialize_event(recorded.event), "conversions": recorded.conversions}
    return ok(data, 201 if recorded.created else 200)


def _time(raw: object, now: datetime) -> datetime | None:
    if raw is None:
        return None
    message = "occurredAt is an ISO 8601 time with its zone, e.g. 2026-12-06T10:00:00Z."
    if not isinstance(raw, str) or len(raw) > 40:
        raise ValidationError(message, {"occurredAt": message})
    try:
        value = datetime.fromisoformat(raw.replace("Z", "+00:00"))
    except ValueError:
        raise ValidationError(message, {"occurredAt": message}) from None
    if value.tzinfo is None:
        raise ValidationError(message, {"occurredAt": message})
    return value.astimezone(now.tzinfo)


EVENT = {
    "type": "object",
    "properties": {
        "id": {"type": "string", "nullable": True, "description": "your id of the event"},
        "eventId": {"type": "integer", "description": "Drip's id of the event"},
        "contactId": {"type": "integer"},
        "name": {"type": "string"},
        "value": {"type": "number", "nullable": True},
        "currency": {"type": "string", "nullable": True},
        "occurredAt": {"type": "string", "format": "date-time"},
        "receivedAt": {"type": "string", "format": "date-time"},
        "conversions": {
            "type": "integer",
            "description": "goal conversions this event made (0 for a repeat)",
        },
    },
}
OPENAPI = {
    "/api/events": {
        "post": {
            "summary": "Record an event a contact did (a conversion where it is a goal)",
            "description": "Idempotent per organization by `id`: posting the same id again"
            " answers 200 with the first event and changes nothing; a new event answers 201."
            " The contact is given by contactId or by phone. An event named as a campaign's"
            " goal, within the goal's days of the contact enrolling, converts that enrollment"
            " (the earliest such event counts, whatever the order events arrive in) and, with"
            " exitOnGoal, ends it with the stop reason `converted`.",
            "requestBody": {
                "required": True,
                "content": {
                    "application/json": {
                        "schema": {
                            "type": "object",
                            "required": ["name"],
                            "properties": {
                                "id": {"type": "string", "maxLength": goals.ID_MAX},
                                "contactId": {"type": "integer", "minimum": 1},
                                "phone": {"type": "string", "maxLength": 64},
                                "name": {"type": "string", "maxLength": goals.NAME_MAX},
                                "value": {"type": "number"},
                                "currency": {"type": "string", "pattern": "^[A-Za-z]{3}$"},
                                "occurredAt": {
                                    "type": "string",
                                    "format": "date-time",
                                    "description": "default: now; at most an hour ahead",
                                },
                            },
                        }
                    }
                },
            },
            "responses": {
                **data_response(EVENT, 201, "a new event"),
                **data_response(EVENT, 200, "the same id was posted before: the first event"),
                **error_responses(400, 401, 404, 422),
            },
        }
    }
}
