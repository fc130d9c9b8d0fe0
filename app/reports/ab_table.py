"""The results table of an A/B test: one row per variant, its counts and rate beside its
comparison with the control; the same rows as CSV for spreadsheets, and the number formats
the page shows them in.

Rows are built from app.drip.ab.running.report: the CSV keeps its numbers unrounded (empty
where there is none, e.g. the control's comparison, or a comparison with an arm that has no
sends, whose note then says "no sends yet"); rounding is the page's.
"""

from __future__ import annotations

from app.drip import ab
from app.reports.csv_writer import write_csv

# (CSV column, row key): the table's numbers, in the page's order.
COLUMNS = (
    ("variant_id", "id"),
    ("variant", "name"),
    ("is_control", "isControl"),
    ("is_winner", "isWinner"),
    ("traffic_allocation", "trafficAllocation"),
    ("assigned", "assigned"),
    ("sent", "sent"),
    ("delivered", "delivered"),
    ("read", "read"),
    ("replied", "replied"),
    ("clicked", "clicked"),
    ("metric", "metric"),
    ("successes", "successes"),
    ("rate", "rate"),
    ("ci_low", "ciLow"),
    ("ci_high", "ciHigh"),
    ("confidence", "confidence"),
    ("lift", "lift"),
    ("absolute_lift", "absoluteLift"),
    ("z_score", "zScore"),
    ("p_value", "pValue"),
    ("adjusted_p_value", "adjustedPValue"),
    ("matured_n", "maturedN"),
    ("matured_successes", "maturedSuccesses"),
    ("lift_ci_low", "liftLow"),
    ("lift_ci_high", "liftHigh"),
    ("difference_ci_low", "differenceLow"),
    ("difference_ci_high", "differenceHigh"),
    ("sequential_p_value", "sequentialPValue"),
    ("adjusted_sequential_p_value", "adjustedSequentialPValue"),
    ("running_minimum_p_value", "runningMinimumPValue"),
    ("adjusted_running_minimum_p_value", "adjustedRunningMinimumPValue"),
    ("significant", "significant"),
    ("note", "note"),
)
# From every send (statistics.comparisons): the descriptive columns.
COMPARISON_KEYS = ("lift", "absoluteLift", "zScore", "pValue", "adjustedPValue", "note")
# From the decision's data, the matured sends (statistics.sequential.comparisons), so the
# table's significance can never disagree with the verdict.
DECISION_KEYS = (
    "liftLow",
    "liftHigh",
    "differenceLow",
    "differenceHigh",
    "sequentialPValue",
    "adjustedSequentialPValue",
    "runningMinimumPValue",
    "adjustedRunningMinimumPValue",
    "significant",
)


def result_rows(report: dict) -> list[dict]:
    """Each variant of the report with its comparison against the control (None for the
    control itself), the metric and the confidence: rate, lift, z and fixed p on every send;
    matured counts, lift interval, sequential p and significance on the matured sends the
    decision uses."""
    statistics = report.get("statistics") or {}
    sequential = statistics.get("sequential") or {}
    comparisons = {c["variantId"]: c for c in statistics.get("comparisons") or []}
    decided = {c["variantId"]: c for c in sequential.get("comparisons") or []}
    matured = {v["variantId"]: v for v in sequential.get("variants") or []}
    rows = []
    for variant in report.get("variants") or []:
        comparison = comparisons.get(variant["id"], {})
        decision = decided.get(variant["id"], {})
        mature = matured.get(variant["id"], {})
        rows.append(
            {
                **variant,
                "isWinner": variant["id"] == report.get("winnerId"),
                "metric": report.get("winningMetric"),
                "confidence": report.get("confidenceThreshold"),
                "maturedN": mature.get("n"),
                "maturedSuccesses": mature.get("successes"),
                **{key: comparison.get(key) for key in COMPARISON_KEYS},
                **{key: decision.get(key) for key in DECISION_KEYS},
                "decisionNote": decision.get("note"),
            }
        )
    return rows


def ab_results_to_csv(report: dict) -> str:
    """One row per variant with every number of the table, unrounded."""
    rows = [[row.get(key) for _, key in COLUMNS] for row in result_rows(report)]
    return write_csv([column for column, _ in COLUMNS], rows)


# What each auto-winner decision code means, in words.
DECISIONS = {
    "winner": "Winner found",
    "manual": "Winner declared by hand",
    "waiting": "Waiting for data",
    "srm": "Blocked: sample ratio mismatch",
    "no_difference": "No significant difference yet",
    "too_few_variants": "Needs a variant besides the control",
    "zero_control": "No lift to measure: the control has no successes yet",
    "max_duration": "Ended: no difference found within the maximum duration",
}


def leader(report: dict) -> dict | None:
    """The winner, else the variant with the highest rate so far (None without sends)."""
    variants = report["variants"]
    winner = next((v for v in variants if v["id"] == report["winnerId"]), None)
    if winner is not None:
        return {"name": winner["name"], "rate": winner["rate"], "winner": True}
    measured = [v for v in variants if v["rate"] is not None]
    if not measured:
        return None
    best = max(measured, key=lambda v: v["rate"])
    return {"name": best["name"], "rate": best["rate"], "winner": False}


# --- display --------------------------------------------------------------------------------


def p_value(value: float | None) -> str:
    """0.0007962 -> "0.0008", 3e-9 -> "< 0.0001", 1.0 -> "1.000"."""
    if value is None:
        return "—"
    if value < 0.0001:
        return "< 0.0001"
    return f"{value:.4f}" if value < 0.001 else f"{value:.3f}"


def z_score(value: float | None) -> str:
    return "—" if value is None else f"{value:+.2f}"


def lift(value: float | None) -> str:
    """A relative lift in percent, signed, one decimal: "+12.5%" (the headline's format)."""
    return ab.lift_text(value)


def points(value: float | None) -> str:
    """An absolute difference in percentage points: "+2.5 pts"."""
    return "—" if value is None else f"{value:+,.1f} pts"


def interval(low: float | None, high: float | None) -> str:
    """A confidence interval of rates: "22.3–27.9%"."""
    if low is None or high is None:
        return "—"
    return f"{low:,.1f}–{high:,.1f}%"


def lift_interval(low: float | None, high: float | None) -> str:
    """An always-valid interval of a lift in percent: "−3.1% to +24.0%"."""
    if low is None or high is None:
        return "—"
    return f"{ab.lift_text(low)} to {ab.lift_text(high)}"


def share(value: float | None) -> str:
    """A traffic allocation as set: 50 -> "50%", 33.33 -> "33.33%"."""
    return "—" if value is None else f"{value:g}%"


FORMATTERS = {
    "p_value": p_value,
    "z_score": z_score,
    "lift": lift,
    "points": points,
    "share": share,
    "interval": interval,
    "lift_interval": lift_interval,
}
