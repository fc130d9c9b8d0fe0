"""API keys over the JSON API: list, create (the key is in this answer only), revoke. An
admin's, and created by a signed-in admin only: an API key does not make keys."""

from __future__ import annotations

from flask import Blueprint
from flask_login import current_user

from app.api.openapi import (
    DATETIME,
    NULLABLE_DATETIME,
    data_response,
    error_responses,
    path_id,
    request_body,
    trimmed_text,
)
from app.api.respond import json_body, ok
from app.auth import current_org_id
from app.drip import accounts
from app.drip.errors import ValidationError
from app.extensions import db
from app.models import ApiKey
from app.roles import admin_only

bp = Blueprint("api_keys", __name__, url_prefix="/api/api-keys")


def serialize_key(key: ApiKey) -> dict:
    return {
        "id": key.id,
        "name": key.name,
        "prefix": key.prefix,
        "createdAt": key.created_at,
        "lastUsedAt": key.last_used_at,
        "revokedAt": key.revoked_at,
    }


@bp.get("")
@admin_only("manage API keys")
def list_keys():
    return ok([serialize_key(k) for k in accounts.list_api_keys(db.session, current_org_id())])


@bp.post("")
@admin_only("manage API keys", api_keys=False)
def create_key():
    name = json_body().get("name", "")
    if not isinstance(name, str):
        raise ValidationError("name must be a string.", {"name": "A string."})
    # Signed in (@admin_only refused keys): the new key acts with this admin's role.
    key, token = accounts.create_api_key(
        db.session, current_org_id(), name, user_id=current_user.id
    )
    db.session.commit()
    return ok({**serialize_key(key), "key": token}, status=201)


@bp.delete("/<int:key_id>")
@admin_only("manage API keys")
def revoke_key(key_id: int):
    key = accounts.revoke_api_key(db.session, current_org_id(), key_id)
    db.session.commit()
    return ok(serialize_key(key))


API_KEY_SCHEMA = {
    "type": "object",
    "properties": {
        "id": {"type": "integer"},
        "name": {"type": "string"},
        "prefix": {"type": "string"},
        "createdAt": DATETIME,
        "lastUsedAt": NULLABLE_DATETIME,
        "revokedAt": NULLABLE_DATETIME,
        "key": {"type": "string", "description": "only in the answer that creates the key"},
    },
}
OPENAPI = {
    "/api/api-keys": {
        "get": {
            "summary": "List the organization's API keys (never the keys themselves)",
            "responses": {
                **data_response({"type": "array", "items": API_KEY_SCHEMA}),
                **error_responses(401, 403),
            },
        },
        "post": {
            "summary": "Create an API key; the answer is the only time the key is shown",
            "description": "Admins only, signed in: an API key cannot create keys (403).",
            "requestBody": request_body(
                {
                    "type": "object",
                    "properties": {"name": trimmed_text(120)},
                    "example": {"name": "Zapier"},
                }
            ),
            "responses": {
                **data_response(API_KEY_SCHEMA, 201),
                **error_responses(400, 401, 403, 422),
            },
        },
    },
    "/api/api-keys/{keyId}": {
        "delete": {
            "summary": "Revoke an API key",
            "parameters": [path_id("keyId")],
            "responses": {**data_response(API_KEY_SCHEMA), **error_responses(401, 403, 404)},
        }
    },
}
