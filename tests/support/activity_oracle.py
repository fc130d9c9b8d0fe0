"""The activity and enrollment counts recomputed from the message logs and enrollments
themselves: the oracle the tests hold app.drip.analytics.activity and
app.drip.analytics.enrollment_counts (which read the trigger-kept rollups) against. Same
functions, shapes and meanings."""

from __future__ import annotations

from collections import defaultdict
from datetime import UTC, date, datetime

from sqlalchemy import BigInteger, and_, case, func, literal, or_, select, union_all
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.orm import Session
from sqlalchemy.sql.functions import FunctionElement

from app.drip.analytics.activity import METRICS, Counts
from app.drip.analytics.enrollment_counts import no_reasons
from app.drip.enrollment.endings import STOP_REASON_REPLIED
from app.drip.sql.time import BUCKET_SECONDS, epoch_seconds
from app.models import DripEnrollment, DripMessageLog

_LOG = DripMessageLog
_E = DripEnrollment


def bucket_of(column):
    """The 15-minute UTC bucket number of a timestamp column."""
    return epoch_seconds(column) // BUCKET_SECONDS


class seconds_between(FunctionElement):
    """Whole seconds (rounded) from the first timestamp to the second."""

    type = BigInteger()
    inherit_cache = True
    name = "seconds_between"


@compiles(seconds_between, "postgresql")
def _between_postgresql(element, compiler, **kw):
    start, end = (compiler.process(c, **kw) for c in element.clauses)
    return f"CAST(round(extract(epoch FROM ({end} - {start}))) AS BIGINT)"


@compiles(seconds_between, "sqlite")
def _between_sqlite(element, compiler, **kw):
    start, end = (compiler.process(c, **kw) for c in element.clauses)
    return f"CAST(round((julianday({end}) - julianday({start})) * 86400) AS INTEGER)"


def _metric_times():
    """Each metric's timestamp and the condition under which a log counts for it."""
    delivered = func.coalesce(_LOG.delivered_at, _LOG.read_at)
    return {
        "reached": (_LOG.created_at, None),
        "sent": (_LOG.sent_at, _LOG.sent_at.is_not(None)),
        "delivered": (delivered, or_(_LOG.delivered_at.is_not(None), _LOG.read_at.is_not(None))),
        "read": (_LOG.read_at, _LOG.read_at.is_not(None)),
        "replied": (_LOG.replied_at, _LOG.replied_at.is_not(None)),
        "clicked": (_LOG.clicked_at, _LOG.clicked_at.is_not(None)),
        "failed": (func.coalesce(_LOG.failed_at, _LOG.created_at), _LOG.status == "failed"),
    }


def step_totals(session: Session, campaign_ids: list[int]) -> dict[tuple[int, int], Counts]:
    """(campaign id, step id) -> counts of every metric over all time."""
    t = _metric_times()
    delivered_when = t["delivered"][1]
    rows = session.execute(
        select(
            _LOG.campaign_id,
            _LOG.step_id,
            func.count().label("reached"),
            func.count(_LOG.sent_at).label("sent"),
            func.count(func.nullif(delivered_when, False)).label("delivered"),
            func.count(_LOG.read_at).label("read"),
            func.count(_LOG.replied_at).label("replied"),
            func.count(_LOG.clicked_at).label("clicked"),
            func.count(func.nullif(t["failed"][1], False)).label("failed"),
        )
        .where(_LOG.campaign_id.in_(campaign_ids))
        .group_by(_LOG.campaign_id, _LOG.step_id)
    )
    totals: dict[tuple[int, int], Counts] = {}
    for row in rows:
        counts = Counts()
        for metric in METRICS:
            counts.add(metric, getattr(row, metric))
        totals[(row.campaign_id, row.step_id)] = counts
    return totals


def event_buckets(
    session: Session,
    campaign_ids: list[int],
    start: datetime,
    end: datetime,
    metrics: tuple[str, ...] = METRICS,
) -> list[tuple[int, str, int, int]]:
    """(campaign id, metric, bucket, count) of the events that happened in [start, end)."""
    times = _metric_times()
    parts = []
    for metric in metrics:
        column, condition = times[metric]
        where = [_LOG.campaign_id.in_(campaign_ids), column >= start, column < end]
        if condition is not None:
            where.append(condition)
        bucket = bucket_of(column).label("bucket")
        parts.append(
            select(_LOG.campaign_id, literal(metric).label("metric"), bucket, func.count())
            .where(*where)
            .group_by(_LOG.campaign_id, bucket)
        )
    return [tuple(row) for row in session.execute(union_all(*parts))]


def cohort_buckets(
    session: Session, campaign_id: int, start: datetime | None, end: datetime | None
) -> dict[tuple[int, int], Counts]:
    """(step id, bucket of the enrollment time) -> counts of every metric, for the messages
    of enrollments made in [start, end)."""
    times = _metric_times()
    bucket = bucket_of(DripEnrollment.enrolled_at).label("bucket")
    columns = [func.count().label("reached")]
    for metric in METRICS[1:]:
        columns.append(func.count(func.nullif(times[metric][1], False)).label(metric))
    where = [_LOG.campaign_id == campaign_id]
    if start is not None:
        where.append(DripEnrollment.enrolled_at >= start)
    if end is not None:
        where.append(DripEnrollment.enrolled_at < end)
    rows = session.execute(
        select(_LOG.step_id, bucket, *columns)
        .join(DripEnrollment, DripEnrollment.id == _LOG.enrollment_id)
        .where(*where)
        .group_by(_LOG.step_id, bucket)
    )
    result: dict[tuple[int, int], Counts] = defaultdict(Counts)
    for row in rows:
        counts = result[(row.step_id, row.bucket)]
        for metric in METRICS:
            counts.add(metric, getattr(row, metric))
    return result


def delays(session: Session, campaign_id: int, until: str) -> list[tuple[int, int]]:
    """(whole seconds from send to `until` ("read" or "replied"), how many messages), sorted."""
    until_column = _LOG.read_at if until == "read" else _LOG.replied_at
    seconds = seconds_between(_LOG.sent_at, until_column)
    # A receipt stamped a moment before our own send time (clock skew) counts as no delay.
    seconds = (
        func.max(seconds, 0)
        if session.get_bind().dialect.name == "sqlite"
        else (func.greatest(seconds, 0))
    )
    rows = session.execute(
        select(seconds.label("seconds"), func.count())
        .where(
            and_(
                _LOG.campaign_id == campaign_id,
                _LOG.sent_at.is_not(None),
                until_column.is_not(None),
            )
        )
        .group_by(seconds)
        .order_by(seconds)
    )
    return [(int(s), int(n)) for s, n in rows]


def failures_by_code(session: Session, campaign_id: int) -> dict[int, dict[str, int]]:
    """step id -> {error code: failed messages}, most frequent first."""
    rows = session.execute(
        select(_LOG.step_id, _LOG.error_code, func.count())
        .where(_LOG.campaign_id == campaign_id, _LOG.status == "failed")
        .group_by(_LOG.step_id, _LOG.error_code)
        .order_by(_LOG.step_id, func.count().desc(), _LOG.error_code)
    )
    result: dict[int, dict[str, int]] = {}
    for step_id, code, count in rows:
        result.setdefault(step_id, {})[code or "unknown"] = int(count)
    return result


# --- enrollments (app.drip.analytics.enrollment_counts) ---


def _reason():
    """Why an enrollment that did not complete went no further."""
    return case(
        (_E.status.in_(("active", "paused")), "waiting"),
        (_E.status == "unsubscribed", "unsubscribed"),
        (_E.status == "failed", "failed"),
        (_E.stop_reason == STOP_REASON_REPLIED, "replied"),
        else_="stopped",
    )


def status_totals(session: Session, campaign_ids: list[int]) -> dict[int, dict[str, int]]:
    """campaign id -> {status: count}."""
    rows = session.execute(
        select(_E.campaign_id, _E.status, func.count())
        .where(_E.campaign_id.in_(campaign_ids))
        .group_by(_E.campaign_id, _E.status)
    )
    totals: dict[int, dict[str, int]] = defaultdict(dict)
    for campaign_id, status, count in rows:
        totals[campaign_id][status] = int(count)
    return totals


def drop_offs(session: Session, campaign_id: int) -> dict[int | None, dict[str, int]]:
    """last step id (None: before the first message) -> {reason: count} of the enrollments
    that did not complete."""
    reason = _reason().label("reason")
    rows = session.execute(
        select(_E.last_step_id, reason, func.count())
        .where(_E.campaign_id == campaign_id, _E.status != "completed")
        .group_by(_E.last_step_id, reason)
    )
    result: dict[int | None, dict[str, int]] = defaultdict(no_reasons)
    for step_id, why, count in rows:
        result[step_id][why] += int(count)
    return result


def cohort_bucket_sizes(
    session: Session, campaign_id: int, start: datetime | None, end: datetime | None
) -> dict[int, tuple[int, int]]:
    """bucket of the enrollment time -> (enrollments, completed) for enrollments in [start, end)."""
    bucket = bucket_of(_E.enrolled_at).label("bucket")
    where = [_E.campaign_id == campaign_id]
    if start is not None:
        where.append(_E.enrolled_at >= start)
    if end is not None:
        where.append(_E.enrolled_at < end)
    rows = session.execute(
        select(bucket, func.count(), func.count(case((_E.status == "completed", 1))))
        .where(*where)
        .group_by(bucket)
    )
    return {int(b): (int(size), int(done)) for b, size, done in rows}


def enrollment_buckets(
    session: Session, campaign_ids: list[int], start: datetime, end: datetime
) -> list[tuple[int, str, int, int]]:
    """(campaign id, "enrolled" | "completed", bucket, count) for events in [start, end)."""
    parts = []
    for name, column in (("enrolled", _E.enrolled_at), ("completed", _E.completed_at)):
        bucket = bucket_of(column).label("bucket")
        parts.append(
            select(_E.campaign_id, literal(name).label("metric"), bucket, func.count())
            .where(_E.campaign_id.in_(campaign_ids), column >= start, column < end)
            .group_by(_E.campaign_id, bucket)
        )
    return [tuple(row) for row in session.execute(union_all(*parts))]


# --- folded into local days in Python, the way the SQL arithmetic (LocalDays) must agree with


def bucket_start(number: int) -> datetime:
    return datetime.fromtimestamp(number * BUCKET_SECONDS, UTC)


def local_day(number: int, zone) -> date:
    """The calendar day, on the zone's clock, that a bucket falls on."""
    return bucket_start(number).astimezone(zone).date()


def event_days(session, campaign_ids, start, end, days, metrics=METRICS):
    """(campaign id, metric, local day, count), folded from per-bucket counts."""
    folded = defaultdict(int)
    for cid, metric, bucket, count in event_buckets(session, campaign_ids, start, end, metrics):
        folded[(cid, metric, local_day(bucket, days.zone))] += count
    return [(*key, n) for key, n in folded.items() if n]


def cohort_days(session, campaign_id, start, end, days):
    """(step id, local day of the enrollment, metric, count)."""
    folded = defaultdict(int)
    for (step_id, bucket), counts in cohort_buckets(session, campaign_id, start, end).items():
        for metric in METRICS:
            folded[(step_id, local_day(bucket, days.zone), metric)] += counts[metric]
    return [(*key, n) for key, n in folded.items() if n]


def cohort_sizes(session, campaign_id, start, end, days):
    """local day of enrollment -> (enrollments, completed)."""
    folded = defaultdict(lambda: [0, 0])
    for bucket, (size, done) in cohort_bucket_sizes(session, campaign_id, start, end).items():
        pair = folded[local_day(bucket, days.zone)]
        pair[0] += size
        pair[1] += done
    return {day: tuple(pair) for day, pair in folded.items()}


def enrollment_days(session, campaign_ids, start, end, days):
    """(campaign id, "enrolled" | "completed", local day, count)."""
    folded = defaultdict(int)
    for cid, name, bucket, count in enrollment_buckets(session, campaign_ids, start, end):
        folded[(cid, name, local_day(bucket, days.zone))] += count
    return [(*key, n) for key, n in folded.items() if n]
