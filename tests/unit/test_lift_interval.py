"""The always-valid interval on a lift (app.drip.ab.lift_interval)."""

from __future__ import annotations

import numpy as np

from app.drip.ab import DEFAULT_PLANNED_N, lift_interval

ALPHA = 0.05


def test_no_sends_no_interval_and_a_zero_control_claims_no_relative_lift():
    assert lift_interval(0, 0, 5, 100, DEFAULT_PLANNED_N, ALPHA) is None
    zero = lift_interval(0, 400, 12, 400, DEFAULT_PLANNED_N, ALPHA)
    assert zero.lift is None and zero.lift_low is None and zero.lift_high is None
    assert zero.difference == 0.03
    assert zero.difference_low < 0.03 < zero.difference_high


def test_the_interval_holds_the_estimate_and_narrows_with_data():
    small = lift_interval(50, 1_000, 65, 1_000, DEFAULT_PLANNED_N, ALPHA)
    large = lift_interval(500, 10_000, 650, 10_000, DEFAULT_PLANNED_N, ALPHA)
    for interval in (small, large):
        assert interval.lift_low < interval.lift < interval.lift_high
        assert interval.difference_low < interval.difference < interval.difference_high
    assert abs(small.lift - 0.3) < 1e-9 and abs(large.lift - 0.3) < 1e-9
    assert large.lift_high - large.lift_low < (small.lift_high - small.lift_low) / 2
    assert large.lift_low > 0  # 30% on 10,000 a side is a lift
    assert small.lift_low < 0 < small.lift_high  # on 1,000 a side it is not yet


def test_it_is_wider_than_a_fixed_horizon_interval():
    """Valid at every look costs width: the 95% always-valid difference interval is wider
    than the fixed-sample one (1.96 standard errors)."""
    interval = lift_interval(300, 3_000, 360, 3_000, DEFAULT_PLANNED_N, ALPHA)
    p_a, p_b = 301 / 3002, 361 / 3002
    se = np.sqrt(p_a * (1 - p_a) / 3_000 + p_b * (1 - p_b) / 3_000)
    assert (interval.difference_high - interval.difference_low) / 2 > 1.96 * se


def test_it_covers_the_true_lift_at_every_look_in_simulation():
    """300 simulated campaigns, 20 looks each: the share whose interval held the true lift
    at every look is at least 95%."""
    rng = np.random.default_rng(7)
    base, true_lift, looks, per_look = 0.08, 0.25, 20, 150
    held_out = rng.binomial(per_look, 0.3, (300, looks))
    a = rng.binomial(held_out, base).cumsum(axis=1)
    b = rng.binomial(per_look - held_out, base * (1 + true_lift)).cumsum(axis=1)
    n_a, n_b = held_out.cumsum(axis=1), (per_look - held_out).cumsum(axis=1)
    held = 0
    for i in range(300):
        ok = True
        for look in range(looks):
            interval = lift_interval(
                int(a[i, look]),
                int(n_a[i, look]),
                int(b[i, look]),
                int(n_b[i, look]),
                DEFAULT_PLANNED_N,
                ALPHA,
            )
            if interval.lift is not None and not (
                interval.lift_low <= true_lift <= interval.lift_high
            ):
                ok = False
        held += ok
    assert held / 300 >= 0.95
