"""Rates and quantiles as the analytics report them: percentages 0-100, unrounded, None where
there is nothing to divide by."""

from __future__ import annotations

from bisect import bisect_right
from itertools import accumulate


def percent(part: int, whole: int) -> float | None:
    return part * 100 / whole if whole else None


def delay_summary(value_counts: list[tuple[int, int]]) -> dict:
    """Count, median and 90th percentile of a multiset given as sorted (value, count)."""
    # A campaign's delays are tens of thousands of pairs: one running total serves all three.
    values = [value for value, _ in value_counts]
    ends = list(accumulate(n for _, n in value_counts))
    return {
        "count": ends[-1] if ends else 0,
        "medianSeconds": _quantile(values, ends, 0.5),
        "p90Seconds": _quantile(values, ends, 0.9),
    }


def quantile(value_counts: list[tuple[int, int]], q: float) -> float | None:
    """The q-quantile with linear interpolation between closest ranks (numpy's default,
    PostgreSQL's percentile_cont) of a multiset given as sorted (value, count) pairs."""
    values = [value for value, _ in value_counts]
    return _quantile(values, list(accumulate(n for _, n in value_counts)), q)


def _quantile(values: list[int], ends: list[int], q: float) -> float | None:
    """ends[i]: how many of the multiset are values[0..i] (a running total)."""
    total = ends[-1] if ends else 0
    if total == 0:
        return None
    rank = q * (total - 1)
    low, high = int(rank), min(int(rank) + 1, total - 1)
    # The value whose run covers a rank: the first whose running total passes it.
    low_value = values[bisect_right(ends, low)]
    high_value = values[bisect_right(ends, high)]
    return low_value + (high_value - low_value) * (rank - int(rank))
