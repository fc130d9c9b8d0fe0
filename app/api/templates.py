"""JSON API: the WhatsApp template catalog (list, sync from Meta now). Members may do both:
templates are campaign work."""

from __future__ import annotations

from flask import Blueprint

from app.api.openapi import (
    DATETIME,
    PAGING_PARAMETERS,
    data_response,
    error_responses,
    list_response,
)
from app.api.respond import ok, paged, paging_args, text_arg
from app.auth import current_org_id
from app.drip import templates
from app.extensions import db
from app.models import WhatsAppTemplate, utcnow
from app.tasks import sync_catalog

bp = Blueprint("api_templates", __name__, url_prefix="/api/templates")

__all__ = ["OPENAPI", "bp", "serialize_template"]


def serialize_template(row: WhatsAppTemplate) -> dict:
    return {
        "id": row.id,
        "name": row.name,
        "language": row.language,
        "category": row.category,
        "status": row.status,
        "qualityScore": row.quality_score,
        "parameterFormat": row.parameter_format,
        "parameters": list(row.parameters or []),
        "bodyText": row.body_text,
        "syncedAt": row.synced_at,
    }


@bp.get("")
def list_templates():
    page, per_page = paging_args()
    result = templates.list_templates(
        db.session,
        current_org_id(),
        status=text_arg("status"),
        category=text_arg("category"),
        q=text_arg("q"),
        page=page,
        per_page=per_page,
    )
    items = [serialize_template(row) for row in result.templates]
    return paged(items, result.total, page, per_page)


@bp.post("/sync")
def sync():
    counts = sync_catalog(db.session, current_org_id(), utcnow())
    db.session.commit()
    return ok(counts.as_dict())


def _query(name: str, description: str) -> dict:
    return {"name": name, "in": "query", "description": description, "schema": {"type": "string"}}


TEMPLATE = {
    "type": "object",
    "properties": {
        "id": {"type": "integer"},
        "name": {"type": "string"},
        "language": {"type": "string", "example": "en_US"},
        "category": {"type": "string", "enum": ["MARKETING", "UTILITY", "AUTHENTICATION"]},
        "status": {"type": "string", "description": "Meta's: APPROVED, PENDING, PAUSED, ..."},
        "qualityScore": {"type": "string", "nullable": True, "description": "GREEN, YELLOW..."},
        "parameterFormat": {"type": "string", "enum": ["positional", "named"]},
        "parameters": {
            "type": "array",
            "items": {"type": "string"},
            "description": '"1", "2", ... (positional) or the names (named)',
        },
        "bodyText": {"type": "string", "nullable": True},
        "syncedAt": DATETIME,
    },
}
SYNC_COUNTS = {
    "type": "object",
    "properties": {name: {"type": "integer"} for name in ("added", "updated", "removed", "total")},
}
OPENAPI = {
    "/api/templates": {
        "get": {
            "summary": "The organization's WhatsApp templates (not those deleted at Meta), by name",
            "parameters": [
                _query("status", "only this status (APPROVED, PAUSED, ...), any case"),
                _query("category", "only this category (MARKETING, UTILITY, AUTHENTICATION)"),
                _query("q", "part of the template's name"),
                *PAGING_PARAMETERS,
            ],
            "responses": {**list_response(TEMPLATE), **error_responses(401, 422)},
        }
    },
    "/api/templates/sync": {
        "post": {
            "summary": "Sync the templates from Meta now",
            "description": "Organizations without a WhatsApp account (sandbox) get the built-in"
            " demo catalog. 422 when the account has no WhatsApp Business Account id; 502 when"
            " Meta did not list the templates (nothing changed). Templates no longer listed are"
            " marked deleted, not lost. 409 when another sync of the organization ran at the same"
            " time.",
            "responses": {**data_response(SYNC_COUNTS), **error_responses(401, 409, 422, 502)},
        }
    },
}
