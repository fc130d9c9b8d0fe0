"""Coverage of the holdout lift's always-valid interval (analytics?type=lift, issue 19).

    .venv/bin/python bench/lift_coverage.py [--campaigns 1000] [--seed 1]

Simulates campaigns whose true lift is known: the holdout converts at a base rate, the
messaged at base x (1 + lift); each campaign enrolls contacts in daily batches, a share of
them (the holdout percent) held out, and the interval is computed with the real
app.drip.ab.lift_interval after every day, as a marketer reading the panel daily would.
Prints, per scenario, the share of campaigns whose interval held the true lift at the last
look and at every look at once (goal: at least 95%), the median width at the end, the share
that show a lift (interval above 0), and the peak RSS and run time.
"""

from __future__ import annotations

import argparse
import resource
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from app.drip.ab import DEFAULT_PLANNED_N, lift_interval  # noqa: E402

ALPHA = 0.05
DAYS = 30
# (base conversion rate, true relative lift, holdout percent, enrollments per day)
SCENARIOS = [
    (0.05, 0.20, 10, 300),
    (0.05, 0.00, 20, 300),
    (0.10, 0.10, 20, 200),
    (0.02, 0.50, 50, 100),
    (0.05, 0.30, 20, 1000),
    (0.10, 0.00, 50, 1000),
]


def simulate(rng, campaigns: int, base: float, true_lift: float, holdout: int, daily: int):
    held = rng.binomial(daily, holdout / 100, (campaigns, DAYS))
    messaged = daily - held
    held_c = rng.binomial(held, base)
    messaged_c = rng.binomial(messaged, base * (1 + true_lift))
    cum = [a.cumsum(axis=1) for a in (held, held_c, messaged, messaged_c)]
    covered_end = covered_all = positive = 0
    widths = []
    for i in range(campaigns):
        always = True
        interval = None
        for day in range(DAYS):
            n_h, c_h, n_m, c_m = (int(a[i, day]) for a in cum)
            interval = lift_interval(c_h, n_h, c_m, n_m, DEFAULT_PLANNED_N, ALPHA)
            if interval is None or interval.lift is None:
                continue
            if not interval.lift_low <= true_lift <= interval.lift_high:
                always = False
        covered_all += always
        if interval is not None and interval.lift is not None:
            covered_end += interval.lift_low <= true_lift <= interval.lift_high
            widths.append(interval.lift_high - interval.lift_low)
            positive += interval.lift_low > 0
        else:
            covered_end += 1  # no claim made: nothing to be wrong about
    return covered_end / campaigns, covered_all / campaigns, float(np.median(widths)), positive


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--campaigns", type=int, default=1000)
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()
    rng = np.random.default_rng(args.seed)
    started = time.perf_counter()
    print(
        f"{args.campaigns:,} campaigns per scenario, {DAYS} daily looks, 95% always-valid interval"
    )
    print("base  lift  holdout  per day | covered at end | covered at every look | width | lift>0")
    worst = 1.0
    for base, true_lift, holdout, daily in SCENARIOS:
        end, every, width, positive = simulate(rng, args.campaigns, base, true_lift, holdout, daily)
        worst = min(worst, every)
        print(
            f"{base:4.0%} {true_lift:+5.0%} {holdout:6d}% {daily:8d} | {end:14.1%} |"
            f" {every:21.1%} | {width:5.2f} | {positive / args.campaigns:6.1%}"
        )
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(
        f"lowest coverage at every look: {worst:.1%} (goal >= 95%); "
        f"peak RSS {peak:.0f} MB; {time.perf_counter() - started:.1f} s"
    )


if __name__ == "__main__":
    main()
