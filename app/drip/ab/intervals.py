"""Always-valid confidence intervals on a lift, from the same normal mixture as the sequential
p-values (app.drip.ab.sequential): the set of effects the mixture SPRT does not reject.

With se the standard error of an estimate after an effective n per arm and r = n·rho² (the
mixture_ratio tuned for planned_n), the mixture's boundary gives the half-width

    h = se · sqrt(2·(1 + r)/r · ln(sqrt(1 + r) / alpha))

which holds at every look at once (Waudby-Smith et al.'s asymptotic confidence sequence), so
the interval may be read at any time, as the p-value may. The relative lift's interval is
taken on the log of the ratio of rates (the delta method there), which is near normal far
sooner than the ratio itself, and is not claimed when the control's rate is zero (there is
nothing to be relative to, as in GrowthBook): only the difference in points is. Variances take
one success and one failure more per arm (Agresti-Caffo), so that 0 of 40 against 0 of 40 is
not an interval of width zero.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from app.drip.ab.sequential import effective_n, mixture_ratio


@dataclass(frozen=True, slots=True)
class LiftInterval:
    """b against a: the difference of rates (fractions) and the relative lift, with their
    always-valid intervals; lift fields are None when a's rate is zero."""

    difference: float
    difference_low: float
    difference_high: float
    lift: float | None
    lift_low: float | None
    lift_high: float | None


def boundary_multiplier(n_eff: float, planned_n: int, alpha: float) -> float:
    """h / se at an effective n per arm (infinite without data)."""
    if n_eff <= 0:
        return math.inf
    r = mixture_ratio(n_eff, planned_n, alpha)
    return math.sqrt(2.0 * (1.0 + r) / r * (0.5 * math.log1p(r) - math.log(alpha)))


def lift_interval(
    successes_a: int, n_a: int, successes_b: int, n_b: int, planned_n: int, alpha: float
) -> LiftInterval | None:
    """The always-valid interval of b's lift over a; None when either arm has no sends."""
    if n_a <= 0 or n_b <= 0:
        return None
    rate_a, rate_b = successes_a / n_a, successes_b / n_b
    var_a = _variance(successes_a, n_a)
    var_b = _variance(successes_b, n_b)
    m = boundary_multiplier(effective_n(n_a, n_b), planned_n, alpha)
    difference = rate_b - rate_a
    half = m * math.sqrt(var_a + var_b)
    lift = lift_low = lift_high = None
    if rate_a > 0:
        lift = rate_b / rate_a - 1.0
        # On the log of the ratio, where the estimate is close to normal far sooner than the
        # ratio itself (skewed when the control has few conversions); the rates' variances
        # are the adjusted ones, so a zero on b's side has a finite log.
        adjusted_a = (successes_a + 1) / (n_a + 2)
        adjusted_b = (successes_b + 1) / (n_b + 2)
        se = math.sqrt(var_a / adjusted_a**2 + var_b / adjusted_b**2)
        centre = math.log(adjusted_b / adjusted_a)
        lift_low = math.exp(centre - m * se) - 1.0
        lift_high = math.exp(centre + m * se) - 1.0
    return LiftInterval(
        difference,
        max(difference - half, -1.0),
        min(difference + half, 1.0),
        lift,
        lift_low,
        lift_high,
    )


def _variance(successes: int, n: int) -> float:
    adjusted = (successes + 1) / (n + 2)
    return adjusted * (1.0 - adjusted) / n
