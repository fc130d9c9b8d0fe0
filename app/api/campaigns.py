"""JSON API: drip campaigns, their steps, lifecycle and message preview."""

from __future__ import annotations

from flask import Blueprint, request

from app.api.campaign_answers import serialize_forecast, serialize_hold, serialize_window_report
from app.api.campaign_goals import goal_fields, serialize_goal
from app.api.campaigns_openapi import OPENAPI  # noqa: F401 - collected by create_app
from app.api.respond import json_body, ok, paged, paging_args, text_arg
from app.auth import current_actor, current_org_id
from app.drip import campaigns, templates
from app.drip.campaigns import preview_message
from app.drip.errors import NotFound, ValidationError
from app.drip.scope import get_scoped
from app.envelope import api_field_name, error_response
from app.extensions import db
from app.models import DripCampaign, DripCampaignStep

bp = Blueprint("api_campaigns", __name__, url_prefix="/api/drip-campaigns")


def serialize_step(step: DripCampaignStep) -> dict:
    template = fallback = None
    if step.message_type == "template":
        template = {
            "name": step.template_name,
            "language": step.template_language,
            "parameters": step.template_parameters or [],
            "header": step.template_header,
            "buttons": step.template_buttons or [],
        }
    elif step.fallback_template_name:
        fallback = {
            "name": step.fallback_template_name,
            "language": step.fallback_template_language,
            "parameters": step.fallback_template_parameters or [],
        }
    return {
        "id": step.id,
        "campaignId": step.campaign_id,
        "position": step.position,
        "name": step.name,
        "delayAmount": step.delay_amount,
        "delayUnit": step.delay_unit,
        "messageType": step.message_type,
        "messageContent": step.message_content,
        "template": template,
        "fallbackTemplate": fallback,
        "branch": step.branch or None,
        "createdAt": step.created_at,
        "updatedAt": step.updated_at,
    }


def serialize_campaign(
    campaign: DripCampaign, counts: dict, step_rows=None, holds=(), graph=None
) -> dict:
    data = {
        "id": campaign.id,
        "name": campaign.name,
        "description": campaign.description,
        "status": campaign.status,
        "trigger": {"type": campaign.trigger_type, "value": campaign.trigger_value},
        "stopOnReply": campaign.stop_on_reply,
        "allowReenrollment": campaign.allow_reenrollment,
        "trackLinks": campaign.track_links,
        "frequencyCapExempt": campaign.frequency_cap_exempt,
        "sendWindow": {
            "start": campaign.window_start.strftime("%H:%M") if campaign.window_start else None,
            "end": campaign.window_end.strftime("%H:%M") if campaign.window_end else None,
            "weekdays": campaign.window_weekdays,
            "timezone": campaign.window_timezone,
        },
        "counters": {
            "totalEnrolled": sum(counts.values()),
            **{status: counts[status] for status in counts},
            "sent": campaign.sent_count,
            "delivered": campaign.delivered_count,
            "read": campaign.read_count,
            "replied": campaign.replied_count,
            "clicked": campaign.clicked_count,
            "failed": campaign.failed_count,
        },
        "createdAt": campaign.created_at,
        "updatedAt": campaign.updated_at,
        "activatedAt": campaign.activated_at,
        "archivedAt": campaign.archived_at,
        "holds": [serialize_hold(h) for h in holds],
        **serialize_goal(campaign),
    }
    if step_rows is not None:
        data["steps"] = [serialize_step(s) for s in step_rows]
    if graph is not None:
        data["graph"] = graph.as_json()
    return data


def campaign_fields(body: dict) -> dict:
    """The API's camelCase body as the domain's snake_case fields."""
    fields = goal_fields(body)
    for key, name in (
        ("name", "name"),
        ("description", "description"),
        ("stopOnReply", "stop_on_reply"),
        ("allowReenrollment", "allow_reenrollment"),
        ("trackLinks", "track_links"),
        ("frequencyCapExempt", "frequency_cap_exempt"),
    ):
        if key in body:
            fields[name] = body[key]
    if "trigger" in body:
        trigger = _object(body["trigger"], "trigger")
        fields["trigger_type"] = trigger.get("type", "manual")
        fields["trigger_value"] = trigger.get("value")
    if "sendWindow" in body:
        window = _object(body["sendWindow"], "sendWindow")
        for key in ("start", "end", "weekdays", "timezone"):
            if key in window:
                fields[f"window_{key}"] = window[key]
        if "start" in window or "end" in window:
            fields.setdefault("window_start", None)
            fields.setdefault("window_end", None)
    return fields


def step_fields(body: dict) -> dict:
    fields = {}
    for key, name in (
        ("name", "name"),
        ("delayAmount", "delay_amount"),
        ("delayUnit", "delay_unit"),
        ("messageType", "message_type"),
        ("messageContent", "message_content"),
        ("template", "template"),
        ("fallbackTemplate", "fallback_template"),
        ("branch", "branch"),
    ):
        if key in body:
            fields[name] = body[key]
    return fields


def step_changes(body: dict) -> dict:
    """step_fields of a body that adds or edits a step. The domain also reads a numeric string
    as a delay (the HTML form's); JSON has numbers for that, so a string is refused here."""
    if isinstance(body.get("delayAmount"), str):
        raise ValidationError(
            "delayAmount must be a number.", {"delayAmount": "A whole number, 0 or more."}
        )
    _check_branch_targets(body.get("branch"))
    return step_fields(body)


def _check_branch_targets(branch) -> None:
    """What JSON spells differently from the editor's form: {} and a step id as text are
    refused (the domain takes both from a form), so the API means what its schema says."""
    if branch == {}:
        raise ValidationError("The branch is not valid.", {"branch": "Give a branch, or null."})
    if not isinstance(branch, dict):
        return
    conditions = branch.get("conditions")
    errors = {
        f"branch.conditions.{i}.goTo": "A later step's id, or end."
        for i, c in enumerate(conditions if isinstance(conditions, list) else ())
        if isinstance(c, dict) and isinstance(c.get("goTo"), str) and c["goTo"] != "end"
    }
    timeout = branch.get("onTimeout")
    if isinstance(timeout, str) and timeout not in ("end", "next"):
        errors["branch.onTimeout"] = "A later step's id, end or next."
    if errors:
        raise ValidationError("The branch is not valid.", errors)


def _object(value, name: str) -> dict:
    if not isinstance(value, dict):
        raise ValidationError(f"{name} must be an object.", {name: "An object."})
    return value


def _campaign(campaign_id: int) -> DripCampaign:
    return get_scoped(db.session, DripCampaign, current_org_id(), campaign_id)


def _one(campaign: DripCampaign):
    counts = campaigns.enrollment_counts(db.session, [campaign.id])[campaign.id]
    holds = templates.campaign_holds(db.session, campaign.organization_id, [campaign.id])
    graph = campaigns.campaign_graph(db.session, campaign)
    return serialize_campaign(campaign, counts, graph.steps, holds[campaign.id], graph)


@bp.get("")
def list_campaigns():
    """?q= (part of the name) and ?status=, paged, newest first."""
    page, per_page = paging_args()
    result = campaigns.list_campaigns(
        db.session,
        current_org_id(),
        q=text_arg("q"),
        status=request.args.get("status"),
        page=page,
        per_page=per_page,
    )
    ids = [c.id for c in result.rows]
    counts = campaigns.enrollment_counts(db.session, ids)
    holds = templates.campaign_holds(db.session, current_org_id(), ids)
    rows = [serialize_campaign(c, counts[c.id], holds=holds[c.id]) for c in result.rows]
    return paged(rows, result.total, page, per_page)


@bp.post("")
def create_campaign():
    campaign = campaigns.create_campaign(
        db.session, current_actor(), current_org_id(), campaign_fields(json_body())
    )
    db.session.commit()
    return ok(_one(campaign), status=201)


@bp.get("/<int:id>")
def get_campaign(id: int):
    return ok(_one(_campaign(id)))


@bp.post("/<int:id>/duplicate")
def duplicate_campaign(id: int):
    """A draft copy with the settings and live steps; no enrollments, A/B tests or history."""
    copy = campaigns.duplicate_campaign(db.session, current_actor(), _campaign(id))
    db.session.commit()
    return ok(_one(copy), status=201)


@bp.patch("/<int:id>")
def update_campaign(id: int):
    campaign = _campaign(id)
    campaigns.update_campaign(db.session, current_actor(), campaign, campaign_fields(json_body()))
    db.session.commit()
    return ok(_one(campaign))


@bp.delete("/<int:id>")
def delete_campaign(id: int):
    campaign = _campaign(id)
    campaigns.delete_campaign(db.session, current_actor(), campaign)
    db.session.commit()
    return ok({"id": id, "deleted": True})


@bp.post("/<int:id>/status")
def change_status(id: int):
    body = json_body()
    flags = {name: body.get(name, False) for name in ("confirm", "acceptWarnings")}
    wrong = {name: "true or false." for name, value in flags.items() if not isinstance(value, bool)}
    if wrong:
        raise ValidationError(" and ".join(wrong) + " must be true or false.", wrong)
    campaign = _campaign(id)
    try:
        campaign, report = campaigns.change_status_checked(
            db.session,
            current_actor(),
            campaign,
            body.get("action"),
            confirm=flags["confirm"],
            accept_warnings=flags["acceptWarnings"],
        )
    except campaigns.WindowConfirmationNeeded as needed:
        db.session.rollback()
        details = {"windowReport": serialize_window_report(needed.report)}
        return error_response(needed.status, needed.code, needed.message, details)
    db.session.commit()
    answer = _one(campaign)
    if report is not None:
        answer["windowReport"] = serialize_window_report(report)
    return ok(answer)


@bp.get("/<int:id>/steps")
def list_steps(id: int):
    campaign = _campaign(id)
    return ok([serialize_step(s) for s in campaigns.live_steps(db.session, campaign.id)])


@bp.post("/<int:id>/steps")
def add_step(id: int):
    body = json_body()
    campaign = _campaign(id)
    step = campaigns.add_step(
        db.session, current_actor(), campaign, step_changes(body), position=body.get("position")
    )
    db.session.commit()
    return ok(serialize_step(step), status=201)


def _step(campaign: DripCampaign, step_id: int) -> DripCampaignStep:
    step = get_scoped(db.session, DripCampaignStep, campaign.organization_id, step_id)
    if step.campaign_id != campaign.id or step.deleted_at is not None:
        raise NotFound(f"Step {step_id} not found in this campaign.")
    return step


@bp.patch("/<int:id>/steps/<int:step_id>")
def update_step(id: int, step_id: int):
    campaign = _campaign(id)
    step = _step(campaign, step_id)
    campaigns.update_step(db.session, current_actor(), campaign, step, step_changes(json_body()))
    db.session.commit()
    return ok(serialize_step(step))


@bp.delete("/<int:id>/steps/<int:step_id>")
def delete_step(id: int, step_id: int):
    campaign = _campaign(id)
    step = _step(campaign, step_id)
    campaigns.delete_step(db.session, current_actor(), campaign, step)
    db.session.commit()
    return ok({"id": step_id, "deleted": True})


@bp.post("/<int:id>/steps/reorder")
def reorder_steps(id: int):
    campaign = _campaign(id)
    ordered = campaigns.reorder_steps(
        db.session, current_actor(), campaign, json_body().get("stepIds")
    )
    db.session.commit()
    return ok([serialize_step(s) for s in ordered])


@bp.post("/<int:id>/preview")
def preview(id: int):
    body = json_body()
    contact_id = body.get("contactId")
    # The domain also reads "" as no contact (the editor's form); the API takes an id or null.
    if contact_id is not None and (isinstance(contact_id, bool) or not isinstance(contact_id, int)):
        raise ValidationError("contactId must be a contact id.", {"contactId": "An id, or null."})
    fields = step_fields(body)
    fields.pop("branch", None)  # the preview renders the message; where it leads is not in it
    result = preview_message(db.session, _campaign(id), fields, contact_id=contact_id)
    result["errors"] = {api_field_name(k): v for k, v in result["errors"].items()}
    return ok(result)


def forecast_ids(values: list[str]) -> list[int] | None:
    """?contactIds=1,2,3 (or repeated): whole numbers, else a 422 naming contactIds."""
    if not values:
        return None
    words = [w for value in values for w in value.replace(" ", ",").split(",") if w]
    if not words or any(not (w.isascii() and w.isdigit()) or len(w) > 19 for w in words):
        raise ValidationError(
            "contactIds are contact ids separated by commas.",
            {"contactIds": "Whole numbers separated by commas."},
        )
    return [int(w) for w in words]


@bp.get("/<int:id>/forecast")
def forecast(id: int):
    campaign = _campaign(id)
    result = campaigns.forecast(
        db.session,
        campaign,
        tag=text_arg("tag"),
        contact_ids=forecast_ids(request.args.getlist("contactIds")),
    )
    return ok(serialize_forecast(result))
