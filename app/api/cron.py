"""POST /api/cron/drip-processor: one processing pass now, for an outside scheduler (a cron
job, a platform's scheduled request) holding CRON_SECRET.
"""

from __future__ import annotations

from dataclasses import fields

from flask import Blueprint, current_app, request

from app import tasks
from app.api.openapi import data_response, error_responses
from app.api.respond import ok
from app.auth import public
from app.crypto import constant_time_equals, sha256_hex
from app.envelope import camel_case, error_response
from app.tasks import PassStats

bp = Blueprint("cron", __name__, url_prefix="/api/cron")


def _has_cron_secret() -> bool:
    secret = current_app.config.get("CRON_SECRET")
    scheme, _, token = request.headers.get("Authorization", "").partition(" ")
    if not secret or scheme.lower() != "bearer":
        return False
    # Equal-length digests, compared in constant time: the time taken tells nothing about the
    # secret, not even its length.
    return constant_time_equals(sha256_hex(token.strip()), sha256_hex(secret))


@bp.post("/drip-processor")
@public  # its own authentication: the Bearer CRON_SECRET, not an API key
def drip_processor():
    if not _has_cron_secret():
        return error_response(
            401, "unauthorized", "Send 'Authorization: Bearer <CRON_SECRET>' (set CRON_SECRET)."
        )
    stats = tasks.process_due()
    return ok({camel_case(name): value for name, value in stats.items()})


def _json_type(annotation) -> str:
    # Annotations are strings here (from __future__ import annotations).
    return "boolean" if annotation in ("bool", bool) else "integer"


PASS_SCHEMA = {
    "type": "object",
    "description": "what the pass did; skipped (with a reason) when a pass was already running",
    "properties": {
        **{camel_case(f.name): {"type": _json_type(f.type)} for f in fields(PassStats)},
        "skipped": {"type": "boolean"},
        "reason": {"type": "string"},
    },
    "additionalProperties": {"type": "integer"},
}
OPENAPI = {
    "/api/cron/drip-processor": {
        "post": {
            "summary": "Run one processing pass now (Bearer CRON_SECRET, not an API key)",
            "description": "The Bearer token is the server's CRON_SECRET. Answers 401 when it"
            " is wrong or missing, or when no CRON_SECRET is configured.",
            "responses": {**data_response(PASS_SCHEMA), **error_responses(401)},
        }
    }
}
