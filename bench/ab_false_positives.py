"""False winners and power of the A/B auto-winner rule when it is checked on every pass.

    .venv/bin/python bench/ab_false_positives.py [--tests 2000] [--seed 1] [--planned-n N]
        [--rate 0.30]

Simulates A/A tests (both arms at 30%, or --rate) and A/B tests (30% against 33%, a 10%
relative lift), each looked at after every 100 sends per arm up to 10,000, at 95% confidence
with a minimum sample of 100. Drip's rule is the real decide() (with the SRM p of the counts)
called at every look until it declares; the naive rule declares the first time a fixed
two-proportion z-test gives p < 0.05. Prints the false-winner rate of both (goal for Drip:
<= 5%), the share of A/B tests that find the right winner and the median sends per arm it took,
the peak RSS and the run time.

Then (issue 19), with sends split at random among the arms at each look and the SRM gate on
the sends: an unequal 70/30 split, a broken split (allocated 50/50, sent 55/45: the gate must
hold the decision), three arms, and the conversion metric (3% base rate); each A/A (false
winners, goal <= 5%) and with a true lift. Last, a power table: the share of tests that find
the right winner by 10,000 sends per arm, by base rate and relative lift (--power-tests each).
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

from app.drip.ab.sequential import decide, planned_sample_size  # noqa: E402
from app.drip.ab.stats import Arm, sample_ratio_mismatch  # noqa: E402

STEP, HORIZON = 100, 10_000
CONFIDENCE, MIN_SAMPLE = 0.95, 100
LOOKS = np.arange(STEP, HORIZON + 1, STEP)


def draw(rng: np.random.Generator, tests: int, rate: float) -> np.ndarray:
    """Cumulative successes per look: one row per test, one column per look."""
    return rng.binomial(STEP, rate, (tests, LOOKS.size)).cumsum(axis=1)


def naive_outcomes(control: np.ndarray, variant: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Winner (0 control, 1 variant, -1 none) and look index of the naive rule, per test."""
    n = LOOKS[None, :]
    pooled = (control + variant) / (2 * n)
    se = np.sqrt(pooled * (1 - pooled) * 2 / n)
    z = np.divide(variant - control, n * se, out=np.zeros(se.shape), where=se > 0)
    hit = np.abs(z) > 1.959963984540054  # two-sided p < 0.05
    found = hit.any(axis=1)
    first = hit.argmax(axis=1)
    sign = z[np.arange(len(z)), first] > 0
    return np.where(found, sign.astype(int), -1), first


def drip_outcomes(
    control: np.ndarray, variant: np.ndarray, planned_n: int | None
) -> tuple[np.ndarray, np.ndarray, int]:
    """Winner and look index of decide() per test, and how many times decide() ran."""
    winners = np.full(len(control), -1)
    firsts = np.zeros(len(control), dtype=int)
    calls = 0
    for t, (a_row, b_row) in enumerate(zip(control.tolist(), variant.tolist(), strict=True)):
        for look, (a, b) in enumerate(zip(a_row, b_row, strict=True)):
            n = (look + 1) * STEP
            srm_p = sample_ratio_mismatch([n, n], [50, 50]).p_value
            decision = decide([Arm(n, a), Arm(n, b)], 0, CONFIDENCE, MIN_SAMPLE, srm_p, planned_n)
            calls += 1
            if decision.winner_index is not None:
                winners[t], firsts[t] = decision.winner_index, look
                break
    return winners, firsts, calls


def draw_split(
    rng: np.random.Generator, tests: int, rates, split, per_look: int
) -> tuple[np.ndarray, np.ndarray]:
    """Cumulative sends and successes, shape (tests, arms, looks): each look sends per_look
    messages split at random by `split`, each succeeding at its arm's rate."""
    split = np.asarray(split, dtype=float) / sum(split)
    sends = rng.multinomial(per_look, split, (tests, LOOKS.size)).transpose(0, 2, 1)
    rates = np.asarray(rates)[None, :, None]
    successes = rng.binomial(sends, rates)
    return sends.cumsum(axis=2), successes.cumsum(axis=2)


def drip_outcomes_split(
    sends: np.ndarray, successes: np.ndarray, allocation, planned_n: int | None
) -> tuple[np.ndarray, np.ndarray, float]:
    """decide() at every look with the SRM p of the sends against the allocation: winner per
    test (-1 none), its look, and the share of tests the SRM gate held at some look."""
    tests, arms, looks = sends.shape
    winners = np.full(tests, -1)
    firsts = np.zeros(tests, dtype=int)
    held = 0
    for t in range(tests):
        gated = False
        n_rows, s_rows = sends[t].T.tolist(), successes[t].T.tolist()
        for look in range(looks):
            n, s = n_rows[look], s_rows[look]
            srm_p = sample_ratio_mismatch(n, list(allocation)).p_value
            decision = decide(
                [Arm(n[i], s[i]) for i in range(arms)], 0, CONFIDENCE, MIN_SAMPLE, srm_p, planned_n
            )
            gated = gated or decision.code == "srm"
            if decision.winner_index is not None:
                winners[t], firsts[t] = decision.winner_index, look
                break
        held += gated
    return winners, firsts, held / tests


def split_scenarios(rng, tests: int, planned_n: int | None) -> list[float]:
    """The issue 19 scenarios; their false-winner rates."""
    base, conversion = 0.30, 0.03
    scenarios = (
        ("unequal 70/30, A/A", (base, base), (70, 30), (70, 30), None),
        ("unequal 70/30, A/B +10%", (base, base * 1.1), (70, 30), (70, 30), 1),
        ("broken split (50/50 sent 55/45), A/A", (base, base), (50, 50), (55, 45), None),
        ("broken split, A/B +10%", (base, base * 1.1), (50, 50), (55, 45), 1),
        ("three arms, A/A/A", (base, base, base), (34, 33, 33), (34, 33, 33), None),
        ("three arms, A/B/C +0% +10%", (base, base, base * 1.1), (34, 33, 33), (34, 33, 33), 2),
        ("conversion 3%, A/A", (conversion,) * 2, (50, 50), (50, 50), None),
        ("conversion 3%, A/B +20%", (conversion, conversion * 1.2), (50, 50), (50, 50), 1),
    )
    false_rates = []
    for title, rates, allocation, split, true_winner in scenarios:
        started = time.perf_counter()
        sends, successes = draw_split(rng, tests, rates, split, STEP * len(rates))
        winners, firsts, held = drip_outcomes_split(sends, successes, allocation, planned_n)
        took = time.perf_counter() - started
        print(f"{title}  [{tests} tests, {took:.1f} s; SRM gate held {held:.1%} of tests]")
        report("drip", winners, firsts, true_winner)
        if true_winner is None:
            false_rates.append((winners >= 0).mean())
    return false_rates


def power_table(rng, tests: int, planned_n: int | None) -> None:
    lifts = (0.05, 0.10, 0.20, 0.30)
    print(f"power: share of {tests} A/B tests (50/50) with the right winner by {HORIZON:,} per arm")
    print("  base rate " + "".join(f"{f'+{lift:.0%}':>9}" for lift in lifts))
    for base in (0.03, 0.10, 0.30):
        cells = []
        for lift in lifts:
            sends, successes = draw_split(rng, tests, (base, base * (1 + lift)), (1, 1), 2 * STEP)
            winners, _, _ = drip_outcomes_split(sends, successes, (50, 50), planned_n)
            cells.append((winners == 1).mean())
        print(f"  {base:9.0%} " + "".join(f"{cell:9.1%}" for cell in cells))


def report(label: str, winners: np.ndarray, firsts: np.ndarray, true_winner: int | None) -> None:
    declared = winners >= 0
    if true_winner is None:
        print(f"  {label:<6} false winners {declared.mean():7.2%}  ({declared.sum()} tests)")
        return
    right = winners == true_winner
    wrong = declared & ~right
    median = f"{np.median(LOOKS[firsts[right]]):,.0f}" if right.any() else "-"
    print(
        f"  {label:<6} right winner {right.mean():7.2%}  wrong winner {wrong.mean():6.2%}  "
        f"median sends per arm when right {median}"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tests", type=int, default=2000, help="tests per scenario")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--planned-n", type=int, default=None, help="tuning sends per arm")
    parser.add_argument("--rate", type=float, default=0.30, help="control success rate")
    parser.add_argument("--split-tests", type=int, default=1000, help="tests per issue 19 scenario")
    parser.add_argument("--power-tests", type=int, default=200, help="tests per power cell")
    args = parser.parse_args()
    started = time.perf_counter()
    rng = np.random.default_rng(args.seed)
    tuning = planned_sample_size(MIN_SAMPLE, args.planned_n)
    print(
        f"{args.tests} tests per scenario, a look every {STEP} sends per arm up to {HORIZON:,}; "
        f"confidence {CONFIDENCE:.0%}, min sample {MIN_SAMPLE}, tuning n per arm {tuning:,}"
    )
    calls = 0
    base, lifted = args.rate, args.rate * 1.1
    for title, rates, true_winner in (
        (f"A/A: {base:.1%} vs {base:.1%}", (base, base), None),
        (f"A/B: {base:.1%} vs {lifted:.1%} (10% relative lift)", (base, lifted), 1),
    ):
        control, variant = draw(rng, args.tests, rates[0]), draw(rng, args.tests, rates[1])
        scenario_started = time.perf_counter()
        drip_winners, drip_firsts, scenario_calls = drip_outcomes(control, variant, args.planned_n)
        calls += scenario_calls
        took = time.perf_counter() - scenario_started
        print(f"{title}  [{scenario_calls:,} decide() calls, {took:.1f} s]")
        report("naive", *naive_outcomes(control, variant), true_winner)
        report("drip", drip_winners, drip_firsts, true_winner)
    false_rates = split_scenarios(rng, args.split_tests, args.planned_n)
    print(f"worst false-winner rate of those scenarios: {max(false_rates):.2%} (goal <= 5%)")
    power_table(rng, args.power_tests, args.planned_n)
    elapsed = time.perf_counter() - started
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"decide() calls {calls:,}; total {elapsed:.1f} s; peak RSS {peak_mb:.0f} MB")


if __name__ == "__main__":
    main()
