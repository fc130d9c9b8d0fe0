"""Enrollments counted for the analytics from the enrollment rollups (kept by triggers on
drip_enrollments, migration 0006): by status, by where they stopped and why, by enrollment
bucket (cohorts), and enrollments and completions per 15-minute bucket."""

from __future__ import annotations

from collections import defaultdict
from datetime import UTC, date, datetime
from functools import lru_cache

from sqlalchemy import bindparam, case, func, literal, select, union_all
from sqlalchemy.orm import Session

from app.drip.analytics.local_days import LocalDays
from app.drip.analytics.shared import shared
from app.drip.enrollment import LIVE_STATUSES
from app.drip.sql import BUCKET_SECONDS, bucket_bounds, bucket_number, bucket_range
from app.models import DripEnrollmentRollup

DROP_OFF_REASONS = ("replied", "unsubscribed", "failed", "stopped", "waiting")
NOT_COMPLETED, NO_STEP = -1, 0
_R = DripEnrollmentRollup
_TOTAL = func.sum(_R.count)


def reason_of(status: str, replied: bool) -> str:
    """Why an enrollment that did not complete went no further."""
    if status in LIVE_STATUSES:
        return "waiting"
    if status in ("unsubscribed", "failed"):
        return status
    return "replied" if replied else "stopped"


def no_reasons() -> dict[str, int]:
    return dict.fromkeys(DROP_OFF_REASONS, 0)


# Built once, as app.drip.analytics.activity's: a page runs them every time.
_STATUS_TOTALS = (
    select(_R.campaign_id, _R.status, _TOTAL)
    .where(_R.campaign_id.in_(bindparam("campaign_ids", expanding=True)))
    .group_by(_R.campaign_id, _R.status)
    .having(_TOTAL != 0)
)
_DROP_OFFS = (
    select(_R.last_step_id, _R.status, _R.replied, _TOTAL)
    .where(_R.campaign_id == bindparam("campaign_id"), _R.status != "completed")
    .group_by(_R.last_step_id, _R.status, _R.replied)
    .having(_TOTAL != 0)
)


@shared
def status_totals(session: Session, campaign_ids: list[int]) -> dict[int, dict[str, int]]:
    """campaign id -> {status: count}."""
    rows = session.execute(_STATUS_TOTALS, {"campaign_ids": list(campaign_ids)})
    totals: dict[int, dict[str, int]] = defaultdict(dict)
    for campaign_id, status, count in rows:
        totals[campaign_id][status] = int(count)
    return totals


def drop_offs(session: Session, campaign_id: int) -> dict[int | None, dict[str, int]]:
    """last step id (None: before the first message) -> {reason: count} of the enrollments
    that did not complete."""
    rows = session.execute(_DROP_OFFS, {"campaign_id": campaign_id})
    result: dict[int | None, dict[str, int]] = defaultdict(no_reasons)
    for step_id, status, replied, count in rows:
        key = None if step_id == NO_STEP else step_id
        result[key][reason_of(status, bool(replied))] += int(count)
    return result


# The local-day statements, once per LocalDays.shape (the zone's offsets are bound).
@lru_cache(maxsize=32)
def _cohort_sizes(shape: int, bounded_start: bool, bounded_end: bool):
    where = [
        _R.campaign_id == bindparam("campaign_id"),
        *bucket_range(_R.enrolled_bucket, bounded_start, bounded_end),
    ]
    day = LocalDays.day_sql(_R.enrolled_bucket, shape).label("day")
    completed = func.sum(case((_R.status == "completed", _R.count), else_=0))
    return select(day, _TOTAL, completed).where(*where).group_by(day).having(_TOTAL != 0)


def cohort_sizes(
    session: Session, campaign_id: int, start: datetime | None, end: datetime | None, days
) -> dict[date, tuple[int, int]]:
    """local day of enrollment -> (enrollments, completed) for enrollments in [start, end)."""
    params = {"campaign_id": campaign_id, **bucket_bounds(start, end), **days.params()}
    statement = _cohort_sizes(days.shape, start is not None, end is not None)
    rows = session.execute(statement, params)
    return {days.date(n): (int(size), int(done)) for n, size, done in rows}


@lru_cache(maxsize=32)
def _enrollment_days(shape: int):
    parts = []
    for index, column in enumerate((_R.enrolled_bucket, _R.completed_bucket)):
        day = LocalDays.day_sql(column, shape).label("day")
        parts.append(
            select(literal(index).label("event"), _R.campaign_id, day, _TOTAL)
            .where(
                _R.campaign_id.in_(bindparam("campaign_ids", expanding=True)),
                column >= bindparam("low"),
                column < bindparam("high"),
            )
            .group_by(_R.campaign_id, day)
            .having(_TOTAL != 0)
        )
    return union_all(*parts)  # one round trip for both


def enrollment_days(
    session: Session, campaign_ids: list[int], start: datetime, end: datetime, days
) -> list[tuple[int, str, date, int]]:
    """(campaign id, "enrolled" | "completed", local day, count) for events in [start, end)."""
    names = ("enrolled", "completed")
    params = {
        "campaign_ids": list(campaign_ids),
        "low": bucket_number(start),
        "high": bucket_number(end),
        **days.params(),
    }
    rows = session.execute(_enrollment_days(days.shape), params)
    return [(cid, names[event], days.date(n), int(count)) for event, cid, n, count in rows]


_FIRST_ENROLLED = (
    select(_R.campaign_id, func.min(_R.enrolled_bucket))
    .where(_R.campaign_id.in_(bindparam("campaign_ids", expanding=True)))
    .group_by(_R.campaign_id)
)


def first_enrolled(session: Session, campaign_ids: list[int]) -> dict[int, datetime]:
    """campaign id -> the start of the 15-minute bucket of its first enrollment (campaigns
    without one are absent). enrolled_at never changes, so every rollup row of an enrollment
    keeps its bucket: the smallest bucket is the first enrollment's."""
    rows = session.execute(_FIRST_ENROLLED, {"campaign_ids": list(campaign_ids)})
    return {
        cid: datetime.fromtimestamp(int(bucket) * BUCKET_SECONDS, UTC)
        for cid, bucket in rows
        if bucket is not None
    }
