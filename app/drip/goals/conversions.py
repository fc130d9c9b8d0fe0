"""Goal conversions: an event named as a campaign's goal, within the goal's days of the
contact's enrolling (or of their joining the holdout), converts that enrollment once.

Order-independent: events may arrive in any order, and the conversion is always the earliest
goal event in the window (a later-arriving earlier event replaces it, through ON CONFLICT ...
DO UPDATE WHERE it is earlier), so the figures do not depend on arrival order. Attribution:
the last message sent to the enrollment at or before the event (none for a holdout, or
before the first send). With exit_on_goal a live enrollment ends "converted" at the event.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from app.drip import enrollment
from app.drip.sql import upsert_insert
from app.models import (
    DripCampaign,
    DripConversion,
    DripEnrollment,
    DripEvent,
    DripHoldout,
    DripMessageLog,
)

STOP_REASON_CONVERTED = enrollment.STOP_REASON_CONVERTED
_TABLE = DripConversion.__table__


def convert(session: Session, event: DripEvent, now: datetime) -> int:
    """Record the conversions `event` makes; how many it made or moved earlier."""
    campaigns = session.execute(
        select(DripCampaign.id, DripCampaign.goal_within_days, DripCampaign.exit_on_goal).where(
            DripCampaign.organization_id == event.organization_id,
            DripCampaign.goal_event == event.name,
            DripCampaign.goal_within_days.is_not(None),
        )
    ).all()
    made = 0
    for campaign in campaigns:
        since = event.occurred_at - timedelta(days=campaign.goal_within_days)
        enrollments = session.scalars(
            select(DripEnrollment.id).where(
                DripEnrollment.campaign_id == campaign.id,
                DripEnrollment.contact_id == event.contact_id,
                DripEnrollment.enrolled_at <= event.occurred_at,
                DripEnrollment.enrolled_at >= since,
            )
        ).all()
        converted = []
        for enrollment_id in enrollments:
            log = _last_sent(session, enrollment_id, event.occurred_at)
            if _upsert(session, event, campaign.id, {"enrollment_id": enrollment_id}, log):
                made += 1
                converted.append(enrollment_id)
        holdouts = session.scalars(
            select(DripHoldout.id).where(
                DripHoldout.campaign_id == campaign.id,
                DripHoldout.contact_id == event.contact_id,
                DripHoldout.assigned_at <= event.occurred_at,
                DripHoldout.assigned_at >= since,
            )
        ).all()
        for holdout_id in holdouts:
            made += _upsert(session, event, campaign.id, {"holdout_id": holdout_id}, None)
        if campaign.exit_on_goal and converted:
            enrollment.end_enrollments(
                session,
                DripEnrollment.id.in_(converted),
                status="stopped",
                reason=STOP_REASON_CONVERTED,
                at=min(event.occurred_at, now),
            )
    if made:  # a goal may settle a branch waiting for it
        enrollment.rejudge_branches(session, DripEnrollment.contact_id == event.contact_id, now=now)
    return made


def _last_sent(session: Session, enrollment_id: int, at: datetime):
    return session.execute(
        select(DripMessageLog.id, DripMessageLog.step_id)
        .where(
            DripMessageLog.enrollment_id == enrollment_id,
            DripMessageLog.sent_at.is_not(None),
            DripMessageLog.sent_at <= at,
        )
        .order_by(DripMessageLog.sent_at.desc(), DripMessageLog.id.desc())
        .limit(1)
    ).first()


def _upsert(session: Session, event: DripEvent, campaign_id: int, owner: dict, log) -> bool:
    """Insert the conversion, or move an existing one to this event when it is earlier."""
    (key,) = owner
    values = {
        "organization_id": event.organization_id,
        "campaign_id": campaign_id,
        "contact_id": event.contact_id,
        "event_id": event.id,
        "occurred_at": event.occurred_at,
        "value": event.value,
        "currency": event.currency,
        "attributed_log_id": log.id if log else None,
        "attributed_step_id": log.step_id if log else None,
        "created_at": event.received_at,
        **owner,
    }
    insert = upsert_insert(session, _TABLE).values(**values)
    changed = {name: insert.excluded[name] for name in values if name not in ("created_at", key)}
    statement = insert.on_conflict_do_update(
        index_elements=[key],
        set_=changed,
        where=_TABLE.c.occurred_at > insert.excluded.occurred_at,
    ).returning(_TABLE.c.id)
    return session.execute(statement).scalar() is not None
