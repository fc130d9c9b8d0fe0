"""Organization settings over the JSON API: GET for everyone in the organization, PATCH for
admins (the time zone, opt-out keywords, the frequency cap, the messaging limit, the retries
of Meta's per-user marketing cap). The same domain functions as the settings page."""

from __future__ import annotations

from flask import Blueprint
from sqlalchemy import select

from app.api.openapi import (
    NULLABLE_INTEGER,
    data_response,
    error_responses,
    request_body,
)
from app.api.respond import BadJson, json_body, ok
from app.auth import current_actor, current_org_id
from app.drip import accounts, sending
from app.drip.errors import ValidationError
from app.drip.limits import OPT_OUT_KEYWORDS_MAX
from app.extensions import db
from app.models import Organization, WhatsAppAccount
from app.roles import admin_only

bp = Blueprint("api_settings", __name__, url_prefix="/api/settings")

# The domain's field names as the API's.
FIELDS = {
    "timezone": "timezone",
    "opt_out_keywords": "optOutKeywords",
    "default_region": "timezone",
    "messaging_limit": "messagingLimit",
    "frequency_cap_messages": "frequencyCap.messages",
    "frequency_cap_days": "frequencyCap.days",
    "marketing_cap_retries": "marketingCapRetries",
}


def serialize_settings(org: Organization, account: WhatsAppAccount | None) -> dict:
    cap = None
    if org.frequency_cap_messages is not None:
        cap = {"messages": org.frequency_cap_messages, "days": org.frequency_cap_days}
    return {
        "timezone": org.timezone,
        "optOutKeywords": list(org.opt_out_keywords or []),
        "frequencyCap": cap,
        "messagingLimit": account.messaging_limit if account else None,
        "messagingTier": account.messaging_tier if account else None,
        "marketingCapRetries": org.marketing_cap_retries,
    }


def _loaded():
    org = db.session.get(Organization, current_org_id())
    account = db.session.scalar(
        select(WhatsAppAccount).where(WhatsAppAccount.organization_id == org.id)
    )
    return org, account


@bp.get("")
def get_settings():
    return ok(serialize_settings(*_loaded()))


@bp.patch("")
@admin_only("change the organization's settings")
def change_settings():
    body = json_body()
    org, _ = _loaded()
    limits = {}
    if "messagingLimit" in body:
        limits["messaging_limit"] = body["messagingLimit"]
    if "frequencyCap" in body:
        cap = body["frequencyCap"]
        if cap is not None and not isinstance(cap, dict):
            raise BadJson("frequencyCap must be {messages, days} or null.", {"frequencyCap": "?"})
        limits["frequency_cap"] = None if cap is None else (cap.get("messages"), cap.get("days"))
    if "marketingCapRetries" in body:
        limits["marketing_cap_retries"] = body["marketingCapRetries"]
    if "optOutKeywords" in body and not isinstance(body["optOutKeywords"], list):
        # None would mean "leave them" to the domain: here it is a client's mistake.
        raise ValidationError("optOutKeywords is a list of texts.", {"optOutKeywords": "A list."})
    try:
        if "timezone" in body or "optOutKeywords" in body:
            accounts.update_organization(
                db.session,
                org,
                default_region=org.default_region or "US",
                timezone=body.get("timezone", org.timezone),
                opt_out_keywords=body.get("optOutKeywords"),
            )
        if limits:
            sending.update_sending_limits(db.session, current_actor(), org.id, **limits)
    except ValidationError as exc:
        db.session.rollback()
        fields = {FIELDS.get(name, name): text for name, text in exc.fields.items()}
        raise ValidationError(exc.message, fields) from None
    db.session.commit()
    return ok(serialize_settings(*_loaded()))


SETTINGS_SCHEMA = {
    "type": "object",
    "properties": {
        "timezone": {"type": "string", "example": "Europe/London"},
        "optOutKeywords": {
            "type": "array",
            "items": {"type": "string"},
            "maxItems": OPT_OUT_KEYWORDS_MAX,
        },
        "frequencyCap": {
            "type": "object",
            "nullable": True,
            "description": "at most `messages` marketing messages per contact in `days` days "
            "across campaigns (exempt campaigns are neither held nor counted); null: no cap",
            "properties": {
                "messages": {"type": "integer", "minimum": 1, "maximum": 1000},
                "days": {"type": "integer", "minimum": 1, "maximum": 365},
            },
        },
        "messagingLimit": {
            **NULLABLE_INTEGER,
            "minimum": 1,
            "description": "unique people reached outside their 24-hour window in any moving 24 "
            "hours (Meta: 250, 2000, 10000, 100000); null: no limit. Needs a WhatsApp account",
        },
        "marketingCapRetries": {"type": "integer", "minimum": 0, "maximum": 10},
    },
}
OUTPUT = {
    **SETTINGS_SCHEMA,
    "properties": {
        **SETTINGS_SCHEMA["properties"],
        "messagingTier": {
            "type": "string",
            "nullable": True,
            "description": "Meta's label of the tier",
        },
    },
}
OPENAPI = {
    "/api/settings": {
        "get": {
            "summary": "The organization's settings",
            "responses": {**data_response(OUTPUT), **error_responses(401)},
        },
        "patch": {
            "summary": "Change the organization's settings (admins only); only the given ones",
            "requestBody": request_body(
                {**SETTINGS_SCHEMA, "example": {"frequencyCap": {"messages": 2, "days": 7}}}
            ),
            "responses": {
                **data_response(OUTPUT),
                **error_responses(400, 401, 403, 422),
            },
        },
    }
}
