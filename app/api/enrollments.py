"""JSON API: a campaign's enrollments (list, enroll), pause / resume / stop of one, and of many
at once (chosen ids or all matching a filter)."""

from __future__ import annotations

from flask import Blueprint, request

from app.api.enrollments_openapi import OPENAPI
from app.api.respond import BadJson, json_body, ok, paged, paging_args
from app.auth import current_actor, current_org_id
from app.drip import campaigns, enrollment
from app.drip.scope import get_scoped
from app.drip.zones import resolve_zone
from app.extensions import db
from app.models import DripCampaign, DripEnrollment

__all__ = ["OPENAPI", "bp"]

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
        # Why next_send_at was pushed back: messaging_limit, frequency_cap, marketing_cap, or
        # branch (waiting for an event of its step's branch).
        "waitReason": row.wait_reason if row.status == "active" else None,
        "viaStepId": row.via_step_id,
        "via": row.via,
    }


def serialize_row(row: enrollment.EnrollmentRow) -> dict:
    e = row.enrollment
    local = None
    if e.next_send_at is not None:
        local = e.next_send_at.astimezone(resolve_zone(row.contact_zone)).isoformat()
    return {
        **serialize_enrollment(e),
        "waitingFor": row.waiting.code if row.waiting else None,
        "waitReasonText": row.waiting.text if row.waiting else None,
        "contactTimezone": row.contact_zone,
        "nextSendAtContactTime": local,
        "contactName": row.contact_name,
        "contactPhone": row.contact_phone,
        "currentStepName": row.step_name,
        "currentStepPosition": row.step_position,
    }


def list_filter(args) -> enrollment.EnrollmentFilter:
    return enrollment.enrollment_filter(
        args.get("status"), args.get("q"), args.get("step"), args.get("reason")
    )


def one_row(org_id: int, campaign_id: int, enrollment_id: int) -> dict:
    where = enrollment.EnrollmentFilter(ids=(enrollment_id,))
    rows, _ = enrollment.list_enrollments(db.session, org_id, campaign_id, where=where)
    return serialize_row(rows[0])


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
        db.session,
        current_org_id(),
        id,
        page=page,
        per_page=per_page,
        where=list_filter(request.args),
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
            "heldOut": result.held_out,
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
    campaigns.change_enrollment(db.session, current_actor(), campaign, enrollment_id, action)
    db.session.commit()
    return ok(one_row(org_id, id, enrollment_id))


@bp.post("/drip-campaigns/<int:id>/enrollments/bulk")
def bulk_change(id: int):
    campaign = get_scoped(db.session, DripCampaign, current_org_id(), id)
    body = json_body()
    action = body.get("action")
    if not isinstance(action, str):
        raise BadJson("action must be a string.", {"action": "pause, resume or stop."})
    ids, where = bulk_target(body)
    result = campaigns.bulk_change_enrollments(
        db.session, current_actor(), campaign, action, ids=ids, where=where
    )
    db.session.commit()
    return ok(
        {
            "action": result.action,
            "matched": result.matched,
            "changed": result.changed,
            "skipped": result.skipped,
            "notFound": result.not_found,
        }
    )


def bulk_target(body: dict):
    """(ids, filter) of a bulk body; 400 for a value of the wrong type. Exactly one of the
    two, and the number of ids, are rules checked by bulk_action() (422)."""
    ids = where = None
    if body.get("enrollmentIds") is not None:
        ids = body["enrollmentIds"]
        if not isinstance(ids, list) or any(
            isinstance(i, bool) or not isinstance(i, int) for i in ids
        ):
            raise BadJson(
                "enrollmentIds must be a list of integers.", {"enrollmentIds": "Integers."}
            )
        # No id is that large (the database would refuse the number: a 500): 0 matches none.
        ids = [i if 0 < i < 2**63 else 0 for i in ids]
    if body.get("filter") is not None:
        given = body["filter"]
        if not isinstance(given, dict) or any(
            not isinstance(given.get(k), str | None) for k in ("status", "q", "reason")
        ):
            raise BadJson(
                "filter must be an object {status, q, step, reason}.",
                {"filter": "{status, q, step, reason}"},
            )
        step = given.get("step")
        if step is not None and (isinstance(step, bool) or not isinstance(step, int | str)):
            raise BadJson("filter.step must be a step id.", {"filter": "step: an integer."})
        where = enrollment.enrollment_filter(
            given.get("status"), given.get("q"), step, given.get("reason")
        )
    return ids, where
