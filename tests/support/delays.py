"""A campaign's send-to-read and send-to-reply delays as every second's count, summarised in
Python from running totals: what the dashboard's one query
(app.drip.analytics.activity.delay_summaries) must agree with."""

from __future__ import annotations

from bisect import bisect_right
from collections.abc import Callable
from itertools import accumulate

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from app.drip.analytics.activity import METRICS
from app.drip.analytics.rates import quantile_at, summary
from app.models import DripActivityRollup as R
from app.models.analytics import AXIS_DELAY


def delays(session: Session, campaign_id: int, until: str) -> list[tuple[int, int]]:
    """(whole seconds from send to `until` ("read" or "replied"), how many messages), sorted."""
    total = func.sum(R.count)
    rows = session.execute(
        select(R.bucket, total)
        .where(R.campaign_id == campaign_id, R.axis == AXIS_DELAY, R.metric == METRICS.index(until))
        .group_by(R.bucket)
        .having(total > 0)
        .order_by(R.bucket)
    )
    return [(int(seconds), int(n)) for seconds, n in rows]


def delay_summary(value_counts: list[tuple[int, int]]) -> dict:
    """Count, median and 90th percentile of a multiset given as sorted (value, count)."""
    return summary(*_ranked(value_counts))


def quantile(value_counts: list[tuple[int, int]], q: float) -> float | None:
    return quantile_at(*_ranked(value_counts), q)


def _ranked(value_counts: list[tuple[int, int]]) -> tuple[int, Callable[[int], int]]:
    """The multiset's size, and its value at a rank: the first value whose running total
    passes it."""
    values = [value for value, _ in value_counts]
    ends = list(accumulate(n for _, n in value_counts))
    return (ends[-1] if ends else 0), lambda rank: values[bisect_right(ends, rank)]
