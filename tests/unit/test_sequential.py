"""The always-valid p-value, the auto-winner rule, analyse() and verdict().

The p-value is checked against the confidence-sequence boundary written out independently, for
the properties an always-valid p must have, and in a small seeded A/A simulation against the
naive rule (repeated fixed z-tests). analyse() is cross-checked number by number against
statsmodels and SciPy on random multi-variant tests.
"""

from __future__ import annotations

import dataclasses
import json
import math
from itertools import pairwise
from unittest import mock

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from scipy.stats import chisquare
from statsmodels.stats.multitest import multipletests
from statsmodels.stats.proportion import proportion_confint, proportions_ztest

from app.drip.ab.sequential import (
    DEFAULT_PLANNED_N,
    analyse,
    decide,
    effective_n,
    planned_sample_size,
    sequential_p_value,
    verdict,
)
from app.drip.ab.stats import Arm, VariantData, two_proportion_z


def holm_reference(values: list[float]) -> list[float]:
    """statsmodels' Holm, minus the gc.collect() it runs per call (~0.3 s each under pytest)."""
    with mock.patch("gc.collect"):
        return list(multipletests(values, method="holm")[1])


def cs_boundary(n: float, planned_n: float, alpha: float) -> float:
    """|z| on the two-sided asymptotic confidence sequence boundary (Waudby-Smith et al., 2.2)."""
    rho2 = (-2 * math.log(alpha) + math.log(-2 * math.log(alpha) + 1)) / planned_n
    width = 2 * (n * rho2 + 1) / (n * n * rho2) * math.log(math.sqrt(n * rho2 + 1) / alpha)
    return math.sqrt(width) * math.sqrt(n)  # width is in sigma units; z = diff·sqrt(n)/sigma


@pytest.mark.parametrize("alpha", [0.01, 0.05, 0.1, 0.2])
@pytest.mark.parametrize("n", [10, 100, 1000, 12345, 10**6])
@pytest.mark.parametrize("planned_n", [100, 1000, 10_000])
def test_p_equals_alpha_on_the_confidence_sequence_boundary(
    alpha: float, n: int, planned_n: int
) -> None:
    z = cs_boundary(n, planned_n, alpha)
    assert sequential_p_value(z, n, planned_n, alpha) == pytest.approx(alpha, rel=1e-9)
    assert sequential_p_value(z * 1.01, n, planned_n, alpha) < alpha
    assert sequential_p_value(-z * 0.99, n, planned_n, alpha) > alpha


def test_tuning_makes_the_boundary_tightest_near_the_planned_size() -> None:
    # Among tunings, the one planned for n gives (nearly) the lowest boundary at n.
    n = 2000
    boundaries = {planned: cs_boundary(n, planned, 0.05) for planned in (200, 2000, 20_000)}
    assert boundaries[2000] < boundaries[200] and boundaries[2000] < boundaries[20_000]


@given(
    st.integers(1, 10**6).flatmap(lambda n: st.tuples(st.integers(0, n), st.just(n))),
    st.integers(1, 10**6).flatmap(lambda n: st.tuples(st.integers(0, n), st.just(n))),
    st.integers(1, 10**6),
    st.sampled_from([0.8, 0.9, 0.95, 0.99]),
)
def test_sequential_p_is_never_below_the_fixed_p(
    control: tuple[int, int], variant: tuple[int, int], planned_n: int, confidence: float
) -> None:
    z, fixed = two_proportion_z(*control, *variant)
    n_eff = effective_n(control[1], variant[1])
    sequential = sequential_p_value(z, n_eff, planned_n, 1 - confidence)
    assert 0.0 <= fixed <= sequential <= 1.0


def test_running_minimum_is_monotone_and_the_current_value_is_not() -> None:
    rng = np.random.default_rng(5)
    a = np.cumsum(rng.binomial(1, 0.3, 20_000))
    b = np.cumsum(rng.binomial(1, 0.31, 20_000))
    previous, current_values, running_values = None, [], []
    for n in range(50, 20_001, 50):
        z, _ = two_proportion_z(int(a[n - 1]), n, int(b[n - 1]), n)
        current_values.append(sequential_p_value(z, n, 1000, 0.05))
        previous = sequential_p_value(z, n, 1000, 0.05, previous=previous)
        running_values.append(previous)
    assert all(later <= earlier for earlier, later in pairwise(running_values))
    assert running_values == list(np.minimum.accumulate(current_values))
    assert any(later > earlier for earlier, later in pairwise(current_values))


def test_sequential_p_edges() -> None:
    assert sequential_p_value(None, 100, 1000, 0.05) == 1.0
    assert sequential_p_value(3.0, 0, 1000, 0.05) == 1.0
    assert sequential_p_value(0.0, 500, 1000, 0.05) == 1.0
    assert sequential_p_value(1e6, 500, 1000, 0.05) == 0.0  # underflow, finite
    assert sequential_p_value(0.0, 500, 1000, 0.05, previous=0.2) == 0.2
    assert effective_n(100, 100) == 100 and effective_n(0, 100) == 0.0
    assert effective_n(100, 300) == 150
    assert planned_sample_size(100) == DEFAULT_PLANNED_N
    assert planned_sample_size(5000) == 5000
    assert planned_sample_size(100, planned_n=20_000) == 20_000


def arms(*pairs: tuple[int, int]) -> list[Arm]:
    return [Arm(n, successes) for successes, n in pairs]


def test_decide_waits_for_the_minimum_sample() -> None:
    decision = decide(arms((40, 99), (90, 100)), 0, 0.95, 100, srm_p=1.0)
    assert (decision.winner_index, decision.code) == (None, "waiting")
    assert decision.reason == "waiting for 100 sends per variant (fewest so far: 99)"
    assert not decision.can_declare_winner


def test_decide_stops_on_sample_ratio_mismatch() -> None:
    decision = decide(arms((300, 1000), (900, 1000)), 0, 0.95, 100, srm_p=0.0009)
    assert decision.code == "srm" and "sample ratio mismatch" in decision.reason
    assert decide(arms((300, 1000), (900, 1000)), 0, 0.95, 100, srm_p=0.001).code == "winner"
    assert decide(arms((300, 1000), (900, 1000)), 0, 0.95, 100, srm_p=None).code == "winner"


def test_decide_declares_a_clear_winner_and_not_a_noisy_one() -> None:
    winner = decide(arms((300, 2000), (420, 2000)), 0, 0.95, 100, srm_p=0.5)
    assert (winner.winner_index, winner.code) == (1, "winner")
    assert winner.reason.startswith("beats the control with")
    # z ≈ 2.1: significant for a single fixed test, not for the always-valid p.
    noisy = decide(arms((300, 1000), (345, 1000)), 0, 0.95, 100, srm_p=0.5)
    assert two_proportion_z(300, 1000, 345, 1000)[1] < 0.05
    assert (noisy.winner_index, noisy.code) == (None, "no_difference")
    assert noisy.reason == "no significant difference yet"


def test_decide_declares_the_control_only_when_every_variant_is_worse() -> None:
    control_wins = decide(arms((420, 2000), (300, 2000), (290, 2000)), 0, 0.95, 100, 0.5)
    assert (control_wins.winner_index, control_wins.code) == (0, "winner")
    mixed = decide(arms((420, 2000), (300, 2000), (410, 2000)), 0, 0.95, 100, 0.5)
    assert mixed.winner_index is None


def test_decide_picks_the_best_rate_and_needs_it_significant() -> None:
    # C leads but with few sends, so it is not yet significant: no winner although B would be.
    decision = decide(arms((300, 2000), (420, 2000), (23, 100)), 0, 0.95, 100, 0.5)
    assert decision.code == "no_difference"
    decision = decide(arms((300, 2000), (420, 2000), (200, 1000)), 0, 0.95, 100, 0.5)
    assert decision.winner_index == 1
    assert decide(arms((300, 2000), (420, 2000)), 1, 0.95, 100, 0.5).winner_index == 1


@pytest.mark.parametrize(
    ("pairs", "code", "winner"),
    [
        (((0, 100), (0, 100)), "zero_control", None),  # zero-success arms
        (((100, 100), (100, 100)), "no_difference", None),  # all-success arms
        (((37, 100), (37, 100)), "no_difference", None),  # identical arms
        (((0, 0), (0, 0)), "no_difference", None),  # n = 0 with no minimum
        (((0, 0), (5, 10)), "no_difference", None),
        (((0, 1), (1, 1)), "zero_control", None),  # tiny
        # A zero-success control: nothing to be relative to, no claim (as GrowthBook: issue 19).
        (((0, 500), (60, 500)), "zero_control", None),
        (((0, 2), (2, 2)), "zero_control", None),
    ],
)
def test_decide_edges(pairs: tuple[tuple[int, int], ...], code: str, winner: int | None) -> None:
    decision = decide(arms(*pairs), 0, 0.95, 0, srm_p=1.0)
    assert (decision.code, decision.winner_index) == (code, winner)


def test_decide_structure_errors() -> None:
    assert decide(arms((5, 10)), 0, 0.95, 0, 1.0).code == "too_few_variants"
    with pytest.raises(ValueError, match="control_index"):
        decide(arms((5, 10), (5, 10)), 2, 0.95, 0, 1.0)
    with pytest.raises(ValueError, match="confidence"):
        decide(arms((5, 10), (5, 10)), 0, 95, 0, 1.0)


def random_test(rng: np.random.Generator) -> list[VariantData]:
    k = int(rng.integers(2, 6))
    allocation = rng.dirichlet(np.ones(k)) * 100
    assigned = rng.multinomial(int(rng.integers(k, 40_000)), allocation / 100)
    base = rng.uniform(0.0, 1.0)
    rows = []
    for i in range(k):
        n = int(rng.integers(0, assigned[i] + 1))
        rate = min(1.0, base * rng.uniform(0.8, 1.3)) if rng.integers(0, 8) else 0.0
        rows.append(
            VariantData(
                i + 10,
                f"V{i}",
                int(assigned[i]),
                n,
                int(rng.binomial(n, rate)),
                float(allocation[i]),
            )
        )
    return rows


def test_analyse_matches_statsmodels_and_scipy() -> None:
    rng = np.random.default_rng(99)
    for _ in range(300):
        variants = random_test(rng)
        control = int(rng.integers(0, len(variants)))
        confidence = float(rng.choice([0.9, 0.95, 0.99]))
        result = analyse(variants, confidence, 0, control_index=control)
        for v, stats in zip(variants, result.variants, strict=True):
            if v.n == 0:
                assert (stats.rate, stats.ci_low, stats.ci_high) == (None, None, None)
                continue
            low, high = proportion_confint(v.successes, v.n, 1 - confidence, method="wilson")
            assert stats.rate == v.successes / v.n
            assert stats.ci_low == pytest.approx(max(low, 0), abs=1e-12)
            assert stats.ci_high == pytest.approx(min(high, 1), abs=1e-12)
        check_comparisons(variants, control, result)
        # The SRM check is on the sends the decision analyses (issue 19), not the assigned.
        total, weights = sum(v.n for v in variants), sum(v.allocation for v in variants)
        if total == 0:
            continue
        expected = [total * v.allocation / weights for v in variants]
        assert result.srm.p_value == pytest.approx(
            chisquare([v.n for v in variants], f_exp=expected).pvalue, rel=1e-6, abs=1e-300
        )


def check_comparisons(variants: list[VariantData], control: int, result) -> None:
    c = variants[control]
    assert [x.index for x in result.comparisons] == [
        i for i in range(len(variants)) if i != control
    ]
    for comparison in result.comparisons:
        v = variants[comparison.index]
        assert comparison.control_index == control
        if v.n == 0 or c.n == 0:
            assert comparison.z_score is None and comparison.absolute_lift is None
            assert comparison.p_value == 1.0
            continue
        if c.successes == 0:  # no claim against a zero-rate control
            assert comparison.z_score is None and comparison.lift is None
            assert comparison.p_value == comparison.sequential_p_value == 1.0
            continue
        absolute = v.successes / v.n - c.successes / c.n
        assert comparison.absolute_lift == pytest.approx(absolute, abs=1e-15)
        if c.successes == 0:
            assert comparison.lift is None
        else:
            assert comparison.lift == pytest.approx(absolute / (c.successes / c.n), rel=1e-12)
        if c.successes + v.successes in (0, c.n + v.n):
            assert (comparison.z_score, comparison.p_value) == (0.0, 1.0)
            continue
        z, p = proportions_ztest([v.successes, c.successes], [v.n, c.n])
        assert comparison.z_score == pytest.approx(z, rel=1e-9, abs=1e-12)
        assert comparison.p_value == pytest.approx(p, rel=1e-7, abs=1e-300)
    raw = [x.p_value for x in result.comparisons]
    sequential = [x.sequential_p_value for x in result.comparisons]
    adjusted = [x.adjusted_p_value for x in result.comparisons]
    adjusted_sequential = [x.adjusted_sequential_p_value for x in result.comparisons]
    assert adjusted == pytest.approx(holm_reference(raw), abs=1e-15)
    assert adjusted_sequential == pytest.approx(holm_reference(sequential), abs=1e-15)
    alpha = 1 - result.confidence
    assert [x.significant for x in result.comparisons] == [p < alpha for p in adjusted_sequential]


def test_analyse_and_decide_agree() -> None:
    rng = np.random.default_rng(42)
    for _ in range(300):
        variants = random_test(rng)
        minimum = int(rng.choice([0, 100, 1000]))
        result = analyse(variants, 0.95, minimum, planned_n=int(rng.choice([500, 5000])))
        decision = decide(variants, 0, 0.95, minimum, result.srm.p_value, result.planned_n)
        assert decision == result.decision


counts = st.integers(0, 10**5).flatmap(lambda n: st.tuples(st.integers(0, n), st.just(n)))


@given(
    st.lists(st.tuples(counts, st.integers(0, 10**5), st.integers(0, 100)), min_size=1, max_size=5),
    st.sampled_from([0.8, 0.95, 0.99]),
    st.integers(0, 200),
)
def test_analyse_answers_are_json_with_finite_numbers(
    rows, confidence: float, minimum: int
) -> None:
    variants = [
        VariantData(i, f"V{i}", assigned, n, s, allocation)
        for i, ((s, n), assigned, allocation) in enumerate(rows)
    ]
    result = analyse(variants, confidence, minimum)
    json.dumps(dataclasses.asdict(result), allow_nan=False)  # raises on NaN or inf
    assert isinstance(verdict(result, "read"), str)


def data(*rows: tuple[int, int], names: tuple[str, ...] = ("Control", "B", "C")) -> list:
    return [VariantData(i, names[i], n, n, s, 100 / len(rows)) for i, (s, n) in enumerate(rows)]


def test_verdict_sentences() -> None:
    winner = analyse(data((300, 2000), (420, 2000)), 0.95, 100)
    assert (
        verdict(winner, "read_rate") == "B is read 40% more often than Control, >99.9% confidence."
    )
    assert (
        verdict(winner, "reply") == "B gets replies 40% more often than Control, >99.9% confidence."
    )
    assert verdict(winner, "opens the link").startswith("B opens the link 40% more often")
    waiting = analyse(data((3, 20), (4, 20)), 0.95, 100)
    assert verdict(waiting, "read") == "Waiting for 100 sends per variant (fewest so far: 20)."
    unclear = analyse(data((300, 1000), (320, 1000)), 0.95, 100)
    assert verdict(unclear, "delivery") == (
        "No clear winner yet: B is delivered 6.7% more often than Control "
        "(0% confidence, 95% needed)."
    )
    control = analyse(data((420, 2000), (300, 2000)), 0.95, 100)
    assert (
        verdict(control, "click")
        == "Control gets clicks more often than every variant, >99.9% confidence."
    )
    # A zero-rate control: no lift is claimed against 0% (issue 19; GrowthBook's rule).
    zero = (
        "The control has no successes yet (0%): there is nothing to measure a lift against,"
        " so no winner is claimed."
    )
    from_zero = analyse(data((0, 500), (60, 500)), 0.95, 100)
    assert verdict(from_zero, "reply") == zero
    same = analyse(data((0, 500), (0, 500)), 0.95, 100)
    assert verdict(same, "reply") == zero
    skewed = analyse(
        [VariantData(1, "A", 100, 6000, 1800, 50), VariantData(2, "B", 100, 4000, 1200, 50)],
        0.95,
        100,
    )
    assert skewed.srm.mismatch and verdict(skewed, "read").startswith("Sample ratio mismatch (p = ")
    empty = analyse(data((0, 0), (0, 0)), 0.95, 0)
    assert verdict(empty, "read") == "No clear winner yet: a variant has no sends to compare."
    alone = analyse(data((5, 10)), 0.95, 0)
    assert (
        alone.comparisons == ()
        and verdict(alone, "read") == "Needs a control and at least one variant."
    )


def run_streams(p_control: float, p_variant: float, streams: int, seed: int) -> tuple[float, float]:
    """Share of streams where the naive rule and decide() declare a winner, looks every 100."""
    rng = np.random.default_rng(seed)
    looks = np.arange(100, 5001, 100)
    control = rng.binomial(100, p_control, (streams, looks.size)).cumsum(axis=1)
    variant = rng.binomial(100, p_variant, (streams, looks.size)).cumsum(axis=1)
    naive = sequential = 0
    for a_row, b_row in zip(control, variant, strict=True):
        naive += any(
            two_proportion_z(int(a), n, int(b), n)[1] < 0.05
            for a, b, n in zip(a_row, b_row, looks, strict=True)
        )
        sequential += any(
            decide([Arm(n, int(a)), Arm(n, int(b))], 0, 0.95, 100, srm_p=1.0).can_declare_winner
            for a, b, n in zip(a_row, b_row, looks, strict=True)
        )
    return naive / streams, sequential / streams


def test_peeking_every_pass_keeps_false_winners_under_alpha() -> None:
    naive, sequential = run_streams(0.3, 0.3, streams=200, seed=2024)
    assert sequential <= 0.03
    assert naive >= 0.15  # the naive rule, checked at 50 looks, is wrong far more than 5%


def test_a_real_lift_is_found() -> None:
    _, sequential = run_streams(0.30, 0.36, streams=100, seed=7)
    assert sequential >= 0.8


def test_srm_is_checked_on_the_sends_the_decision_analyses() -> None:
    """Issue 19's reproduction: 1,000 / 1,000 assigned but 1,000 / 500 sent is a mismatch of
    what is compared, and no winner is declared on it."""
    result = analyse(
        [VariantData(0, "C", 1000, 1000, 300, 50), VariantData(1, "B", 1000, 500, 190, 50)],
        0.95,
        100,
    )
    assert result.srm.mismatch and result.srm.p_value < 1e-10
    assert result.decision.code == "srm" and result.decision.winner_index is None


def test_the_verdict_speaks_of_the_arm_the_decision_looked_at() -> None:
    """Three arms: C has the best observed rate (so the rule looks at C, not yet
    significant), B the smallest p. The sentence is about C."""
    arms_ = [(300, 2000), (420, 2000), (23, 100)]
    result = analyse(
        [VariantData(i, "Control B C".split()[i], n, n, s, n) for i, (s, n) in enumerate(arms_)],
        0.95,
        100,
    )
    assert result.decision.code == "no_difference"
    best_p = min(result.comparisons, key=lambda c: c.adjusted_sequential_p_value)
    assert result.variants[best_p.index].name == "B"  # the old sentence's arm
    sentence = verdict(result, "read")
    assert sentence.startswith("No clear winner yet: C is read "), sentence
