"""JSON API: a campaign's enrollments (list, enroll) and pause / resume / stop of one."""

from __future__ import annotations

from flask import Blueprint, request

from app.api.openapi import (
    CAMPAIGN_ID,
    NULLABLE_INTEGER,
    NULLABLE_STRING,
    NULLABLE_UTC_DATETIME,
    PAGING_PARAMETERS,
    UTC_DATETIME,
    data_response,
    error_responses,
    list_response,
    path_id,
    request_body,
)
from app.api.respond import BadJson, json_body, ok, paged, paging_args
from app.auth import current_actor, current_org_id
from app.drip import campaigns, enrollment, limits
from app.drip.scope import get_scoped
from app.extensions import db
from app.models import DripCampaign, DripEnrollment
from app.models.enrollments import ENROLLMENT_STATUSES

bp = Blueprint("api_enrollments", __name__, url_prefix="/api")


def serialize_enrollment(row: DripEnrollment) -> dict:
    return {
        "id": row.id,
        "contactId": row.contact_id,
        "status": row.status,
        "currentStepId": row.current_step_id,
        "nextSendAt": row.next_send_at,
        "lastSentAt": row.last_sent_at,
        "enrolledAt": row.enrolled_at,
        "pausedAt": row.paused_at,
        "completedAt": row.completed_at,
        "stoppedAt": row.stopped_at,
        "stopReason": row.stop_reason,
        "stopReasonText": enrollment.stop_reason_text(row.stop_reason),
        # Why next_send_at was pushed back: messaging_limit, frequency_cap or marketing_cap.
        "waitReason": row.wait_reason if row.status == "active" else None,
    }


def serialize_row(row: enrollment.EnrollmentRow) -> dict:
    return {
        **serialize_enrollment(row.enrollment),
        "contactName": row.contact_name,
        "contactPhone": row.contact_phone,
        "currentStepName": row.step_name,
        "currentStepPosition": row.step_position,
    }


def enroll_target(body: dict) -> dict:
    """The enroll() keywords of a body, or 400 for a value of the wrong type. Which targets
    are given (exactly one) is a rule, checked by enroll() (422)."""
    target = {}
    if "contactIds" in body:
        ids = body["contactIds"]
        if not isinstance(ids, list) or any(
            isinstance(i, bool) or not isinstance(i, int) for i in ids
        ):
            raise BadJson("contactIds must be a list of integers.", {"contactIds": "Integers."})
        target["contact_ids"] = ids
    if "tag" in body:
        if not isinstance(body["tag"], str):
            raise BadJson("tag must be a string.", {"tag": "A string."})
        target["tag"] = body["tag"]
    if "search" in body:
        search = body["search"]
        if not isinstance(search, dict) or any(
            not isinstance(search.get(k), str | None) for k in ("q", "tag")
        ):
            raise BadJson("search must be an object {q, tag} of strings.", {"search": "{q, tag}"})
        target["search"] = {"q": search.get("q"), "tag": search.get("tag")}
    return target


@bp.get("/drip-campaigns/<int:id>/enrollments")
def list_campaign_enrollments(id: int):
    get_scoped(db.session, DripCampaign, current_org_id(), id)
    page, per_page = paging_args()
    rows, total = enrollment.list_enrollments(
        db.session, current_org_id(), id, request.args.get("status") or None, page, per_page
    )
    return paged([serialize_row(r) for r in rows], total, page, per_page)


@bp.post("/drip-campaigns/<int:id>/enrollments")
def enroll_contacts(id: int):
    campaign = get_scoped(db.session, DripCampaign, current_org_id(), id)
    target = enroll_target(json_body())
    result = campaigns.enroll_contacts(db.session, current_actor(), campaign, target)
    db.session.commit()
    return ok(
        {
            "enrolled": result.enrolled,
            "skipped": [{"contactId": s.contact_id, "reason": s.reason} for s in result.skipped],
        }
    )


@bp.patch("/drip-campaigns/<int:id>/enrollments/<int:enrollment_id>")
def change_enrollment(id: int, enrollment_id: int):
    org_id = current_org_id()
    campaign = get_scoped(db.session, DripCampaign, org_id, id)
    enrollment.get_enrollment(db.session, org_id, id, enrollment_id)  # 404 before any 400
    action = json_body().get("action")
    if not isinstance(action, str):
        raise BadJson("action must be a string.", {"action": "pause, resume or stop."})
    row = campaigns.change_enrollment(db.session, current_actor(), campaign, enrollment_id, action)
    db.session.commit()
    return ok(serialize_enrollment(row))


STATUS = {"type": "string", "enum": list(ENROLLMENT_STATUSES)}
ENROLLMENT = {
    "type": "object",
    "properties": {
        "id": {"type": "integer"},
        "contactId": {"type": "integer"},
        "status": STATUS,
        "currentStepId": {
            **NULLABLE_INTEGER,
            "description": "the step this enrollment waits for (the next one to send)",
        },
        "nextSendAt": {**NULLABLE_UTC_DATETIME, "description": "UTC; null when paused or finished"},
        "lastSentAt": {**NULLABLE_UTC_DATETIME, "description": "when the previous step went out"},
        "enrolledAt": UTC_DATETIME,
        "pausedAt": NULLABLE_UTC_DATETIME,
        "waitReason": {
            **NULLABLE_STRING,
            "description": "why the step waits past its time: messaging_limit (the account's "
            "limit of people reached outside their window), frequency_cap (the organization's "
            "marketing cap per contact) or marketing_cap (Meta's per-user cap, 131049); null "
            "otherwise",
        },
        "completedAt": NULLABLE_UTC_DATETIME,
        "stoppedAt": NULLABLE_UTC_DATETIME,
        "stopReason": NULLABLE_STRING,
        "stopReasonText": {**NULLABLE_STRING, "description": "the stop reason in words"},
    },
}
ENROLLMENT_ROW = {
    "allOf": [
        ENROLLMENT,
        {
            "type": "object",
            "properties": {
                "contactName": {"type": "string"},
                "contactPhone": {"type": "string"},
                "currentStepName": NULLABLE_STRING,
                "currentStepPosition": NULLABLE_INTEGER,
            },
        },
    ]
}
ENROLL_RESULT = {
    "type": "object",
    "properties": {
        "enrolled": {"type": "integer"},
        "skipped": {
            "type": "array",
            "items": {
                "type": "object",
                "properties": {
                    "contactId": {"type": "integer"},
                    "reason": {"type": "string", "enum": list(enrollment.SKIP_REASONS)},
                },
            },
        },
    },
}
ENROLL_BODY = {
    "type": "object",
    "description": "exactly one of contactIds, tag, search",
    "properties": {
        "contactIds": {
            "type": "array",
            "items": {"type": "integer"},
            "minItems": 1,
            "maxItems": limits.ENROLL_IDS_MAX,
            "description": f"at most {limits.ENROLL_IDS_MAX:,} ids at once: enroll a larger "
            "audience with a tag or a search",
        },
        "tag": {
            "type": "string",
            "maxLength": limits.TAG_MAX,
            "description": "everyone with this tag",
        },
        "search": {
            "type": "object",
            "description": "everyone matching the contact search (text, tag or both)",
            "properties": {
                "q": {"type": "string", "maxLength": limits.SEARCH_TEXT_MAX},
                "tag": {"type": "string", "maxLength": limits.TAG_MAX},
            },
        },
    },
    "example": {"contactIds": [1, 2]},
}
ENROLLMENT_ID = path_id("enrollmentId")
OPENAPI = {
    "/api/drip-campaigns/{id}/enrollments": {
        "get": {
            "summary": "List a campaign's enrollments, newest first",
            "parameters": [
                CAMPAIGN_ID,
                {
                    "name": "status",
                    "in": "query",
                    "description": "only enrollments in this status (empty: all)",
                    "allowEmptyValue": True,
                    "schema": STATUS,
                },
                *PAGING_PARAMETERS,
            ],
            "responses": {**list_response(ENROLLMENT_ROW), **error_responses(401, 404, 422)},
        },
        "post": {
            "summary": "Enroll contacts: chosen ids, everyone with a tag, or a search",
            "description": "Contacts not enrolled are listed with a reason: not_found, "
            "opted_out, already_active, already_paused, already_completed (the campaign "
            "does not allow re-enrollment). An archived campaign answers 422.",
            "parameters": [CAMPAIGN_ID],
            "requestBody": request_body(ENROLL_BODY),
            "responses": {**data_response(ENROLL_RESULT), **error_responses(400, 401, 404, 422)},
        },
    },
    "/api/drip-campaigns/{id}/enrollments/{enrollmentId}": {
        "patch": {
            "summary": "Pause, resume or stop one enrollment",
            "description": "A paused enrollment keeps its step; on resume a step that became "
            "due meanwhile goes out in the next send window. 409 when the enrollment is "
            "finished.",
            "parameters": [CAMPAIGN_ID, ENROLLMENT_ID],
            "requestBody": request_body(
                {
                    "type": "object",
                    "required": ["action"],
                    "properties": {"action": {"type": "string", "enum": list(enrollment.ACTIONS)}},
                    "example": {"action": "pause"},
                }
            ),
            "responses": {
                **data_response(ENROLLMENT),
                **error_responses(400, 401, 404, 409, 422),
            },
        }
    },
}
