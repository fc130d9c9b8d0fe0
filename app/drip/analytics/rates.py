"""Rates and quantiles as the analytics report them: percentages 0-100, unrounded, None where
there is nothing to divide by."""

from __future__ import annotations

from bisect import bisect_right
from collections.abc import Callable
from itertools import accumulate

# The delays' summary: (key, q) of each quantile it reports.
DELAY_QUANTILES = (("medianSeconds", 0.5), ("p90Seconds", 0.9))


def percent(part: int, whole: int) -> float | None:
    return part * 100 / whole if whole else None


def delay_summary(value_counts: list[tuple[int, int]]) -> dict:
    """Count, median and 90th percentile of a multiset given as sorted (value, count)."""
    return summary(*_ranked(value_counts))


def summary(total: int, value_at: Callable[[int], int]) -> dict:
    """Count and DELAY_QUANTILES of a multiset of `total` values; value_at(rank): the value
    at that 0-based rank in sorted order."""
    return {"count": total, **{key: _quantile(total, value_at, q) for key, q in DELAY_QUANTILES}}


def low_rank(q: float, total: int) -> int:
    """The rank of the q-quantile's lower neighbour (the higher one is the next rank)."""
    return int(q * (total - 1))


def quantile(value_counts: list[tuple[int, int]], q: float) -> float | None:
    """The q-quantile with linear interpolation between closest ranks (numpy's default,
    PostgreSQL's percentile_cont) of a multiset given as sorted (value, count) pairs."""
    return _quantile(*_ranked(value_counts), q)


def _ranked(value_counts: list[tuple[int, int]]) -> tuple[int, Callable[[int], int]]:
    """The multiset's size, and its value at a rank."""
    # One running total serves every quantile of a summary.
    values = [value for value, _ in value_counts]
    ends = list(accumulate(n for _, n in value_counts))
    # The value whose run covers a rank: the first whose running total passes it.
    return (ends[-1] if ends else 0), lambda rank: values[bisect_right(ends, rank)]


def _quantile(total: int, value_at: Callable[[int], int], q: float) -> float | None:
    if total == 0:
        return None
    rank = q * (total - 1)
    low = low_rank(q, total)
    low_value, high_value = value_at(low), value_at(min(low + 1, total - 1))
    return low_value + (high_value - low_value) * (rank - low)
