"""Campaigns: settings, lifecycle (draft -> active <-> paused -> archived) and counters.

Steps live in app/drip/steps.py. Every function takes plain values (snake_case field names)
and raises ValidationError / Conflict with a message a marketer can act on.
"""

from __future__ import annotations

from sqlalchemy import bindparam, func, select, update
from sqlalchemy.orm import Session

from app.drip import enrollment
from app.drip.enrollment import ALL_WEEKDAYS, LIVE_STATUSES, validate_window
from app.drip.errors import Conflict, ValidationError
from app.drip.limits import DESCRIPTION_MAX, KEYWORD_MAX, NAME_MAX, TAG_MAX
from app.drip.zones import CONTACT_ZONE
from app.models import DripCampaign, DripCampaignStep, DripEnrollment, utcnow
from app.models.campaigns import TRIGGER_TYPES
from app.models.enrollments import ENROLLMENT_STATUSES

WINDOW_FIELDS = ("window_start", "window_end", "window_weekdays", "window_timezone")
# Triggers that name something: what, and its longest (a longer tag names no tag; the column
# holds 200 characters, and PostgreSQL refused more: a 500).
TRIGGER_LIMITS = {"tag_added": ("tag", TAG_MAX), "keyword": ("keyword", KEYWORD_MAX)}
# action -> (statuses it applies to, resulting status)
TRANSITIONS = {
    "activate": ({"draft", "paused"}, "active"),
    "pause": ({"active"}, "paused"),
    "resume": ({"paused"}, "active"),
    "archive": ({"draft", "active", "paused"}, "archived"),
}


def ensure_editable(campaign: DripCampaign) -> None:
    if campaign.status == "archived":
        raise Conflict("Archived campaigns are read-only.")


def create_campaign(
    session: Session, organization_id: int, fields: dict, *, user_id: int | None = None
) -> DripCampaign:
    campaign = DripCampaign(
        organization_id=organization_id,
        created_by_user_id=user_id,
        status="draft",
        trigger_type="manual",
        stop_on_reply=True,
        allow_reenrollment=False,
        track_links=False,
        window_weekdays=list(ALL_WEEKDAYS),
        window_timezone=CONTACT_ZONE,
    )
    apply_campaign_fields(campaign, {"name": None, **fields})
    session.add(campaign)
    session.flush()
    return campaign


def update_campaign(session: Session, campaign: DripCampaign, fields: dict) -> DripCampaign:
    """Change settings; a changed send window reschedules the waiting enrollments."""
    ensure_editable(campaign)
    before = window_of(campaign)
    apply_campaign_fields(campaign, fields)
    session.flush()
    if window_of(campaign) != before:
        enrollment.on_window_changed(session, campaign)
    return campaign


def window_of(campaign: DripCampaign) -> tuple:
    """The send window's fields, in WINDOW_FIELDS order."""
    return (
        campaign.window_start,
        campaign.window_end,
        tuple(campaign.window_weekdays or ()),
        campaign.window_timezone,
    )


def apply_campaign_fields(campaign: DripCampaign, fields: dict) -> None:
    """Validate and set the given fields; all problems are reported at once."""
    errors: dict[str, str] = {}
    values = {}
    if "name" in fields:
        name = (fields["name"] or "").strip() if isinstance(fields["name"], str | None) else None
        if not name:
            errors["name"] = "Give the campaign a name."
        elif len(name) > NAME_MAX:
            errors["name"] = f"At most {NAME_MAX} characters."
        values["name"] = name
    if "description" in fields:
        _description(fields["description"], values, errors)
    for flag in ("stop_on_reply", "allow_reenrollment", "track_links", "frequency_cap_exempt"):
        if flag in fields:
            if not isinstance(fields[flag], bool):
                errors[flag] = "true or false."
            values[flag] = fields[flag]
    if "trigger_type" in fields or "trigger_value" in fields:
        _trigger(
            fields.get("trigger_type", campaign.trigger_type),
            fields.get("trigger_value", campaign.trigger_value),
            values,
            errors,
        )
    _window(fields, campaign, values, errors)
    if errors:
        raise ValidationError("The campaign settings need attention.", errors)
    for key, value in values.items():
        setattr(campaign, key, value)


def _description(description, values: dict, errors: dict) -> None:
    if description is not None and not isinstance(description, str):
        errors["description"] = "Text."
    # Counted before trimming, as the OpenAPI document's maxLength counts.
    elif len(description or "") > DESCRIPTION_MAX:
        errors["description"] = f"At most {DESCRIPTION_MAX:,} characters."
    else:  # a list from a JSON body is the error above, not an AttributeError (a 500)
        values["description"] = (description or "").strip() or None


def _trigger(kind, value, values: dict, errors: dict) -> None:
    if kind not in TRIGGER_TYPES:
        errors["trigger_type"] = "One of: " + ", ".join(TRIGGER_TYPES) + "."
        return
    if value is not None and not isinstance(value, str):
        # A list or a number used to be dropped silently for a manual trigger.
        errors["trigger_value"] = "Text: the tag or keyword, or null."
        return
    value = value.strip() if isinstance(value, str) else None
    if kind in TRIGGER_LIMITS:
        what, longest = TRIGGER_LIMITS[kind]
        if not value:
            errors["trigger_value"] = f"Name the {what} that enrolls a contact."
            return
        if len(value) > longest:
            errors["trigger_value"] = f"A {what} has at most {longest} characters."
            return
    values["trigger_type"] = kind
    values["trigger_value"] = value if kind in TRIGGER_LIMITS else None


def _window(fields: dict, campaign: DripCampaign, values: dict, errors: dict) -> None:
    if not any(key in fields for key in WINDOW_FIELDS):
        return
    current = dict(zip(WINDOW_FIELDS, window_of(campaign), strict=True))
    merged = {key: fields.get(key, current[key]) for key in WINDOW_FIELDS}
    zone = merged["window_timezone"]
    try:
        window = validate_window(
            merged["window_start"],
            merged["window_end"],
            merged["window_weekdays"],
            # Only null or "" mean the contact's zone: `or` also turned {} and [] into it.
            CONTACT_ZONE if zone is None or zone == "" else zone,
            prefix="window_",
        )
    except ValidationError as exc:
        errors.update(exc.fields)
        return
    values.update(
        window_start=window.start,
        window_end=window.end,
        window_weekdays=list(window.weekdays),
        window_timezone=window.timezone,
    )


def live_steps(session: Session, campaign_id: int) -> list[DripCampaignStep]:
    return list(session.scalars(_LIVE_STEPS, {"campaign_id": campaign_id}))


# Built once with a bind parameter: the campaign page reads it at every view (issue 21).
_LIVE_STEPS = (
    select(DripCampaignStep)
    .where(
        DripCampaignStep.campaign_id == bindparam("campaign_id"),
        DripCampaignStep.deleted_at.is_(None),
    )
    .order_by(DripCampaignStep.position, DripCampaignStep.id)
)


def change_status(session: Session, campaign: DripCampaign, action: str) -> DripCampaign:
    """Move the campaign through its lifecycle, or say why it cannot move."""
    if action not in TRANSITIONS:
        raise ValidationError(
            "Unknown action.", {"action": "One of: " + ", ".join(TRANSITIONS) + "."}
        )
    allowed_from, target = TRANSITIONS[action]
    if campaign.status not in allowed_from:
        raise Conflict(f"A campaign that is {campaign.status} cannot {action}.")
    if target == "active" and not live_steps(session, campaign.id):
        raise ValidationError(
            "Add at least one step before activating the campaign.",
            {"steps": "A campaign needs at least one message."},
        )
    now = utcnow()
    campaign.status = target
    if target == "active" and campaign.activated_at is None:
        campaign.activated_at = now
    if target == "archived":
        campaign.archived_at = now
        # Archived means read-only and silent: nobody is left waiting on it.
        session.execute(
            update(DripEnrollment)
            .where(
                DripEnrollment.campaign_id == campaign.id,
                DripEnrollment.status.in_(LIVE_STATUSES),
            )
            .values(
                status="stopped", stop_reason="campaign_archived", stopped_at=now, next_send_at=None
            )
        )
    session.flush()
    return campaign


def delete_campaign(session: Session, campaign: DripCampaign) -> None:
    """Only drafts and archived campaigns go: a live one must be archived first."""
    if campaign.status not in ("draft", "archived"):
        raise Conflict(f"A campaign that is {campaign.status} cannot be deleted: archive it first.")
    session.delete(campaign)
    session.flush()


def enrollment_counts(session: Session, campaign_ids: list[int]) -> dict[int, dict[str, int]]:
    """Enrollments per status for each campaign, counted in one GROUP BY."""
    counts = {cid: dict.fromkeys(ENROLLMENT_STATUSES, 0) for cid in campaign_ids}
    if not campaign_ids:
        return counts
    rows = session.execute(
        select(DripEnrollment.campaign_id, DripEnrollment.status, func.count())
        .where(DripEnrollment.campaign_id.in_(campaign_ids))
        .group_by(DripEnrollment.campaign_id, DripEnrollment.status)
    )
    for campaign_id, status, n in rows:
        counts[campaign_id][status] = n
    return counts
