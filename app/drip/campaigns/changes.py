"""Campaign, step and enrollment changes made by someone: the domain change and its audit event
in one call, so the pages, the JSON API and the command line record the same events for the
same changes (as app.drip.ab.changes does for A/B tests). Views never call audit.record.

Each function raises what the change raises (nothing is recorded then) and leaves the commit
to the caller.
"""

from __future__ import annotations

from datetime import datetime
from types import SimpleNamespace

from sqlalchemy.orm import Session

from app.drip import audit, enrollment
from app.drip.audit import Actor
from app.drip.campaigns import (
    branches,
    copies,
    goal_settings,
    graph,
    lifecycle,
    step_undo,
    steps,
)
from app.drip.campaigns.window_report import (
    WindowConfirmationNeeded,
    WindowReport,
    window_report,
)
from app.drip.enrollment import EnrollResult
from app.drip.errors import ValidationError
from app.drip.limits import ENROLL_IDS_MAX
from app.models import DripCampaign, DripCampaignStep, DripEnrollment, utcnow


def create_campaign(
    session: Session, actor: Actor, organization_id: int, fields: dict
) -> DripCampaign:
    settings, goal_fields = goal_settings.split_fields(fields)
    _check_goal(DripCampaign(), {"name": None, **settings}, goal_fields)
    campaign = lifecycle.create_campaign(session, organization_id, settings, user_id=actor.user_id)
    goal_settings.apply_goal_values(campaign, goal_settings.goal_values(campaign, goal_fields)[0])
    session.flush()
    audit.record(session, actor, campaign, "campaign.created")
    return campaign


def update_campaign(
    session: Session, actor: Actor, campaign: DripCampaign, fields: dict
) -> DripCampaign:
    before = audit.snapshot(campaign)
    settings, goal_fields = goal_settings.split_fields(fields)
    lifecycle.ensure_editable(campaign)
    _check_goal(campaign, settings, goal_fields)
    _check_branches(session, campaign, settings, goal_fields)
    lifecycle.update_campaign(session, campaign, settings)
    goal_settings.apply_goal_values(campaign, goal_settings.goal_values(campaign, goal_fields)[0])
    session.flush()
    audit.record(session, actor, campaign, "campaign.updated", before=before)
    return campaign


def _check_goal(campaign: DripCampaign, settings: dict, goal_fields: dict) -> None:
    """Refuse bad goal or holdout values before anything is set, with the other settings'
    problems in the same answer (checked on a throwaway copy, which nothing saves)."""
    errors = goal_settings.goal_values(campaign, goal_fields)[1]
    if not errors:
        return
    probe = DripCampaign(
        trigger_type=campaign.trigger_type or "manual",
        trigger_value=campaign.trigger_value,
        window_start=campaign.window_start,
        window_end=campaign.window_end,
        window_weekdays=list(campaign.window_weekdays or enrollment.ALL_WEEKDAYS),
        window_timezone=campaign.window_timezone,
    )
    try:
        lifecycle.apply_campaign_fields(probe, settings)
    except ValidationError as exc:
        errors = {**exc.fields, **errors}
    raise ValidationError("The campaign settings need attention.", errors)


def _check_branches(session: Session, campaign: DripCampaign, settings, goal_fields) -> None:
    """Refuse settings that would keep a step's branch from ever being taken (naming the step),
    before anything is set. Values of the wrong type are lifecycle's to report."""
    after = SimpleNamespace(id=campaign.id)
    for name in ("stop_on_reply", "track_links"):
        value = settings.get(name)
        setattr(after, name, value if isinstance(value, bool) else getattr(campaign, name))
    goal = goal_settings.goal_values(campaign, goal_fields)[0]
    for name in ("goal_event", "exit_on_goal"):
        setattr(after, name, goal.get(name, getattr(campaign, name)))
    errors = branches.settings_problems(session, after, {**settings, **goal_fields})
    if errors:
        raise ValidationError("The campaign settings need attention.", errors)


def change_status(session: Session, actor: Actor, campaign: DripCampaign, action) -> DripCampaign:
    """activate, pause, resume or archive (anything else is the lifecycle's 422)."""
    lifecycle.change_status(session, campaign, action)
    audit.record(session, actor, campaign, audit.STATUS_ACTIONS[action])
    return campaign


# The actions that start sending: activation reports the contacts' 24-hour windows first.
STARTS_SENDING = ("activate", "resume")


def change_status_checked(
    session: Session,
    actor: Actor,
    campaign: DripCampaign,
    action,
    *,
    confirm: bool,
    accept_warnings: bool = False,
    now=None,
) -> tuple[DripCampaign, WindowReport | None]:
    """change_status from a page or the API. Activating (or resuming) first checks the
    journey: a step no path reaches or a branch the settings keep from being taken waits for
    accept_warnings (GraphConfirmationNeeded, a 409 carrying the sentences). Then it
    estimates, per step, the contacts outside their 24-hour window at send time; when a
    free-text step without a fallback would stop some of them, the change waits for confirm
    (WindowConfirmationNeeded, a 409 carrying the report). Returns the report, if any."""
    report = None
    if action in STARTS_SENDING and campaign.status in lifecycle.TRANSITIONS[action][0]:
        warnings = graph.campaign_graph(session, campaign).warnings
        if warnings and not accept_warnings:
            raise graph.GraphConfirmationNeeded(warnings)
        report = window_report(session, campaign, now or utcnow())
        if report.would_stop and not confirm:
            raise WindowConfirmationNeeded(report)
    return change_status(session, actor, campaign, action), report


def delete_campaign(session: Session, actor: Actor, campaign: DripCampaign) -> None:
    lifecycle.delete_campaign(session, campaign)
    audit.record(session, actor, campaign, "campaign.deleted")


def add_step(
    session: Session, actor: Actor, campaign: DripCampaign, fields: dict, *, position=None
) -> DripCampaignStep:
    step = steps.add_step(session, campaign, fields, position=position)
    audit.record(session, actor, campaign, "step.added", step=step)
    return step


def update_step(
    session: Session, actor: Actor, campaign: DripCampaign, step: DripCampaignStep, fields: dict
) -> DripCampaignStep:
    before = audit.snapshot(step)
    steps.update_step(session, step, fields)
    audit.record(session, actor, campaign, "step.updated", step=step, before=before)
    return step


def duplicate_campaign(session: Session, actor: Actor, campaign: DripCampaign) -> DripCampaign:
    """A draft "Copy of ..." with the settings and live steps (app.drip.campaigns.copies)."""
    copy = copies.duplicate_campaign(session, campaign, user_id=actor.user_id)
    audit.record(session, actor, copy, "campaign.duplicated", fromCampaignId=campaign.id)
    return copy


def delete_step(
    session: Session, actor: Actor, campaign: DripCampaign, step: DripCampaignStep
) -> dict:
    """Soft-delete the step; its waiting enrollments move on. Returns what moved (recorded in
    the event's details for restore_step)."""
    moved = step_undo.moved_record(session, step)
    steps.delete_step(session, step)
    audit.record(session, actor, campaign, "step.deleted", step=step, moved=moved)
    return moved


def restore_step(
    session: Session, actor: Actor, campaign: DripCampaign, step: DripCampaignStep, now=None
) -> step_undo.Undone:
    """Undo a step's deletion within step_undo.UNDO_MINUTES (a Conflict after)."""
    undone = step_undo.restore_step(session, campaign, step, now)
    audit.record(
        session,
        actor,
        campaign,
        "step.restored",
        step=step,
        movedBack=undone.moved_back,
        stayed=undone.stayed,
    )
    return undone


def move_step(
    session: Session, actor: Actor, campaign: DripCampaign, step: DripCampaignStep, direction: str
) -> None:
    """One place up or down (the editor's arrows): `direction` is "up" or "down"."""
    steps.move_step(session, step, -1 if direction == "up" else 1)
    audit.record(session, actor, campaign, "steps.reordered", step=step, direction=direction)


def reorder_steps(
    session: Session, actor: Actor, campaign: DripCampaign, step_ids
) -> list[DripCampaignStep]:
    ordered = steps.reorder_steps(session, campaign, step_ids)
    audit.record(session, actor, campaign, "steps.reordered", order=[s.id for s in ordered])
    return ordered


def enroll_contacts(
    session: Session,
    actor: Actor,
    campaign: DripCampaign,
    target: dict,
    *,
    now: datetime | None = None,
) -> EnrollResult:
    """Enroll `target` (enrollment.enroll's keywords: contact_ids, tag or search), at most
    limits.ENROLL_IDS_MAX ids: a person or a client asks for these, the triggers do not."""
    result = enrollment.enroll(session, campaign, **target, now=now, max_ids=ENROLL_IDS_MAX)
    audit.record_enrollment(session, actor, campaign, result, target)
    return result


def change_enrollment(
    session: Session, actor: Actor, campaign: DripCampaign, enrollment_id: int, action
) -> DripEnrollment:
    """Pause, resume or stop one enrollment of the campaign by hand."""
    row = enrollment.apply_action(
        session, campaign.organization_id, campaign.id, enrollment_id, action
    )
    audit.record_enrollment_action(session, actor, campaign, action, row)
    return row
