"""Scheduling over the database: a campaign's send window, each contact's clock, and the
rescheduling of waiting enrollments in batches (not those waiting on a branch: the wait's
clock is its own). The arithmetic is in schedule.py."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import bindparam, or_, select, update
from sqlalchemy.orm import Session
from sqlalchemy.orm.util import identity_key

from app.drip.enrollment.branching import WAIT_REASON
from app.drip.enrollment.schedule import ALL_WEEKDAYS, SendWindow, next_send_time, window_zone
from app.drip.sql import fresh_plans
from app.drip.zones import organization_zone_name
from app.models import Contact, DripCampaign, DripCampaignStep, DripEnrollment, utcnow

BATCH_SIZE = 2000


def campaign_window(campaign: DripCampaign) -> SendWindow:
    """The campaign's send window as the scheduler reads it."""
    return SendWindow(
        start=campaign.window_start,
        end=campaign.window_end,
        weekdays=tuple(sorted(campaign.window_weekdays or ALL_WEEKDAYS)),
        timezone=campaign.window_timezone or "UTC",
    )


class Scheduler:
    """next_send_at for one campaign's enrollments at one moment, remembered per
    (anchor, delay, clock): a bulk enrollment shares one anchor, so it costs one computation
    per distinct contact time zone."""

    def __init__(self, session: Session, campaign: DripCampaign, now: datetime | None = None):
        self.window = campaign_window(campaign)
        self.org_zone = organization_zone_name(session, campaign.organization_id)
        self.now = now or utcnow()
        self._memo: dict[tuple, datetime] = {}

    @property
    def per_contact(self) -> bool:
        """Whether the time depends on the contact's own zone."""
        return self.window.timezone == "contact"

    def due(self, anchor: datetime, amount: int, unit: str, contact_zone: str | None) -> datetime:
        """When a step with this delay from this anchor goes out: never in the past, and an
        overdue step goes out in the next window."""
        zone = window_zone(self.window, contact_zone, self.org_zone)
        key = (anchor, amount, unit, zone.key)
        if key not in self._memo:
            self._memo[key] = next_send_time(
                anchor, amount, unit, self.window, zone, not_before=self.now
            )
        return self._memo[key]

    def due_for(self, enrollment: DripEnrollment, step: DripCampaignStep, contact_zone) -> datetime:
        anchor = enrollment.last_sent_at or enrollment.enrolled_at
        return self.due(anchor, step.delay_amount, step.delay_unit, contact_zone)


def reschedule(
    session: Session,
    campaign: DripCampaign,
    *conditions,
    to_step: DripCampaignStep | None = None,
    now: datetime | None = None,
) -> int:
    """Recompute next_send_at of the campaign's active enrollments matching conditions, each
    from its own anchor (last send, or enrollment for the first step). With to_step they move
    to that step first (same anchor). Works in id-ordered batches; returns the count."""
    scheduler = Scheduler(session, campaign, now)
    delays = _step_delays(session, campaign.id) if to_step is None else {}
    if to_step is None:
        # Waiting on a branch, or pointed at its end: their time is the branch's, not a delay's.
        conditions = (*conditions, *not_on_branch())
    table = DripEnrollment.__table__
    values = {"next_send_at": bindparam("b_next"), "updated_at": scheduler.now}
    if to_step is not None:
        values["current_step_id"] = to_step.id
    statement = update(table).where(table.c.id == bindparam("b_id")).values(**values)
    query = (
        select(
            DripEnrollment.id,
            DripEnrollment.last_sent_at,
            DripEnrollment.enrolled_at,
            DripEnrollment.current_step_id,
            Contact.timezone,
        )
        .join(Contact, Contact.id == DripEnrollment.contact_id)
        .where(
            DripEnrollment.campaign_id == campaign.id,
            DripEnrollment.status == "active",
            *conditions,
        )
        .order_by(DripEnrollment.id)
        .limit(BATCH_SIZE)
    )
    with fresh_plans(session):
        return _reschedule_batches(session, query, statement, scheduler, delays, to_step)


def not_on_branch() -> tuple:
    """Enrollments neither waiting on their step's branch nor pointed at the end it led to."""
    e = DripEnrollment
    return (
        or_(e.wait_reason.is_(None), e.wait_reason != WAIT_REASON),
        or_(
            e.via_step_id.is_(None), e.current_step_id.is_(None), e.via_step_id != e.current_step_id
        ),
    )


def _reschedule_batches(session, query, statement, scheduler, delays, to_step) -> int:
    last_id, count = 0, 0
    while rows := session.execute(query.where(DripEnrollment.id > last_id)).all():
        params = []
        for row in rows:
            if to_step is not None:
                amount, unit = to_step.delay_amount, to_step.delay_unit
            elif row.current_step_id in delays:
                amount, unit = delays[row.current_step_id]
            else:
                continue
            anchor = row.last_sent_at or row.enrolled_at
            params.append(
                {"b_id": row.id, "b_next": scheduler.due(anchor, amount, unit, row.timezone)}
            )
        if params:
            session.execute(statement, params)
            changed = ["next_send_at", "current_step_id", "updated_at"]
            expire_enrollments(session, [p["b_id"] for p in params], changed)
        last_id, count = rows[-1].id, count + len(params)
    return count


def _step_delays(session: Session, campaign_id: int) -> dict[int, tuple[int, str]]:
    rows = session.execute(
        select(
            DripCampaignStep.id, DripCampaignStep.delay_amount, DripCampaignStep.delay_unit
        ).where(DripCampaignStep.campaign_id == campaign_id, DripCampaignStep.deleted_at.is_(None))
    )
    return {row.id: (row.delay_amount, row.delay_unit) for row in rows}


def expire_enrollments(session: Session, ids: list[int], columns: list[str] | None = None):
    """Enrollments already loaded for these rows re-read the columns (all, without `columns`)
    a bulk UPDATE changed behind their back."""
    for row_id in ids:
        loaded = session.identity_map.get(identity_key(DripEnrollment, row_id))
        if loaded is not None:
            session.expire(loaded, columns)
