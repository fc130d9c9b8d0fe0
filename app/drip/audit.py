"""The audit log: who changed which campaign, and when.

Views and API handlers record one event per change, in the transaction of the change (so a
change that is rolled back leaves no event):

    audit.record(db.session, current_actor(), campaign, "campaign.activated")
    audit.record(db.session, current_actor(), campaign, "step.updated", step=step, before=before)

`before` is `snapshot(step or campaign)` taken before an edit; the fields that changed go in
the event's details as {field: [old, new]}. Any other keyword goes in the details as given
(JSON values). Actions are "<subject>.<past tense verb>"; `describe` words them for the
campaign page and words an action it does not know from its name, so a new one (the A/B
tests': "ab_test.started", ...) needs no change here to be shown.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import time

from sqlalchemy import bindparam, func, inspect, select
from sqlalchemy.orm import Session

from app.drip.enrollment import EnrollResult
from app.models import (
    AuditEvent,
    DripAbTest,
    DripAbVariant,
    DripCampaign,
    DripCampaignStep,
    DripEnrollment,
)

CAMPAIGN_FIELDS = {
    "name": "name",
    "description": "description",
    "trigger_type": "trigger",
    "trigger_value": "trigger",
    "stop_on_reply": "stop on reply",
    "allow_reenrollment": "re-enrollment",
    "track_links": "link tracking",
    "frequency_cap_exempt": "frequency cap exemption",
    "window_start": "send window",
    "window_end": "send window",
    "window_weekdays": "send window",
    "window_timezone": "send window",
    "goal_event": "goal",
    "goal_within_days": "goal",
    "exit_on_goal": "exit on goal",
    "holdout_percent": "holdout",
}
STEP_FIELDS = {
    "name": "name",
    "branch": "branch",
    "delay_amount": "delay",
    "delay_unit": "delay",
    "message_type": "message",
    "message_content": "message",
    "template_name": "message",
    "template_language": "message",
    "template_parameters": "message",
    "template_header": "message",
    "template_buttons": "message",
    "fallback_template_name": "fallback template",
    "fallback_template_language": "fallback template",
    "fallback_template_parameters": "fallback template",
}
# The lifecycle actions of app.drip.campaigns.change_status, as recorded.
STATUS_ACTIONS = {
    "activate": "campaign.activated",
    "pause": "campaign.paused",
    "resume": "campaign.resumed",
    "archive": "campaign.archived",
}
ENROLLMENT_ACTIONS = {
    "pause": "enrollment.paused",
    "resume": "enrollment.resumed",
    "stop": "enrollment.stopped",
}
BULK_ENROLLMENT_ACTIONS = {
    "pause": "enrollments.paused",
    "resume": "enrollments.resumed",
    "stop": "enrollments.stopped",
}
DESCRIPTIONS = {
    "campaign.created": "created the campaign",
    "campaign.activated": "activated the campaign",
    "campaign.paused": "paused the campaign",
    "campaign.resumed": "resumed the campaign",
    "campaign.archived": "archived the campaign",
    "campaign.deleted": "deleted the campaign “{campaign}”",
    "step.added": "added step {position} “{stepName}”",
    "step.deleted": "deleted step “{stepName}”",
    "enrollment.paused": "paused enrollment #{enrollmentId} (contact #{contactId})",
    "enrollment.resumed": "resumed enrollment #{enrollmentId} (contact #{contactId})",
    "enrollment.stopped": "stopped enrollment #{enrollmentId} (contact #{contactId})",
    "enrollments.paused": "paused {changed} enrollments at once",
    "enrollments.resumed": "resumed {changed} enrollments at once",
    "enrollments.stopped": "stopped {changed} enrollments at once",
    # A/B tests (record_ab_test): the tests' and variants' names are in the details.
    "ab_test.created": "created A/B test “{testName}”",
    "ab_test.started": "started A/B test “{testName}”",
    "ab_test.paused": "paused A/B test “{testName}”",
    "ab_test.resumed": "resumed A/B test “{testName}”",
    "ab_test.reallocated": "changed the traffic split of A/B test “{testName}”",
    "ab_test.winner_declared": "declared “{variantName}” the winner of A/B test “{testName}”",
    "ab_test.deleted": "deleted A/B test “{testName}”",
    "ab_test.updated": "changed the settings of A/B test “{testName}”",
    "ab_test.ended": "ended A/B test “{testName}” with no difference found",
    "ab_variant.added": "added variant “{variantName}” to A/B test “{testName}”",
    "ab_variant.updated": "changed variant “{variantName}” of A/B test “{testName}”",
    "ab_variant.deleted": "deleted variant “{variantName}” of A/B test “{testName}”",
}


@dataclass(frozen=True)
class Actor:
    """Who made a change: a user, an API key, or Drip itself (jobs, the command line)."""

    label: str = "system"
    user_id: int | None = None
    api_key_id: int | None = None


SYSTEM = Actor()


def snapshot(subject: DripCampaign | DripCampaignStep) -> dict:
    """The editable fields of a campaign or step, as JSON values."""
    fields = CAMPAIGN_FIELDS if isinstance(subject, DripCampaign) else STEP_FIELDS
    return {name: _json_value(getattr(subject, name)) for name in fields}


def record_for_organization(
    session: Session, actor: Actor, organization_id: int, action: str, **details
) -> AuditEvent:
    """An event about the organization itself (its settings, its WhatsApp account), no
    campaign; added to the session, the caller commits."""
    event = AuditEvent(
        organization_id=organization_id,
        user_id=actor.user_id,
        api_key_id=actor.api_key_id,
        actor=actor.label[:254],
        campaign_id=None,
        action=action,
        details=details,
    )
    session.add(event)
    return event


def record(
    session: Session,
    actor: Actor,
    campaign: DripCampaign,
    action: str,
    *,
    step: DripCampaignStep | None = None,
    before: dict | None = None,
    **details,
) -> AuditEvent:
    """Add the event (flushed with the caller's next flush; the caller commits)."""
    if step is not None:
        details = {"stepId": step.id, "stepName": step.name, "position": step.position, **details}
    if before is not None:
        after = snapshot(step if step is not None else campaign)
        details["changes"] = {k: [before[k], after[k]] for k in after if before.get(k) != after[k]}
    state = inspect(campaign)
    if state.deleted or state.was_deleted:
        # The row is gone: the event stays, naming the campaign it was about.
        details = {"campaignId": campaign.id, "campaign": campaign.name, **details}
    event = AuditEvent(
        organization_id=campaign.organization_id,
        user_id=actor.user_id,
        api_key_id=actor.api_key_id,
        actor=actor.label[:254],
        campaign_id=None if state.deleted or state.was_deleted else campaign.id,
        action=action,
        details=details,
    )
    session.add(event)
    return event


def record_enrollment(
    session: Session, actor: Actor, campaign: DripCampaign, result: EnrollResult, target: dict
) -> AuditEvent:
    """Contacts enrolled through the page or the API (`target`: enroll()'s keywords)."""
    if "contact_ids" in target:
        summary = {"contacts": len(target["contact_ids"] or [])}
    else:
        summary = {k: v for k, v in target.items() if v}
    return record(
        session,
        actor,
        campaign,
        "enrollments.added",
        enrolled=result.enrolled,
        skipped=len(result.skipped),
        target=summary,
    )


def record_enrollment_action(
    session: Session, actor: Actor, campaign: DripCampaign, action: str, row: DripEnrollment
) -> AuditEvent:
    """An enrollment paused, resumed or stopped by hand (`action`: apply_action()'s)."""
    return record(
        session,
        actor,
        campaign,
        ENROLLMENT_ACTIONS[action],
        enrollmentId=row.id,
        contactId=row.contact_id,
    )


def record_ab_test(
    session: Session,
    actor: Actor,
    campaign: DripCampaign,
    action: str,
    test: DripAbTest,
    *,
    variant: DripAbVariant | None = None,
    **details,
) -> AuditEvent:
    """An A/B test change: action "ab_test.<verb>" or "ab_variant.<verb>" (see DESCRIPTIONS).
    Call it after the change (a deleted test or variant still has its id and name)."""
    about = {"testId": test.id, "testName": test.name}
    if variant is not None:
        about |= {"variantId": variant.id, "variantName": variant.name}
    return record(session, actor, campaign, action, **about, **details)


def campaign_events(
    session: Session, organization_id: int, campaign_id: int, *, limit: int, offset: int = 0
) -> tuple[list[AuditEvent], int]:
    """A campaign's events, newest first, and how many there are (in the page's statement;
    a page past the end counts them on its own)."""
    arguments = {
        "organization_id": organization_id,
        "campaign_id": campaign_id,
        "limit": limit,
        "offset": offset,
    }
    rows = session.execute(_CAMPAIGN_PAGE, arguments).all()
    if rows:
        return [event for event, _ in rows], rows[0][1]
    if offset == 0:
        return [], 0
    return [], session.scalar(_CAMPAIGN_COUNT, arguments) or 0


# Built once with bind parameters: the campaign page reads it at every view (issue 21).
_OF_CAMPAIGN = (
    AuditEvent.organization_id == bindparam("organization_id"),
    AuditEvent.campaign_id == bindparam("campaign_id"),
)
_CAMPAIGN_PAGE = (
    select(AuditEvent, func.count().over())
    .where(*_OF_CAMPAIGN)
    .order_by(AuditEvent.created_at.desc(), AuditEvent.id.desc())
    .limit(bindparam("limit"))
    .offset(bindparam("offset"))
)
_CAMPAIGN_COUNT = select(func.count()).select_from(AuditEvent).where(*_OF_CAMPAIGN)


def describe(action: str, details: dict) -> str:
    """The event in words, after the actor's name: "activated the campaign"."""
    details = details or {}
    special = _DESCRIBERS.get(action)
    if special is not None:
        return special(details)
    template = DESCRIPTIONS.get(action)
    if template is not None:
        try:
            return template.format(**details)
        except (KeyError, IndexError, ValueError):
            pass
    return action.replace(".", " ").replace("_", " ")


def _describe_changes(what: str, labels: dict, details: dict) -> str:
    changed = sorted({labels.get(k, k) for k in details.get("changes") or {}})
    return f"changed {what}: {', '.join(changed)}" if changed else f"saved {what} unchanged"


def _describe_enrollment(details: dict) -> str:
    enrolled = details.get("enrolled", 0)
    text = f"enrolled {enrolled:,} contact{'' if enrolled == 1 else 's'}"
    target = details.get("target") or {}
    if "tag" in target:
        text += f" tagged “{target['tag']}”"
    elif "search" in target:
        text += " matching a search"
    if details.get("skipped"):
        text += f" ({details['skipped']:,} skipped)"
    return text


def _describe_reorder(details: dict) -> str:
    if details.get("direction") in ("up", "down"):
        return f"moved step “{details.get('stepName')}” {details['direction']}"
    return "reordered the steps"


_DESCRIBERS = {
    "campaign.updated": lambda d: _describe_changes("the settings", CAMPAIGN_FIELDS, d),
    "step.updated": lambda d: _describe_changes(f"step “{d.get('stepName')}”", STEP_FIELDS, d),
    "steps.reordered": _describe_reorder,
    "enrollments.added": _describe_enrollment,
}


def _json_value(value):
    if isinstance(value, time):
        return value.strftime("%H:%M")
    if isinstance(value, tuple):
        return list(value)
    return value
