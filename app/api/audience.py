"""JSON API: the pre-launch review of an enrollment (app.drip.enrollment.review_audience): how
many contacts a tag, a search or chosen ids would enroll, who would be skipped and why, and
when the first step would reach them, per time zone. Nothing is enrolled."""

from __future__ import annotations

from zoneinfo import ZoneInfo

from flask import Blueprint, request

from app.api.campaigns import forecast_ids
from app.api.openapi import (
    CAMPAIGN_ID,
    NULLABLE_INTEGER,
    NULLABLE_STRING,
    UTC_DATETIME,
    data_response,
    operation,
)
from app.api.respond import ok, text_arg
from app.auth import current_org_id
from app.drip import enrollment, limits
from app.drip.scope import get_scoped
from app.extensions import db
from app.models import DripCampaign

bp = Blueprint("api_audience", __name__, url_prefix="/api")

__all__ = ["OPENAPI", "bp", "serialize_review"]


def review_target() -> dict:
    """review_audience()'s keywords from ?tag=, ?q= with ?searchTag=, ?contactIds=. An empty
    parameter is one not given (a form sends them all); which is given is checked by the
    domain, as enrolling checks it (422)."""
    target: dict = {}
    tag, q, search_tag = (text_arg(name) or None for name in ("tag", "q", "searchTag"))
    if tag is not None:
        target["tag"] = tag
    if q is not None or search_tag is not None:
        target["search"] = {"q": q, "tag": search_tag}
    ids = forecast_ids(request.args.getlist("contactIds"))
    if ids is not None:
        target["contact_ids"] = ids
    return target


def serialize_review(review: enrollment.AudienceReview) -> dict:
    step = review.step
    return {
        "matching": review.matching,
        "wouldEnroll": review.would_enroll,
        "skipped": review.skipped,
        "skippedText": {r: enrollment.SKIP_REASON_TEXT.get(r, r) for r in review.skipped},
        "byTimezone": [_zone(row) for row in review.by_timezone],
        "tag": review.tag,
        "tagExists": review.tag_exists,
        "suggestions": review.suggestions,
        "message": review.message,
        "sampleContactId": review.sample_contact_id,
        "organizationTimezone": review.organization_zone,
        "firstStep": {
            "stepId": step.id,
            "position": step.position,
            "name": step.name,
            "messageType": step.message_type,
            "delayAmount": step.delay_amount,
            "delayUnit": step.delay_unit,
        },
    }


def _zone(row: enrollment.ZoneRow) -> dict:
    local = row.first_send_at.astimezone(ZoneInfo(row.timezone)) if row.timezone else None
    return {
        "timezone": row.timezone,
        "contacts": row.contacts,
        "firstSendAt": row.first_send_at,
        "firstSendAtLocal": local.isoformat() if local else None,
        "lastSendAt": row.last_send_at,
        "zones": row.zones,
    }


@bp.get("/drip-campaigns/<int:id>/audience")
def audience(id: int):
    campaign = get_scoped(db.session, DripCampaign, current_org_id(), id)
    review = enrollment.review_audience(db.session, campaign, **review_target())
    return ok(serialize_review(review))


ZONE_ROW = {
    "type": "object",
    "properties": {
        "timezone": {
            **NULLABLE_STRING,
            "description": "an IANA zone (contacts without a known zone are counted in the "
            "organization's); null: the smaller zones, summed",
        },
        "contacts": {"type": "integer"},
        "firstSendAt": {
            **UTC_DATETIME,
            "description": "when the first step would go out to these contacts if enrolled "
            "now (the first step's delay, then the campaign's send window); for the summed "
            "zones the earliest",
        },
        "firstSendAtLocal": {
            **NULLABLE_STRING,
            "description": "firstSendAt on that zone's clock (ISO 8601 with its offset)",
        },
        "lastSendAt": {**UTC_DATETIME, "description": "for the summed zones the latest"},
        "zones": {"type": "integer", "description": "zones the row sums (1 but for the rest)"},
    },
}
REVIEW = {
    "type": "object",
    "properties": {
        "matching": {"type": "integer", "description": "contacts the tag, search or ids select"},
        "wouldEnroll": {"type": "integer"},
        "skipped": {
            "type": "object",
            "additionalProperties": {"type": "integer"},
            "description": "contacts per reason: " + ", ".join(enrollment.SKIP_REASONS),
        },
        "skippedText": {"type": "object", "additionalProperties": {"type": "string"}},
        "byTimezone": {"type": "array", "items": ZONE_ROW},
        "tag": NULLABLE_STRING,
        "tagExists": {
            "type": "boolean",
            "nullable": True,
            "description": "whether the organization has the tag asked for (null: no tag)",
        },
        "suggestions": {
            "type": "array",
            "items": {"type": "string"},
            "description": "existing tags close to a tag that does not exist",
        },
        "message": {
            **NULLABLE_STRING,
            "description": "what to know first, in words: “No contact has the tag …”",
        },
        "sampleContactId": NULLABLE_INTEGER,
        "organizationTimezone": {"type": "string"},
        "firstStep": {"type": "object"},
    },
}
TEXT = {"type": "string"}
OPENAPI = {
    "/api/drip-campaigns/{id}/audience": {
        "get": operation(
            "Review an enrollment before making it: counts, skip reasons, first sends by zone",
            data_response(REVIEW),
            401,
            404,
            422,
            parameters=[
                CAMPAIGN_ID,
                {
                    "name": "tag",
                    "in": "query",
                    "description": "everyone with this tag",
                    "schema": {**TEXT, "maxLength": limits.TAG_MAX},
                },
                {
                    "name": "q",
                    "in": "query",
                    "description": "everyone matching this search (name, phone digits)",
                    "schema": {**TEXT, "maxLength": limits.SEARCH_TEXT_MAX},
                },
                {
                    "name": "searchTag",
                    "in": "query",
                    "description": "with q: only contacts with this tag too",
                    "schema": {**TEXT, "maxLength": limits.TAG_MAX},
                },
                {
                    "name": "contactIds",
                    "in": "query",
                    "description": "these contacts (ids separated by commas)",
                    "style": "form",
                    "explode": False,
                    "schema": {
                        "type": "array",
                        "items": {"type": "integer"},
                        "minItems": 1,
                        "maxItems": limits.ENROLL_IDS_MAX,
                    },
                },
            ],
            description="Exactly one of tag, a search (q and/or searchTag) or contactIds. "
            "Selects and classifies contacts as POST .../enrollments would now: wouldEnroll "
            "plus the skipped are what it would answer. 422 for what enrolling refuses (no "
            "target, limits, an archived campaign, no steps).",
        )
    }
}
