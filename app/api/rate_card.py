"""JSON API: the organization's rate card (what a delivered message costs by market, category
and date). Everyone reads it; admins replace it with CSV (plain or Meta's own rate-card file)
or JSON rows."""

from __future__ import annotations

from flask import Blueprint, request

from app.api.openapi import data_response, error_responses
from app.api.respond import BadJson, json_body, ok, text_arg
from app.auth import current_actor, current_org_id
from app.drip import pricing
from app.drip.limits import JSON_BODY_MAX
from app.extensions import db
from app.roles import admin_only

bp = Blueprint("api_rate_card", __name__, url_prefix="/api/rate-card")

__all__ = ["OPENAPI", "bp", "serialize_card"]


def serialize_card(card: pricing.RateCard) -> dict:
    rows = sorted(card.rows, key=lambda r: (r.market, r.category, r.effective_from))
    return {
        "source": card.source,
        "sample": card.sample,
        "note": card.note or None,
        "effectiveDate": card.effective_date,
        "currencies": card.currencies,
        "rows": [row.as_dict() for row in rows],
    }


@bp.get("")
def get_rate_card():
    return ok(serialize_card(pricing.rate_card(db.session, current_org_id())))


@bp.put("")
@admin_only("change the rate card")
def put_rate_card():
    org_id = current_org_id()
    pricing.replace_rate_card(db.session, org_id, _rows(), current_actor())
    db.session.commit()
    return ok(serialize_card(pricing.rate_card(db.session, org_id)))


def _rows():
    """CSV text (parsed into raw rows) or the JSON body's rows."""
    if request.mimetype in ("text/csv", "text/plain"):
        if request.content_length is not None and request.content_length > JSON_BODY_MAX:
            raise BadJson("A rate card CSV is at most 1 MiB.")
        try:
            text = request.get_data(cache=True).decode("utf-8-sig")
        except UnicodeDecodeError as error:
            raise BadJson("The CSV must be UTF-8 text.") from error
        return pricing.parse_csv(
            text, currency=text_arg("currency"), effective_from=text_arg("effectiveFrom")
        )
    body = json_body()
    rows = body.get("rows")
    if not isinstance(rows, list):
        raise BadJson('The body must be {"rows": [...]} (or a CSV with Content-Type text/csv).')
    return rows


ROW = {
    "type": "object",
    "required": ["market", "category", "price", "currency", "effectiveFrom"],
    "properties": {
        "market": {"type": "string", "maxLength": 64, "example": "United Kingdom"},
        "category": {"type": "string", "enum": list(pricing.CATEGORIES)},
        "price": {"type": "number", "minimum": 0, "description": "per delivered message"},
        "currency": {"type": "string", "pattern": "^[A-Z]{3}$", "example": "USD"},
        "effectiveFrom": {"type": "string", "format": "date"},
    },
}
CARD = {
    "type": "object",
    "properties": {
        "source": {"type": "string", "enum": [pricing.OWN_SOURCE, pricing.DEFAULT_SOURCE]},
        "sample": {"type": "boolean", "description": "the default card's figures are a sample"},
        "note": {"type": "string", "nullable": True, "description": "where the figures come from"},
        "effectiveDate": {"type": "string", "format": "date", "nullable": True},
        "currencies": {"type": "array", "items": {"type": "string"}},
        "rows": {"type": "array", "items": ROW},
    },
}
_QUERY = [
    {
        "name": "currency",
        "in": "query",
        "description": "CSV in Meta's form without a Currency column: its currency",
        "schema": {"type": "string"},
    },
    {
        "name": "effectiveFrom",
        "in": "query",
        "description": "CSV in Meta's form without a date column: the date it takes effect",
        "schema": {"type": "string", "format": "date"},
    },
]
OPENAPI = {
    "/api/rate-card": {
        "get": {
            "summary": "The organization's rate card, or the default card shipped with Drip",
            "description": "Costs of delivered messages come from this card, by the recipient's"
            " market (Meta's markets and regions, from the phone number's country), the"
            " category and the date (the row with the latest effectiveFrom on or before it).",
            "responses": {**data_response(CARD), **error_responses(401)},
        },
        "put": {
            "summary": "Replace the organization's rate card (admins)",
            "description": "A CSV (Content-Type text/csv) with the columns market, category,"
            " price, currency, effective_from, or Meta's rate-card CSV (Market, Currency,"
            " Marketing, Utility, Authentication, Authentication-International, Service; title"
            " lines above the header are skipped), or JSON {rows: [...]}. 422 names the row and"
            " the column of the first error; nothing is changed then.",
            "parameters": _QUERY,
            "requestBody": {
                "required": True,
                "content": {
                    "application/json": {
                        "schema": {
                            "type": "object",
                            "required": ["rows"],
                            "properties": {"rows": {"type": "array", "items": ROW}},
                        }
                    },
                    "text/csv": {"schema": {"type": "string"}},
                },
            },
            "responses": {**data_response(CARD), **error_responses(400, 401, 403, 422)},
        },
    }
}
