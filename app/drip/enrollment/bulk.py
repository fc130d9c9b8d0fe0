"""Pause, resume or stop many of a campaign's enrollments at once: chosen ids, or all that
match a filter (listing.EnrollmentFilter). Set-based UPDATEs in id-ordered batches, so a
campaign of a million enrollments is never loaded; an enrollment already in the asked state,
or finished, is skipped and counted. The audit event is written by the caller
(app.drip.campaigns.bulk_change_enrollments): enrollment sits below audit."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import bindparam, func, select, update
from sqlalchemy.orm import Session

from app.drip.enrollment.actions import ACTIONS, resume
from app.drip.enrollment.enrolling import LIVE_STATUSES
from app.drip.enrollment.listing import EnrollmentFilter, filter_conditions
from app.drip.enrollment.timing import Scheduler
from app.drip.errors import ValidationError
from app.drip.limits import BULK_IDS_MAX
from app.drip.scope import get_scoped
from app.drip.sql import fresh_plans
from app.models import Contact, DripCampaign, DripCampaignStep, DripEnrollment, utcnow

BATCH_SIZE = 1000
# Which statuses each action changes; the others are skipped.
CHANGES = {"pause": ("active",), "resume": ("paused",), "stop": LIVE_STATUSES}


@dataclass(frozen=True)
class BulkResult:
    action: str
    matched: int  # the enrollments the ids or the filter select (in this campaign)
    changed: int
    skipped: int  # matched but already in that state, or finished
    not_found: int = 0  # ids that are not this campaign's enrollments (ignored)


def bulk_action(
    session: Session,
    organization_id: int,
    campaign_id: int,
    action: str,
    *,
    ids: list[int] | None = None,
    where: EnrollmentFilter | None = None,
    now: datetime | None = None,
) -> BulkResult:
    """Apply `action` to the enrollments with these ids, or matching `where` (exactly one)."""
    campaign = get_scoped(session, DripCampaign, organization_id, campaign_id)
    if action not in ACTIONS:
        raise ValidationError(f"Unknown action {action!r}.", {"action": "pause, resume or stop."})
    if (ids is None) == (where is None):
        raise ValidationError(
            "Give either enrollment ids or a filter, not both.",
            {"enrollmentIds": "Exactly one of enrollmentIds and filter."},
        )
    if ids is not None:
        if not ids:
            raise ValidationError("Choose at least one enrollment.", {"enrollmentIds": "Empty."})
        if len(ids) > BULK_IDS_MAX:
            raise ValidationError(
                f"At most {BULK_IDS_MAX:,} enrollments at once: use a filter for more.",
                {"enrollmentIds": f"At most {BULK_IDS_MAX:,} ids."},
            )
        where = EnrollmentFilter(ids=tuple(sorted(set(ids))))
    now = now or utcnow()
    conditions = filter_conditions(organization_id, campaign.id, where)
    matched = session.scalar(select(func.count()).select_from(DripEnrollment).where(*conditions))
    changing = [*conditions, DripEnrollment.status.in_(CHANGES[action])]
    with fresh_plans(session):
        if action == "resume":
            changed = _resume(session, campaign, changing, now)
        else:
            changed = _set(session, changing, _values(action, now))
    # Objects loaded before were changed behind the session's back.
    session.expire_all()
    not_found = len(where.ids) - matched if where.ids is not None else 0
    return BulkResult(action, matched, changed, matched - changed, not_found)


def _values(action: str, now: datetime) -> dict:
    if action == "pause":
        return {"status": "paused", "paused_at": now, "next_send_at": None, "updated_at": now}
    return {
        "status": "stopped",
        "stopped_at": now,
        "stop_reason": "manual",
        "next_send_at": None,
        "updated_at": now,
    }


def _batches(session: Session, conditions: list):
    """Id-ordered batches of the matching ids (each batch changes them, so the next query
    starts after the last id rather than at an offset)."""
    last = 0
    query = select(DripEnrollment.id).where(*conditions).order_by(DripEnrollment.id)
    while ids := list(session.scalars(query.where(DripEnrollment.id > last).limit(BATCH_SIZE))):
        yield ids
        last = ids[-1]


def _set(session: Session, conditions: list, values: dict) -> int:
    changed = 0
    for ids in _batches(session, conditions):
        result = session.execute(
            update(DripEnrollment)
            .where(DripEnrollment.id.in_(ids), *conditions)
            .values(**values)
            .execution_options(synchronize_session=False)
        )
        changed += result.rowcount
    return changed


def _resume(session: Session, campaign: DripCampaign, conditions: list, now: datetime) -> int:
    """Each resumed enrollment gets its due time from its own anchor (as resume() does); one
    whose step was deleted meanwhile goes through resume() itself (moves on or completes)."""
    scheduler = Scheduler(session, campaign, now)
    table = DripEnrollment.__table__
    statement = (
        update(table)
        .where(table.c.id == bindparam("b_id"), table.c.status == "paused")
        .values(status="active", paused_at=None, next_send_at=bindparam("b_next"), updated_at=now)
    )
    e, step = DripEnrollment, DripCampaignStep
    changed = 0
    for ids in _batches(session, conditions):
        rows = session.execute(
            select(
                e.id,
                e.last_sent_at,
                e.enrolled_at,
                Contact.timezone,
                step.delay_amount,
                step.delay_unit,
                step.deleted_at,
            )
            .join(Contact, Contact.id == e.contact_id)
            .outerjoin(step, step.id == e.current_step_id)
            .where(e.id.in_(ids))
        ).all()
        params, one_by_one = [], []
        for row in rows:
            if row.delay_amount is None or row.deleted_at is not None:
                one_by_one.append(row.id)
                continue
            anchor = row.last_sent_at or row.enrolled_at
            due = scheduler.due(anchor, row.delay_amount, row.delay_unit, row.timezone)
            params.append({"b_id": row.id, "b_next": due})
        if params:
            session.execute(statement, params)
            changed += len(params)
        for enrollment_id in one_by_one:
            resume(session, campaign.organization_id, campaign.id, enrollment_id, now=now)
            changed += 1
        session.flush()
    return changed
