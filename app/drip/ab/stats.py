"""Pure statistics of A/B tests: rates, Wilson intervals, z-tests, Holm and sample ratio mismatch.

The always-valid p-values, the auto-winner rule and analyse() build on these in sequential.py.
No database, no Flask. Rates are fractions 0–1 here (the API layer shows percentages 0–100).
Every number returned is a finite float or None, so results serialize to JSON as they are.

Defined answers at the edges (nothing here divides by zero or returns NaN):
- an arm with n = 0: its rate and interval are None; lifts and z against it are None, p = 1.0;
- a control with rate 0: relative lift None (the absolute lift is still a number);
- identical rates, including both arms all-success or all-failure: z = 0.0 and every p = 1.0;
- negative counts, successes > n, or a confidence outside (0, 1): ValueError (a caller's bug).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache
from statistics import NormalDist
from typing import Protocol

from scipy.special import chdtrc

SRM_P_THRESHOLD = 0.001


class Counts(Protocol):
    """Anything with sends (n) and successes, e.g. Arm or VariantData."""

    @property
    def n(self) -> int: ...

    @property
    def successes(self) -> int: ...


@dataclass(frozen=True, slots=True)
class Arm:
    """Matured sends and successes of one variant: all that decide() needs."""

    n: int
    successes: int


@dataclass(frozen=True, slots=True)
class VariantData:
    """One variant as analyse() takes it; allocation in percent (any scale: it is normalised)."""

    key: int | str
    name: str
    assigned: int
    n: int
    successes: int
    allocation: float


@dataclass(frozen=True, slots=True)
class VariantStats:
    """A variant's rate and Wilson interval at the test's confidence (None when n = 0)."""

    key: int | str
    name: str
    n: int
    successes: int
    rate: float | None
    ci_low: float | None
    ci_high: float | None


@dataclass(frozen=True, slots=True)
class Comparison:
    """One variant against the control; significant means adjusted sequential p < 1 - conf."""

    index: int
    control_index: int
    lift: float | None
    absolute_lift: float | None
    z_score: float | None
    p_value: float
    adjusted_p_value: float
    sequential_p_value: float
    adjusted_sequential_p_value: float
    significant: bool


@dataclass(frozen=True, slots=True)
class Srm:
    """Chi-square goodness of fit of assignments to allocations (statistic None when infinite)."""

    statistic: float | None
    p_value: float
    mismatch: bool


def _check_counts(successes: int, n: int) -> None:
    if n < 0 or successes < 0 or successes > n:
        raise ValueError(f"invalid counts: {successes} successes of {n} sends")


def alpha_for(confidence: float) -> float:
    """1 - confidence, after checking it is a fraction in (0, 1)."""
    if not 0.0 < confidence < 1.0:
        raise ValueError(f"confidence must be a fraction in (0, 1), e.g. 0.95, not {confidence}")
    return 1.0 - confidence


@lru_cache(maxsize=64)
def _z_critical(confidence: float) -> float:
    return NormalDist().inv_cdf(0.5 + confidence / 2.0)


def proportion(successes: int, n: int) -> float | None:
    """successes / n as a fraction, None when n = 0."""
    _check_counts(successes, n)
    return successes / n if n else None


def wilson_interval(successes: int, n: int, confidence: float = 0.95) -> tuple[float, float] | None:
    """Two-sided Wilson score interval for a proportion, clipped to [0, 1]; None when n = 0."""
    _check_counts(successes, n)
    alpha_for(confidence)
    if n == 0:
        return None
    z2 = _z_critical(confidence) ** 2
    p = successes / n
    denominator = 1.0 + z2 / n
    centre = (p + z2 / (2 * n)) / denominator
    half = math.sqrt(z2 * (p * (1.0 - p) / n + z2 / (4 * n * n))) / denominator
    # Rounding can leave an end a hair inside 0, 1 or the rate itself, where it is exact.
    low = 0.0 if successes == 0 else max(0.0, min(p, centre - half))
    high = 1.0 if successes == n else min(1.0, max(p, centre + half))
    return low, high


def two_proportion_z(
    successes_a: int, n_a: int, successes_b: int, n_b: int
) -> tuple[float | None, float]:
    """Pooled z of rate b minus rate a and its two-sided p, no continuity correction."""
    _check_counts(successes_a, n_a)
    _check_counts(successes_b, n_b)
    if n_a == 0 or n_b == 0:
        return None, 1.0
    pooled = (successes_a + successes_b) / (n_a + n_b)
    variance = pooled * (1.0 - pooled) * (1.0 / n_a + 1.0 / n_b)
    if variance <= 0.0:
        return 0.0, 1.0
    z = (successes_b / n_b - successes_a / n_a) / math.sqrt(variance)
    return z, math.erfc(abs(z) / math.sqrt(2.0))


def holm(p_values: Sequence[float]) -> list[float]:
    """Holm step-down adjusted p-values, in the order given."""
    order = sorted(range(len(p_values)), key=p_values.__getitem__)
    adjusted = [1.0] * len(p_values)
    running = 0.0
    for rank, i in enumerate(order):
        running = max(running, min(1.0, (len(p_values) - rank) * p_values[i]))
        adjusted[i] = running
    return adjusted


def sample_ratio_mismatch(assigned: Sequence[int], allocations: Sequence[float]) -> Srm:
    """Chi-square test of assigned counts against allocations; mismatch when p < 0.001."""
    if len(assigned) != len(allocations):
        raise ValueError("assigned and allocations differ in length")
    if any(a < 0 for a in assigned) or any(w < 0 for w in allocations):
        raise ValueError("assigned counts and allocations must not be negative")
    total, total_allocation = sum(assigned), sum(allocations)
    statistic, cells = 0.0, 0
    for count, weight in zip(assigned, allocations, strict=True):
        if weight == 0:
            if count > 0:
                # Contacts in a 0% arm: the expected count is 0, so the statistic is infinite.
                return Srm(None, 0.0, True)
            continue
        expected = total * weight / total_allocation
        if expected > 0:
            statistic += (count - expected) ** 2 / expected
            cells += 1
    if cells < 2:
        return Srm(0.0, 1.0, False)
    p_value = float(chdtrc(cells - 1, statistic))
    return Srm(statistic, p_value, p_value < SRM_P_THRESHOLD)


def format_confidence(p_value: float) -> str:
    """1 - p as a percentage for people: rounded down, and never "100%"."""
    percent = (1.0 - p_value) * 100.0
    # The epsilon keeps 1 - 0.03 = 0.96999... from showing as 96%.
    return ">99.9%" if percent > 99.9 else f"{math.floor(percent + 1e-9)}%"
