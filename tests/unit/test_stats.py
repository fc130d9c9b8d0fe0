"""Fixed-horizon A/B statistics, checked number by number against statsmodels and SciPy.

The cross-checks run seeded loops of a few hundred random inputs each (deterministic, fast); the
edge cases pin down the defined answers where statsmodels gives NaN or SciPy refuses.
"""

from __future__ import annotations

import math
from unittest import mock

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from scipy.stats import chi2_contingency, chisquare
from statsmodels.stats.multitest import multipletests
from statsmodels.stats.proportion import proportion_confint, proportions_ztest

from app.drip.ab.stats import (
    alpha_for,
    format_confidence,
    holm,
    proportion,
    sample_ratio_mismatch,
    two_proportion_z,
    wilson_interval,
)

CONFIDENCES = (0.8, 0.9, 0.95, 0.975, 0.99, 0.999)


def holm_reference(values: list[float] | np.ndarray) -> list[float]:
    """statsmodels' Holm, minus the gc.collect() it runs per call (~0.3 s each under pytest)."""
    with mock.patch("gc.collect"):
        return list(multipletests(values, method="holm")[1])


def random_counts(rng: np.random.Generator) -> tuple[int, int]:
    """(successes, n) over small and large n, with rates from 0 to 1 inclusive."""
    n = int(rng.choice([rng.integers(1, 20), rng.integers(20, 500), rng.integers(500, 50_000)]))
    kind = rng.integers(0, 10)
    if kind == 0:
        return 0, n
    if kind == 1:
        return n, n
    return int(rng.binomial(n, rng.uniform(0.001, 0.999))), n


def test_wilson_matches_statsmodels_on_random_counts() -> None:
    rng = np.random.default_rng(20240601)
    for _ in range(600):
        successes, n = random_counts(rng)
        confidence = float(rng.choice(CONFIDENCES))
        low, high = wilson_interval(successes, n, confidence)
        ref_low, ref_high = proportion_confint(successes, n, alpha=1 - confidence, method="wilson")
        assert low == pytest.approx(max(0.0, ref_low), abs=1e-12)
        assert high == pytest.approx(min(1.0, ref_high), abs=1e-12)
        assert 0.0 <= low <= successes / n <= high <= 1.0


def test_wilson_edges() -> None:
    assert wilson_interval(0, 0) is None
    low, high = wilson_interval(0, 10)
    assert low == 0.0 and 0.0 < high < 1.0
    low, high = wilson_interval(10, 10)
    assert 0.0 < low < 1.0 and high == 1.0
    low, high = wilson_interval(1, 1)
    assert low == pytest.approx(0.20654931, abs=1e-8) and high == 1.0
    # Higher confidence, wider interval.
    assert wilson_interval(30, 100, 0.99)[0] < wilson_interval(30, 100, 0.9)[0]


def test_two_proportion_z_matches_statsmodels_and_chi2_contingency() -> None:
    rng = np.random.default_rng(7)
    checked = 0
    while checked < 600:
        (xc, nc), (xv, nv) = random_counts(rng), random_counts(rng)
        z, p = two_proportion_z(xc, nc, xv, nv)
        if xc + xv in (0, nc + nv):
            assert (z, p) == (0.0, 1.0)  # statsmodels: nan (0/0)
            continue
        ref_z, ref_p = proportions_ztest([xv, xc], [nv, nc], value=0, alternative="two-sided")
        assert z == pytest.approx(ref_z, rel=1e-9, abs=1e-12)
        assert p == pytest.approx(ref_p, rel=1e-7, abs=1e-300)
        table = [[xc, nc - xc], [xv, nv - xv]]
        chi2, chi2_p, _, _ = chi2_contingency(table, correction=False)
        assert z * z == pytest.approx(chi2, rel=1e-9, abs=1e-12)
        assert p == pytest.approx(chi2_p, rel=1e-6, abs=1e-300)
        checked += 1


def test_two_proportion_z_sign_and_edges() -> None:
    z, p = two_proportion_z(30, 100, 40, 100)
    assert z > 0 and 0 < p < 1  # positive z: the second arm (the variant) is higher
    assert two_proportion_z(0, 0, 5, 10) == (None, 1.0)
    assert two_proportion_z(5, 10, 0, 0) == (None, 1.0)
    assert two_proportion_z(0, 100, 0, 100) == (0.0, 1.0)
    assert two_proportion_z(100, 100, 50, 50) == (0.0, 1.0)
    assert two_proportion_z(37, 100, 37, 100) == (0.0, 1.0)
    assert two_proportion_z(1, 3, 2, 6) == (0.0, 1.0)
    z, p = two_proportion_z(0, 100, 100, 100)
    assert math.isfinite(z) and p == pytest.approx(math.erfc(z / math.sqrt(2)))
    z, p = two_proportion_z(0, 1, 1, 1)
    assert z == pytest.approx(math.sqrt(2)) and 0 < p < 1


def test_holm_matches_statsmodels() -> None:
    rng = np.random.default_rng(3)
    for _ in range(400):
        m = int(rng.integers(1, 9))
        values = rng.choice([rng.uniform(0, 1, m), rng.uniform(0, 0.05, m), np.ones(m)])
        if rng.integers(0, 4) == 0:
            values[: m // 2] = values[-1]  # ties
        assert holm(list(values)) == pytest.approx(holm_reference(values), abs=1e-15)


def test_holm_small_cases() -> None:
    assert holm([]) == []
    assert holm([0.2]) == [0.2]
    assert holm([0.01, 0.04, 0.03]) == pytest.approx([0.03, 0.06, 0.06])
    assert holm([0.9, 0.8]) == [1.0, 1.0]


def test_srm_matches_scipy_chisquare() -> None:
    rng = np.random.default_rng(11)
    for _ in range(400):
        k = int(rng.integers(2, 6))
        allocation = rng.dirichlet(np.ones(k)) * 100
        total = int(rng.integers(1, 100_000))
        skew = rng.choice([0.0, 0.01, 0.05])
        weights = allocation * (1 + skew * rng.standard_normal(k)).clip(0.5)
        assigned = rng.multinomial(total, weights / weights.sum())
        srm = sample_ratio_mismatch([int(a) for a in assigned], [float(w) for w in allocation])
        expected = total * allocation / allocation.sum()
        reference = chisquare(assigned, f_exp=expected)
        assert srm.statistic == pytest.approx(reference.statistic, rel=1e-9, abs=1e-12)
        assert srm.p_value == pytest.approx(reference.pvalue, rel=1e-7, abs=1e-300)
        assert srm.mismatch == (reference.pvalue < 0.001)


def test_srm_flags_a_broken_split_and_not_a_fair_one() -> None:
    assert sample_ratio_mismatch([5000, 5000], [50, 50]).mismatch is False
    assert sample_ratio_mismatch([5000, 4600], [50, 50]).mismatch is True
    assert sample_ratio_mismatch([7500, 2500], [75, 25]).p_value == 1.0
    # Fractions or percentages: only the ratio matters.
    assert sample_ratio_mismatch([60, 40], [0.5, 0.5]) == sample_ratio_mismatch([60, 40], [50, 50])


def test_srm_edges() -> None:
    assert sample_ratio_mismatch([0, 0], [50, 50]).p_value == 1.0
    assert sample_ratio_mismatch([], []).p_value == 1.0
    assert sample_ratio_mismatch([10], [100]).p_value == 1.0
    assert sample_ratio_mismatch([10, 0], [100, 0]).p_value == 1.0
    broken = sample_ratio_mismatch([10, 1], [100, 0])
    assert (broken.statistic, broken.p_value, broken.mismatch) == (None, 0.0, True)
    with pytest.raises(ValueError, match="length"):
        sample_ratio_mismatch([1, 2], [100])
    with pytest.raises(ValueError, match="negative"):
        sample_ratio_mismatch([1, -2], [50, 50])


@given(
    st.integers(0, 10**6).flatmap(lambda n: st.tuples(st.integers(0, n), st.just(n))),
    st.integers(0, 10**6).flatmap(lambda n: st.tuples(st.integers(0, n), st.just(n))),
    st.sampled_from(CONFIDENCES),
)
def test_every_number_is_finite_or_none(
    a: tuple[int, int], b: tuple[int, int], conf: float
) -> None:
    z, p = two_proportion_z(*a, *b)
    assert z is None or math.isfinite(z)
    assert 0.0 <= p <= 1.0
    interval = wilson_interval(*a, conf)
    assert interval is None or all(0.0 <= x <= 1.0 for x in interval)
    srm = sample_ratio_mismatch([a[1], b[1]], [50, 50])
    assert 0.0 <= srm.p_value <= 1.0 and (srm.statistic is None or math.isfinite(srm.statistic))


def test_invalid_input_raises() -> None:
    for successes, n in ((-1, 10), (11, 10), (0, -1)):
        with pytest.raises(ValueError, match="invalid counts"):
            proportion(successes, n)
        with pytest.raises(ValueError, match="invalid counts"):
            two_proportion_z(successes, n, 1, 10)
    for confidence in (0.0, 1.0, 95, -0.5):
        with pytest.raises(ValueError, match="confidence"):
            alpha_for(confidence)
    with pytest.raises(ValueError, match="confidence"):
        wilson_interval(1, 10, 95)


def test_proportion_and_confidence_text() -> None:
    assert proportion(0, 0) is None
    assert proportion(3, 4) == 0.75
    assert format_confidence(0.03) == "97%"
    assert format_confidence(0.0501) == "94%"
    assert format_confidence(0.0) == ">99.9%"
    assert format_confidence(1.0) == "0%"
