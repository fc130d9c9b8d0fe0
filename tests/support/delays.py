"""The summary of a campaign's delays (app.drip.analytics.activity.delays: every second's
count) worked out in Python from running totals: what the dashboard's one query
(activity.delay_summaries) must agree with."""

from __future__ import annotations

from bisect import bisect_right
from collections.abc import Callable
from itertools import accumulate

from app.drip.analytics.rates import quantile_at, summary


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
