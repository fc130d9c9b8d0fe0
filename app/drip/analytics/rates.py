"""Rates and quantiles as the analytics report them: percentages 0-100, unrounded, None where
there is nothing to divide by."""

from __future__ import annotations

from collections.abc import Callable

# The delays' summary: (key, q) of each quantile it reports.
DELAY_QUANTILES = (("medianSeconds", 0.5), ("p90Seconds", 0.9))


def percent(part: int, whole: int) -> float | None:
    return part * 100 / whole if whole else None


def summary(total: int, value_at: Callable[[int], int]) -> dict:
    """Count and DELAY_QUANTILES of a multiset of `total` values; value_at(rank): the value
    at that 0-based rank in sorted order."""
    return {"count": total, **{key: quantile_at(total, value_at, q) for key, q in DELAY_QUANTILES}}


def low_rank(q: float, total: int) -> int:
    """The rank of the q-quantile's lower neighbour (the higher one is the next rank)."""
    return int(q * (total - 1))


def quantile_at(total: int, value_at: Callable[[int], int], q: float) -> float | None:
    """The q-quantile with linear interpolation between closest ranks (numpy's default,
    PostgreSQL's percentile_cont) of a multiset of `total` values."""
    if total == 0:
        return None
    rank = q * (total - 1)
    low = low_rank(q, total)
    low_value, high_value = value_at(low), value_at(min(low + 1, total - 1))
    return low_value + (high_value - low_value) * (rank - low)
