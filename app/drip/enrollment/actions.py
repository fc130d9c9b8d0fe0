"""Enrollment: enroll / pause / resume / stop, the enrollment list, triggers, and keeping
waiting enrollments right while a live campaign is edited.

An enrollment points at the step it waits for (current_step_id), never at a position, so
inserting, deleting or reordering steps moves no one backwards; after a send the processor
advances with following_step(). Set-based enrollment lives in enrolling.py, the database side
of scheduling in timing.py, the arithmetic in schedule.py (all of app.drip.enrollment).
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import exists, select, update
from sqlalchemy.orm import Session

from app.drip.enrollment.branching import WAIT_REASON
from app.drip.enrollment.enrolling import (
    LIVE_STATUSES,
    SKIP_REASONS,
    EnrollResult,
    Skip,
    enroll,
    first_step,
)
from app.drip.enrollment.listing import EnrollmentRow, list_enrollments
from app.drip.enrollment.timing import Scheduler, reschedule
from app.drip.errors import Conflict, NotFound, ValidationError
from app.drip.scope import scoped
from app.models import (
    Contact,
    DripCampaign,
    DripCampaignStep,
    DripEnrollment,
    DripMessageLog,
    Tag,
    utcnow,
)

__all__ = [
    "ACTIONS",
    "SKIP_REASONS",
    "EnrollResult",
    "EnrollmentRow",
    "Skip",
    "apply_action",
    "enroll",
    "first_step",
    "following_step",
    "get_enrollment",
    "list_enrollments",
    "on_branch_changed",
    "on_contacts_created",
    "on_step_deleted",
    "on_step_timing_changed",
    "on_tags_added",
    "on_window_changed",
    "pause",
    "resume",
    "stop",
]

ACTIONS = ("pause", "resume", "stop")


def following_step(
    session: Session, campaign_id: int, after_position: int, *, enrollment_id: int | None = None
) -> DripCampaignStep | None:
    """The live step after a position, or None at the end. With enrollment_id, steps already
    sent to that enrollment are passed over, so a reorder never sends a step twice."""
    query = select(DripCampaignStep).where(
        DripCampaignStep.campaign_id == campaign_id,
        DripCampaignStep.deleted_at.is_(None),
        DripCampaignStep.position > after_position,
    )
    if enrollment_id is not None:
        query = query.where(
            ~exists().where(
                DripMessageLog.enrollment_id == enrollment_id,
                DripMessageLog.step_id == DripCampaignStep.id,
            )
        )
    return session.scalars(
        query.order_by(DripCampaignStep.position, DripCampaignStep.id).limit(1)
    ).first()


def get_enrollment(
    session: Session, organization_id: int, campaign_id: int, enrollment_id: int
) -> DripEnrollment:
    """The organization's enrollment in this campaign, or NotFound."""
    row = session.scalars(
        scoped(DripEnrollment, organization_id).where(
            DripEnrollment.id == enrollment_id, DripEnrollment.campaign_id == campaign_id
        )
    ).first()
    if row is None:
        raise NotFound(f"Enrollment {enrollment_id} not found")
    return row


def pause(
    session: Session, organization_id: int, campaign_id: int, enrollment_id: int, *, now=None
) -> DripEnrollment:
    """Pause an active enrollment: it keeps its step and its timing anchor, sends nothing."""
    enrollment = get_enrollment(session, organization_id, campaign_id, enrollment_id)
    if enrollment.status == "paused":
        return enrollment
    _require_status(enrollment, "active", "paused")
    enrollment.status = "paused"
    enrollment.paused_at = now or utcnow()
    enrollment.next_send_at = None
    return enrollment


def resume(
    session: Session, organization_id: int, campaign_id: int, enrollment_id: int, *, now=None
) -> DripEnrollment:
    """Resume a paused enrollment at the step it was waiting for. Its due time counts from the
    same anchor as before the pause; a step that has become overdue goes out in the next
    window."""
    enrollment = get_enrollment(session, organization_id, campaign_id, enrollment_id)
    if enrollment.status == "active":
        return enrollment
    _require_status(enrollment, "paused", "resumed")
    now = now or utcnow()
    step = _live_step_or_next(session, enrollment)
    if step is None:
        _complete(enrollment, now)
        return enrollment
    campaign = session.get(DripCampaign, enrollment.campaign_id)
    contact_zone = session.scalar(
        select(Contact.timezone).where(Contact.id == enrollment.contact_id)
    )
    enrollment.status = "active"
    enrollment.paused_at = None
    enrollment.current_step_id = step.id
    enrollment.next_send_at = Scheduler(session, campaign, now).due_for(
        enrollment, step, contact_zone
    )
    return enrollment


def stop(
    session: Session,
    organization_id: int,
    campaign_id: int,
    enrollment_id: int,
    *,
    reason: str = "manual",
    now=None,
) -> DripEnrollment:
    """Stop a live enrollment for good (a stopped contact may be enrolled again later)."""
    enrollment = get_enrollment(session, organization_id, campaign_id, enrollment_id)
    if enrollment.status == "stopped":
        return enrollment
    _require_status(enrollment, LIVE_STATUSES, "stopped")
    enrollment.status = "stopped"
    enrollment.stopped_at = now or utcnow()
    enrollment.stop_reason = reason
    enrollment.next_send_at = None
    return enrollment


def apply_action(
    session: Session,
    organization_id: int,
    campaign_id: int,
    enrollment_id: int,
    action: str,
    *,
    now=None,
) -> DripEnrollment:
    """pause, resume or stop; the enrollment is looked up first, so a stranger gets 404."""
    get_enrollment(session, organization_id, campaign_id, enrollment_id)
    functions = {"pause": pause, "resume": resume, "stop": stop}
    if action not in functions:
        raise ValidationError(
            f"Unknown action {action!r}.", {"action": "One of pause, resume, stop."}
        )
    return functions[action](session, organization_id, campaign_id, enrollment_id, now=now)


# --- triggers and campaign edits (called by app.drip.contacts and app.drip.campaigns) --------


def on_contacts_created(session: Session, organization_id: int, contact_ids: list[int]) -> None:
    """Enroll newly created contacts in the active campaigns triggered by contact creation."""
    if contact_ids:
        for campaign in _triggered(session, organization_id, "contact_created"):
            enroll(session, campaign, contact_ids=contact_ids)


def on_tags_added(
    session: Session, organization_id: int, tag_id: int, contact_ids: list[int]
) -> None:
    """Enroll contacts that just got a tag in the active campaigns triggered by that tag."""
    name = session.scalar(
        select(Tag.name).where(Tag.id == tag_id, Tag.organization_id == organization_id)
    )
    if name is not None and contact_ids:
        for campaign in _triggered(session, organization_id, "tag_added", name):
            enroll(session, campaign, contact_ids=contact_ids)


def on_step_deleted(session: Session, step: DripCampaignStep) -> None:
    """Move live enrollments waiting on a just-deleted step forward to the next live step
    (or complete them). Called with step.deleted_at set and positions not yet renumbered."""
    now = utcnow()
    waiting = (
        DripEnrollment.campaign_id == step.campaign_id,
        DripEnrollment.current_step_id == step.id,
        DripEnrollment.status.in_(LIVE_STATUSES),
    )
    following = following_step(session, step.campaign_id, step.position)
    if following is None:
        session.execute(
            update(DripEnrollment)
            .where(*waiting)
            .values(
                status="completed",
                completed_at=now,
                current_step_id=None,
                next_send_at=None,
                updated_at=now,
            )
        )
        return
    campaign = session.get(DripCampaign, step.campaign_id)
    # Active ones get a due time for the next step from the same anchor; paused ones get one
    # when they resume.
    reschedule(session, campaign, *waiting, to_step=following, now=now)
    # A wait on the deleted step's branch ends with it: they go on in order.
    session.execute(
        update(DripEnrollment)
        .where(*waiting)
        .values(current_step_id=following.id, wait_reason=None, updated_at=now)
    )


def on_step_timing_changed(session: Session, step: DripCampaignStep) -> None:
    """Recompute next_send_at of live enrollments waiting on a step whose delay changed."""
    if step.deleted_at is None:
        campaign = session.get(DripCampaign, step.campaign_id)
        reschedule(session, campaign, DripEnrollment.current_step_id == step.id)


def on_branch_changed(session: Session, step: DripCampaignStep, *, now=None) -> int:
    """Make the active enrollments waiting on a step's branch due now, after the branch was
    added, edited or removed: the next pass decides again with the branch as it is (the
    timeout of a shorter wait, an event of a new rule, or the next step in order when it is
    gone). Returns how many."""
    now = now or utcnow()
    result = session.execute(
        update(DripEnrollment)
        .where(
            DripEnrollment.campaign_id == step.campaign_id,
            DripEnrollment.current_step_id == step.id,
            DripEnrollment.status == "active",
            DripEnrollment.wait_reason == WAIT_REASON,
        )
        .values(next_send_at=now, updated_at=now)
        .execution_options(synchronize_session=False)
    )
    return result.rowcount or 0


def on_window_changed(session: Session, campaign: DripCampaign) -> None:
    """Recompute next_send_at of the campaign's waiting enrollments after a send-window edit."""
    reschedule(session, campaign)


def _triggered(session: Session, organization_id: int, trigger: str, value: str | None = None):
    query = scoped(DripCampaign, organization_id).where(
        DripCampaign.status == "active", DripCampaign.trigger_type == trigger
    )
    if value is not None:
        query = query.where(DripCampaign.trigger_value == value)
    campaigns = session.scalars(query.order_by(DripCampaign.id)).all()
    return [c for c in campaigns if first_step(session, c.id) is not None]


def _require_status(enrollment: DripEnrollment, allowed, verb: str) -> None:
    allowed = (allowed,) if isinstance(allowed, str) else allowed
    if enrollment.status not in allowed:
        raise Conflict(f"This enrollment is {enrollment.status}; it cannot be {verb}.")


def _live_step_or_next(session: Session, enrollment: DripEnrollment) -> DripCampaignStep | None:
    step = session.get(DripCampaignStep, enrollment.current_step_id or 0)
    if step is None or step.deleted_at is None:
        return step
    return following_step(session, step.campaign_id, step.position)


def _complete(enrollment: DripEnrollment, now: datetime) -> None:
    enrollment.status = "completed"
    enrollment.completed_at = now
    enrollment.current_step_id = None
    enrollment.next_send_at = None
    enrollment.paused_at = None
