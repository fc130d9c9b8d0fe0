"""Rates and quantiles as the analytics report them: percentages 0-100, unrounded, None where
there is nothing to divide by."""

from __future__ import annotations


def percent(part: int, whole: int) -> float | None:
    return part * 100 / whole if whole else None


def delay_summary(value_counts: list[tuple[int, int]]) -> dict:
    """Count, median and 90th percentile of a multiset given as sorted (value, count)."""
    return {
        "count": sum(n for _, n in value_counts),
        "medianSeconds": quantile(value_counts, 0.5),
        "p90Seconds": quantile(value_counts, 0.9),
    }


def quantile(value_counts: list[tuple[int, int]], q: float) -> float | None:
    """The q-quantile with linear interpolation between closest ranks (numpy's default,
    PostgreSQL's percentile_cont) of a multiset given as sorted (value, count) pairs."""
    total = sum(n for _, n in value_counts)
    if total == 0:
        return None
    rank = q * (total - 1)
    low, high = int(rank), min(int(rank) + 1, total - 1)
    low_value = high_value = None
    seen = 0
    for value, n in value_counts:
        if low_value is None and low < seen + n:
            low_value = value
        if high < seen + n:
            high_value = value
            break
        seen += n
    return low_value + (high_value - low_value) * (rank - int(rank))
