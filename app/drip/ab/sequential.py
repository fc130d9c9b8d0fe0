"""Sequential A/B testing: always-valid p-values, the auto-winner rule and analyse().

The p-value for a difference of two proportions is a normal-mixture SPRT.

The boundary is the two-sided normal mixture of Howard et al. (2021), which is also the
asymptotic confidence sequence of Waudby-Smith et al. ("Time-uniform central limit theory and
asymptotic confidence sequences") and the mixture SPRT of Johari et al. behind Optimizely's and
GrowthBook's sequential engines. With z the pooled two-proportion z statistic after an
effective n sends per arm, and r = n·rho² (rho the mixture scale in standard-deviation units):

    p = min(1, sqrt(1 + r) · exp(-z² · r / (2 · (1 + r))))

Unclipped, 1/p is an (asymptotic) nonnegative martingale under "no difference", so by Ville's
inequality the chance that p ever drops below alpha, however often it is looked at, is at most
alpha. rho² is tuned as in Waudby-Smith et al. so that the boundary is tightest at `planned_n`
sends per arm: rho² = (-2 ln alpha + ln(1 - 2 ln alpha)) / planned_n. The tuning moves power
between early and late looks; the false-winner guarantee holds for any tuning.

Two facts the tests pin down: p is never below the fixed-horizon two-sided p at the same data
(sqrt(1 + r) >= 1, r / (1 + r) < 1 and 2·(1 - Phi(z)) <= exp(-z²/2)); and it is not monotone by
itself, so a caller that shows it over time passes the last value as `previous` to report the
running minimum, which is the always-valid p-value proper. Acting on the current value ("stop
the first time p < alpha") is the same decision as acting on the running minimum.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

from app.drip.ab.stats import (
    SRM_P_THRESHOLD,
    Comparison,
    Counts,
    Srm,
    VariantData,
    VariantStats,
    alpha_for,
    format_confidence,
    holm,
    proportion,
    sample_ratio_mismatch,
    two_proportion_z,
    wilson_interval,
)

# Tuning sample size per arm when the test has no planned size: the boundary is then tightest
# around 1,000 sends per arm and still usable from 100 (see bench/ab_false_positives.py).
DEFAULT_PLANNED_N = 1000
METRIC_VERBS = {
    "delivery": "is delivered",
    "read": "is read",
    "reply": "gets replies",
    "click": "gets clicks",
    "conversion": "converts",
}


def effective_n(n_a: int, n_b: int) -> float:
    """Sends per arm of a balanced test with the same information (2·n_a·n_b / (n_a + n_b))."""
    if n_a <= 0 or n_b <= 0:
        return 0.0
    return 2.0 * n_a * n_b / (n_a + n_b)


def planned_sample_size(min_sample_size: int, planned_n: int | None = None) -> int:
    """The tuning sample size per arm: planned_n if given, else the larger of min and default."""
    if planned_n is not None and planned_n > 0:
        return int(planned_n)
    return max(int(min_sample_size), DEFAULT_PLANNED_N)


def mixture_ratio(n_eff: float, planned_n: int, alpha: float) -> float:
    """r = n·rho² with rho² tuned for the tightest boundary at planned_n sends per arm."""
    log_term = -2.0 * math.log(alpha)
    return (log_term + math.log1p(log_term)) * n_eff / max(planned_n, 1)


def sequential_p_value(
    z: float | None,
    n_eff: float,
    planned_n: int,
    alpha: float,
    previous: float | None = None,
) -> float:
    """Always-valid two-sided p in [0, 1]; 1.0 without data; the running minimum with previous."""
    if z is None or n_eff <= 0:
        p = 1.0
    else:
        r = mixture_ratio(n_eff, planned_n, alpha)
        # In logs: exp() of a large z underflows to 0.0 (finite), never overflows.
        log_p = 0.5 * math.log1p(r) - z * z * r / (2.0 * (1.0 + r))
        p = math.exp(min(log_p, 0.0))
    if previous is not None:
        p = min(p, previous)
    return p


@dataclass(frozen=True, slots=True)
class Decision:
    """The auto-winner verdict; code is winner, waiting, srm, no_difference or too_few_variants."""

    winner_index: int | None
    code: str
    reason: str

    @property
    def can_declare_winner(self) -> bool:
        """True when a winner (possibly the control) can be declared now."""
        return self.winner_index is not None


@dataclass(frozen=True, slots=True)
class Analysis:
    """Everything the results page and the API show for one test."""

    confidence: float
    control_index: int
    planned_n: int
    variants: tuple[VariantStats, ...]
    comparisons: tuple[Comparison, ...]
    srm: Srm
    decision: Decision


def compare_all(
    variants: Sequence[Counts], control_index: int, confidence: float, planned_n: int
) -> tuple[Comparison, ...]:
    """Every variant against the control, Holm-adjusting fixed and sequential p separately."""
    alpha = alpha_for(confidence)
    control = variants[control_index]
    control_rate = proportion(control.successes, control.n)
    rows = []
    for index, variant in enumerate(variants):
        if index == control_index:
            continue
        rate = proportion(variant.successes, variant.n)
        z, p = two_proportion_z(control.successes, control.n, variant.successes, variant.n)
        n_eff = effective_n(control.n, variant.n)
        sequential = sequential_p_value(z, n_eff, planned_n, alpha)
        if control_rate == 0:
            # Nothing to be relative to (GrowthBook's BASELINE_VARIATION_ZERO): no claim.
            z, p, sequential = None, 1.0, 1.0
        absolute = None if rate is None or control_rate is None else rate - control_rate
        lift = absolute / control_rate if absolute is not None and control_rate else None
        rows.append((index, lift, absolute, z, p, sequential))
    adjusted = holm([row[4] for row in rows])
    adjusted_sequential = holm([row[5] for row in rows])
    return tuple(
        Comparison(index, control_index, lift, absolute, z, p, adj, seq, adj_seq, adj_seq < alpha)
        for (index, lift, absolute, z, p, seq), adj, adj_seq in zip(
            rows, adjusted, adjusted_sequential, strict=True
        )
    )


def _blocked(
    variants: Sequence[Counts], control_index: int, min_sample_size: int, srm_p: float | None
) -> Decision | None:
    if not 0 <= control_index < len(variants):
        raise ValueError(f"control_index {control_index} is not a variant")
    if len(variants) < 2:
        return Decision(None, "too_few_variants", "needs a control and at least one variant")
    fewest = min(v.n for v in variants)
    if fewest < min_sample_size:
        reason = f"waiting for {min_sample_size} sends per variant (fewest so far: {fewest})"
        return Decision(None, "waiting", reason)
    if srm_p is not None and srm_p < SRM_P_THRESHOLD:
        shown = f"p = {srm_p:.2g}" if srm_p > 0 else "p ≈ 0"
        reason = f"sample ratio mismatch ({shown}): the sends do not follow the allocation"
        return Decision(None, "srm", reason)
    if variants[control_index].n > 0 and variants[control_index].successes == 0:
        reason = (
            "the control has no successes yet (0%): there is nothing to measure a lift"
            " against, so no winner is claimed"
        )
        return Decision(None, "zero_control", reason)
    return None


def best_challenger(comparisons: Sequence[Comparison]) -> Comparison:
    """The arm the decision rule looks at: the highest observed rate among the challengers
    (ties: the first). The verdict speaks of this one too."""
    return max(
        comparisons,
        key=lambda c: (-math.inf if c.absolute_lift is None else c.absolute_lift, -c.index),
    )


def _choose(comparisons: Sequence[Comparison], control_index: int) -> Decision:
    best = best_challenger(comparisons)
    if best.significant and best.absolute_lift is not None and best.absolute_lift > 0:
        confidence = format_confidence(best.adjusted_sequential_p_value)
        return Decision(best.index, "winner", f"beats the control with {confidence} confidence")
    if all(c.significant and (c.absolute_lift or 0.0) < 0 for c in comparisons):
        worst = max(c.adjusted_sequential_p_value for c in comparisons)
        reason = f"the control beats every variant with {format_confidence(worst)} confidence"
        return Decision(control_index, "winner", reason)
    return Decision(None, "no_difference", "no significant difference yet")


def decide(
    variants: Sequence[Counts],
    control_index: int,
    confidence: float,
    min_sample_size: int,
    srm_p: float | None,
    planned_n: int | None = None,
) -> Decision:
    """The auto-winner rule on matured sends: enough sends, no SRM, a significant best arm."""
    alpha_for(confidence)
    blocked = _blocked(variants, control_index, min_sample_size, srm_p)
    if blocked is not None:
        return blocked
    tuning = planned_sample_size(min_sample_size, planned_n)
    return _choose(compare_all(variants, control_index, confidence, tuning), control_index)


def analyse(
    variants: Sequence[VariantData],
    confidence: float,
    min_sample_size: int,
    control_index: int = 0,
    planned_n: int | None = None,
) -> Analysis:
    """Rates, intervals, comparisons, SRM and the decision (sequential p: current values)."""
    alpha_for(confidence)
    rows = []
    for v in variants:
        interval = wilson_interval(v.successes, v.n, confidence)
        low, high = interval if interval is not None else (None, None)
        rate = proportion(v.successes, v.n)
        rows.append(VariantStats(v.key, v.name, v.n, v.successes, rate, low, high))
    # On the sends the decision analyses (not the contacts assigned): 1,000 / 1,000 assigned
    # with 1,000 / 500 sent is a mismatch of what is compared.
    srm = sample_ratio_mismatch([v.n for v in variants], [v.allocation for v in variants])
    tuning = planned_sample_size(min_sample_size, planned_n)
    decision = _blocked(variants, control_index, min_sample_size, srm.p_value)
    comparisons = ()
    if len(variants) >= 2:
        comparisons = compare_all(variants, control_index, confidence, tuning)
    if decision is None:
        decision = _choose(comparisons, control_index)
    return Analysis(confidence, control_index, tuning, tuple(rows), comparisons, srm, decision)


def _percent(fraction: float) -> str:
    value = abs(fraction) * 100.0
    return f"{value:.0f}%" if value >= 10 else f"{value:.1f}%"


def _difference(best: Comparison, analysis: Analysis) -> str:
    control = analysis.variants[analysis.control_index].name
    if best.absolute_lift == 0:
        return f"as often as {control}"
    if best.lift is None:
        rate = analysis.variants[best.index].rate or 0.0
        return f"at {_percent(rate)} against 0% for {control}"
    return f"{_percent(best.lift)} {'more' if best.lift > 0 else 'less'} often than {control}"


def verdict(analysis: Analysis, metric: str) -> str:
    """One plain sentence; metric is delivery/read/reply/click (or *_rate) or a verb phrase."""
    verb = METRIC_VERBS.get(metric.removesuffix("_rate"), metric)
    decision, comparisons = analysis.decision, analysis.comparisons
    if decision.code in ("waiting", "srm", "too_few_variants", "zero_control"):
        return decision.reason[0].upper() + decision.reason[1:] + "."
    if any(c.absolute_lift is None for c in comparisons):
        return "No clear winner yet: a variant has no sends to compare."
    if decision.winner_index == analysis.control_index:
        sure = format_confidence(max(c.adjusted_sequential_p_value for c in comparisons))
        control = analysis.variants[analysis.control_index].name
        return f"{control} {verb} more often than every variant, {sure} confidence."
    if decision.winner_index is not None:
        best = next(c for c in comparisons if c.index == decision.winner_index)
    else:
        best = best_challenger(comparisons)
    name = analysis.variants[best.index].name
    sure = format_confidence(best.adjusted_sequential_p_value)
    if decision.winner_index is not None:
        return f"{name} {verb} {_difference(best, analysis)}, {sure} confidence."
    needed = f"{analysis.confidence * 100:g}%"
    return (
        f"No clear winner yet: {name} {verb} {_difference(best, analysis)} "
        f"({sure} confidence, {needed} needed)."
    )
