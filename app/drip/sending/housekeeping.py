"""Housekeeping around the processing pass: stale pending logs, log retention, campaign
counters. Set-based statements over a Session; the caller (app.tasks.jobs) commits, between batches
where a function works in batches, so no statement or transaction holds many rows for long."""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import and_, case, delete, exists, func, insert, literal, or_, select, update
from sqlalchemy.orm import Session, aliased

from app.drip.enrollment import LIVE_STATUSES
from app.models import DripActivityRollup, DripCampaign, DripEnrollment, DripMessageLog, JobRun
from app.models.analytics import AXIS_PATH, VIA_CODES

STALE_AFTER = timedelta(hours=24)
STALE_CODE = "stale"
STALE_REASON = "No outcome within 24 hours of the send attempt; marked failed."
BATCH = 5000
JOB_RUN_RETENTION_DAYS = 14
ENROLLMENT_COUNTERS = ("total_enrolled", "active_count", "completed_count")
MESSAGE_COUNTERS = (
    "sent_count",
    "delivered_count",
    "read_count",
    "replied_count",
    "clicked_count",
    "failed_count",
)

_LOG = DripMessageLog


def fail_stale_logs(
    session: Session, now: datetime, *, older_than: timedelta = STALE_AFTER, batch: int = BATCH
) -> int:
    """Mark up to `batch` pending logs created before now - older_than as failed; how many.

    Call again (after a commit) while it returns `batch`. The processor then treats the step as
    settled and moves the enrollment on.
    """
    cutoff = now - older_than
    # Pending without retry_at: a send that may have reached Meta and was never confirmed.
    # A log waiting for a retry (or for its paused account to be fixed) is still alive, unless
    # its enrollment has ended and nobody will retry it.
    ended = ~exists().where(
        DripEnrollment.id == _LOG.enrollment_id, DripEnrollment.status.in_(LIVE_STATUSES)
    )
    stale = and_(
        _LOG.status == "pending", _LOG.created_at < cutoff, or_(_LOG.retry_at.is_(None), ended)
    )
    ids = select(_LOG.id).where(stale).order_by(_LOG.id).limit(batch).scalar_subquery()
    result = session.execute(
        update(_LOG)
        # The status is checked again on the row itself: a send recorded meanwhile wins.
        .where(_LOG.id.in_(ids), stale)
        .values(
            status="failed",
            error_code=STALE_CODE,
            error_message=STALE_REASON,
            failed_at=now,
            retry_at=None,
            updated_at=now,
        )
        .execution_options(synchronize_session=False)
    )
    return result.rowcount


def delete_old_logs_batch(
    session: Session, now: datetime, *, days: int = 90, batch: int = BATCH
) -> int:
    """Delete one batch of logs created before now - days; how many (0 when none are left).

    Their status events and tracked links go with them (ON DELETE CASCADE). A log that is still
    the guard of a live enrollment's current step (the unique enrollment + step row that stops a
    second send) is kept until the enrollment moves on.
    """
    guarding = (
        select(DripEnrollment.id)
        .where(
            DripEnrollment.id == _LOG.enrollment_id,
            DripEnrollment.current_step_id == _LOG.step_id,
            DripEnrollment.status.in_(LIVE_STATUSES),
        )
        .exists()
    )
    ids = session.scalars(
        select(_LOG.id)
        .where(_LOG.created_at < now - timedelta(days=days), ~guarding)
        .order_by(_LOG.id)
        .limit(batch)
    ).all()
    if not ids:
        return 0
    session.execute(_keep_paths(ids))
    session.execute(
        delete(_LOG).where(_LOG.id.in_(ids)).execution_options(synchronize_session=False)
    )
    return len(ids)


def _keep_paths(log_ids: list[int]):
    """The paths (via_step_id, via) of the logs about to go, as AXIS_PATH rollup rows, so that
    the funnel's arrivals by path outlive them as its counts do (app.drip.analytics.arrivals)."""
    r = DripActivityRollup
    via = case(*((_LOG.via == v, c) for v, c in VIA_CODES.items() if v), else_=0)
    source = (
        select(
            _LOG.organization_id,
            _LOG.campaign_id,
            _LOG.step_id,
            literal(AXIS_PATH),
            via,
            func.coalesce(_LOG.via_step_id, 0),
            func.count(),
        )
        .where(_LOG.id.in_(log_ids))
        .group_by(_LOG.organization_id, _LOG.campaign_id, _LOG.step_id, via, _LOG.via_step_id)
    )
    columns = ["organization_id", "campaign_id", "step_id", "axis", "metric", "bucket", "count"]
    return insert(r).from_select(columns, source)


def delete_old_job_runs(session: Session, now: datetime, *, days: int = JOB_RUN_RETENTION_DAYS):
    """Forget job runs that started before now - days; how many were deleted."""
    result = session.execute(
        delete(JobRun)
        .where(JobRun.started_at < now - timedelta(days=days))
        .execution_options(synchronize_session=False)
    )
    return result.rowcount


def refresh_campaign_counters(session: Session, now: datetime) -> int:
    """Set the counters of every campaign from its enrollments and logs in one UPDATE ... FROM
    over grouped aggregates; how many campaigns were refreshed.

    An archived campaign is refreshed once more after archiving, then left alone.
    """
    campaign = aliased(DripCampaign)
    refreshable = or_(
        campaign.status != "archived",
        campaign.stats_refreshed_at.is_(None),
        campaign.archived_at.is_(None),
        campaign.stats_refreshed_at < campaign.archived_at,
    )
    wanted = select(campaign.id).where(refreshable)
    enrolled, logged = _enrollment_totals(wanted), _message_totals(wanted)
    totals = (
        select(
            campaign.id.label("campaign_id"),
            *(func.coalesce(enrolled.c[name], 0).label(name) for name in ENROLLMENT_COUNTERS),
            *(func.coalesce(logged.c[name], 0).label(name) for name in MESSAGE_COUNTERS),
        )
        .outerjoin(enrolled, enrolled.c.campaign_id == campaign.id)
        .outerjoin(logged, logged.c.campaign_id == campaign.id)
        .where(refreshable)
        .subquery()
    )
    counters = {name: totals.c[name] for name in (*ENROLLMENT_COUNTERS, *MESSAGE_COUNTERS)}
    result = session.execute(
        update(DripCampaign)
        .where(DripCampaign.id == totals.c.campaign_id)
        .values(**counters, stats_refreshed_at=now)
        .execution_options(synchronize_session=False)
    )
    return result.rowcount


def _enrollment_totals(campaign_ids):
    e = DripEnrollment
    return (
        select(
            e.campaign_id,
            func.count().label("total_enrolled"),
            func.count(case((e.status == "active", 1))).label("active_count"),
            func.count(case((e.status == "completed", 1))).label("completed_count"),
        )
        .where(e.campaign_id.in_(campaign_ids))
        .group_by(e.campaign_id)
        .subquery()
    )


def _message_totals(campaign_ids):
    """Messages sent, delivered (a read message was delivered), read, replied, clicked, failed."""
    return (
        select(
            _LOG.campaign_id,
            func.count(_LOG.sent_at).label("sent_count"),
            func.count(
                case((or_(_LOG.delivered_at.is_not(None), _LOG.read_at.is_not(None)), 1))
            ).label("delivered_count"),
            func.count(_LOG.read_at).label("read_count"),
            func.count(_LOG.replied_at).label("replied_count"),
            func.count(_LOG.clicked_at).label("clicked_count"),
            func.count(case((_LOG.status == "failed", 1))).label("failed_count"),
        )
        .where(_LOG.campaign_id.in_(campaign_ids))
        .group_by(_LOG.campaign_id)
        .subquery()
    )
