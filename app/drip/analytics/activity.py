"""What happened to a campaign's messages, counted in SQL from the activity rollups: per step,
per metric, per 15-minute bucket of either the event's own time (time series) or its
enrollment's time (cohorts), and the send-to-read / send-to-reply delays as a multiset of
whole seconds.

The rollups are written by triggers on drip_message_logs (migration 0006) in the same
transaction as each log change, so these counts are exact at any moment, and they outlive
the logs' retention. What each metric means:
- reached: a message was attempted (a log exists), at its creation;
- sent, read, replied, clicked: the log's time of each (sent_at ...);
- delivered: delivered_at, or read_at when the read came first (a read message arrived);
- failed: the log's status is failed, at failed_at.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date, datetime
from functools import lru_cache

from sqlalchemy import BigInteger, bindparam, case, cast, func, or_, select
from sqlalchemy.orm import Session

from app.drip.analytics.local_days import LocalDays
from app.drip.analytics.rates import DELAY_QUANTILES, summary
from app.drip.analytics.shared import shared
from app.drip.sql import bucket_bounds, bucket_range
from app.models import DripActivityRollup, DripCampaignStep
from app.models.analytics import AXIS_COHORT, AXIS_DELAY, AXIS_EVENT, AXIS_FAILURE

METRICS = ("reached", "sent", "delivered", "read", "replied", "clicked", "failed")
_R = DripActivityRollup
# The statements a page runs every time are built once, with bound parameters: building one
# and computing its cache key cost more CPU than running it (issue 21).
_CAMPAIGN = bindparam("campaign_id")


@dataclass
class Counts:
    """One number per metric."""

    values: dict[str, int] = field(default_factory=lambda: dict.fromkeys(METRICS, 0))

    def __getitem__(self, metric: str) -> int:
        return self.values[metric]

    def add(self, metric: str, count: int) -> None:
        self.values[metric] += int(count)


def _range(axis: int, bounded_start: bool, bounded_end: bool) -> list:
    """Rows of one axis whose bucket lies in [:low, :high) (either bound left out)."""
    return [_R.axis == axis, *bucket_range(_R.bucket, bounded_start, bounded_end)]


_STEP_TOTALS = (
    select(_R.campaign_id, _R.step_id, _R.metric, func.sum(_R.count))
    .where(_R.campaign_id.in_(bindparam("campaign_ids", expanding=True)), _R.axis == AXIS_EVENT)
    .group_by(_R.campaign_id, _R.step_id, _R.metric)
)


@shared
def step_totals(session: Session, campaign_ids: list[int]) -> dict[tuple[int, int], Counts]:
    """(campaign id, step id) -> counts of every metric over all time."""
    rows = session.execute(_STEP_TOTALS, {"campaign_ids": list(campaign_ids)})
    totals: dict[tuple[int, int], Counts] = defaultdict(Counts)
    for campaign_id, step_id, metric, count in rows:
        totals[(campaign_id, step_id)].add(METRICS[metric], count)
    return dict(totals)


# The local-day statements depend on the zone only through the number of its offsets in the
# range (LocalDays.shape): built once per shape, the offsets bound.
@lru_cache(maxsize=32)
def _event_days(shape: int):
    day = LocalDays.day_sql(_R.bucket, shape).label("day")
    total = func.sum(_R.count)
    return (
        select(_R.campaign_id, _R.metric, day, total)
        .where(
            _R.campaign_id.in_(bindparam("campaign_ids", expanding=True)),
            _R.metric.in_(bindparam("metrics", expanding=True)),
            *_range(AXIS_EVENT, True, True),
        )
        .group_by(_R.campaign_id, _R.metric, day)
        # A time that moved (an earlier delivery report) leaves its old bucket at zero.
        .having(total != 0)
    )


def event_days(
    session: Session,
    campaign_ids: list[int],
    start: datetime,
    end: datetime,
    days: LocalDays,
    metrics: tuple[str, ...] = METRICS,
) -> list[tuple[int, str, date, int]]:
    """(campaign id, metric, local day, count) of the events that happened in [start, end)."""
    rows = session.execute(
        _event_days(days.shape),
        {
            "campaign_ids": list(campaign_ids),
            "metrics": [METRICS.index(m) for m in metrics],
            **bucket_bounds(start, end),
            **days.params(),
        },
    )
    return [(cid, METRICS[metric], days.date(n), int(count)) for cid, metric, n, count in rows]


@lru_cache(maxsize=32)
def _cohort_days(shape: int, bounded_start: bool, bounded_end: bool):
    day = LocalDays.day_sql(_R.bucket, shape).label("day")
    total = func.sum(_R.count)
    return (
        select(_R.step_id, day, _R.metric, total)
        .where(_R.campaign_id == _CAMPAIGN, *_range(AXIS_COHORT, bounded_start, bounded_end))
        .group_by(_R.step_id, day, _R.metric)
        .having(total != 0)
    )


def cohort_days(
    session: Session, campaign_id: int, start: datetime | None, end: datetime | None, days
) -> list[tuple[int, date, str, int]]:
    """(step id, local day of the enrollment, metric, count) for the messages of enrollments
    made in [start, end)."""
    statement = _cohort_days(days.shape, start is not None, end is not None)
    rows = session.execute(
        statement, {"campaign_id": campaign_id, **bucket_bounds(start, end), **days.params()}
    )
    return [(step, days.date(n), METRICS[metric], int(count)) for step, n, metric, count in rows]


def delays(session: Session, campaign_id: int, until: str) -> list[tuple[int, int]]:
    """(whole seconds from send to `until` ("read" or "replied"), how many messages), sorted:
    the multiset delay_summaries reads (tests recount it from the logs)."""
    total = func.sum(_R.count)
    rows = session.execute(
        select(_R.bucket, total)
        .where(
            _R.campaign_id == campaign_id,
            _R.axis == AXIS_DELAY,
            _R.metric == METRICS.index(until),
        )
        .group_by(_R.bucket)
        .having(total > 0)
        .order_by(_R.bucket)
    )
    return [(int(seconds), int(n)) for seconds, n in rows]


def _delay_quantiles():
    """Per metric: its count, then per DELAY_QUANTILES the lower rank, and the values at that
    rank and the next (NULL past the last)."""
    total = func.sum(_R.count)
    per_second = (
        select(_R.metric, _R.bucket.label("seconds"), total.label("n"))
        .where(
            _R.campaign_id == _CAMPAIGN,
            _R.axis == AXIS_DELAY,
            _R.metric.in_(bindparam("metrics", expanding=True)),
        )
        .group_by(_R.metric, _R.bucket)
        .having(total > 0)
        .subquery()
    )
    p = per_second.c
    running = select(
        p.metric,
        p.seconds,
        func.sum(p.n).over(partition_by=p.metric, order_by=p.seconds).label("upto"),
        cast(func.sum(p.n).over(partition_by=p.metric), BigInteger).label("total"),
    ).subquery()
    r = running.c

    def value_at(rank):  # the first value whose running total passes the rank
        return func.min(case((r.upto > rank, r.seconds)))

    columns = []
    for _, q in DELAY_QUANTILES:
        # int(q * (total - 1)) in integers (rates.low_rank; checked against each other).
        low = (r.total - 1) * round(q * 100) // 100
        columns += [low, value_at(low), value_at(low + 1)]
    return select(r.metric, r.total, *columns).group_by(r.metric, r.total)


_DELAY_QUANTILES = _delay_quantiles()


def delay_summaries(
    session: Session, campaign_id: int, untils: tuple[str, ...] = ("read", "replied")
) -> dict[str, dict]:
    """until -> rates.summary of its delays() multiset, in one query: the database keeps the
    running totals and returns, per quantile, the values at the two ranks around it, not the
    tens of thousands of (seconds, count) pairs of a campaign."""
    metrics = [METRICS.index(until) for until in untils]
    rows = session.execute(_DELAY_QUANTILES, {"campaign_id": campaign_id, "metrics": metrics})
    answer = {until: summary(0, {}.__getitem__) for until in untils}
    for metric, count, *found in rows:
        values = {}
        for low, low_value, high_value in zip(*[iter(found)] * 3, strict=True):
            values[int(low)] = int(low_value)
            if high_value is not None:  # none past the last rank
                values[int(low) + 1] = int(high_value)
        answer[METRICS[metric]] = summary(int(count), values.__getitem__)
    return answer


_FAILURES = (
    select(_R.step_id, _R.bucket, func.sum(_R.count))
    .where(_R.campaign_id == _CAMPAIGN, _R.axis == AXIS_FAILURE)
    .group_by(_R.step_id, _R.bucket)
    .having(func.sum(_R.count) > 0)
    .order_by(_R.step_id, func.sum(_R.count).desc(), _R.bucket)
)


def failures_by_code(session: Session, campaign_id: int) -> dict[int, dict[str, int]]:
    """step id -> {error code: failed messages}, most frequent first ("stale" for the 24-hour
    rule, "unknown" for a failure without a code)."""
    rows = session.execute(_FAILURES, {"campaign_id": campaign_id})
    result: dict[int, dict[str, int]] = {}
    for step_id, code, count in rows:
        name = {-1: "stale", 0: "unknown"}.get(int(code), str(code))
        result.setdefault(step_id, {})[name] = int(count)
    return result


_REPORTED_STEPS = (
    select(DripCampaignStep)
    .where(
        DripCampaignStep.campaign_id == _CAMPAIGN,
        or_(
            DripCampaignStep.deleted_at.is_(None),
            select(_R.id)
            .where(_R.campaign_id == _CAMPAIGN, _R.step_id == DripCampaignStep.id)
            .exists(),
        ),
    )
    .order_by(DripCampaignStep.position, DripCampaignStep.id)
)


@shared
def reported_steps(session: Session, campaign_id: int) -> list[DripCampaignStep]:
    """The steps in order: live ones, and deleted ones that still have messages."""
    return list(session.scalars(_REPORTED_STEPS, {"campaign_id": campaign_id}))
