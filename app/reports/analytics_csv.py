"""The analytics reports as CSV for spreadsheets: one table per report type, with the same
numbers as the JSON (unrounded; empty where a rate has nothing to divide by)."""

from __future__ import annotations

from app.drip.analytics import DROP_OFF_REASONS
from app.reports.csv_writer import write_csv

STEP_COUNTS = ("reached", "sent", "delivered", "read", "replied", "clicked", "failed")
COHORT_COLUMNS = (
    "size", "completed", "completionRate", "sent", "delivered", "read", "replied",
    "readRate", "replyRate",
)  # fmt: skip


def analytics_to_csv(kind: str, data: dict) -> str:
    """The report `data` of analytics type `kind` as CSV text."""
    if kind == "funnel":
        header, rows = _funnel(data)
    elif kind == "timeseries":
        header, rows = _timeseries(data)
    elif kind == "engagement":
        header, rows = _engagement(data)
    elif kind == "lift":
        header, rows = _lift(data)
    elif "metrics" in data:
        header, rows = _comparison(data)
    else:
        header, rows = _cohorts(data)
    return write_csv(header, rows)


def _funnel(data: dict):
    header = [
        "position", "step", *(f"{m}_count" for m in STEP_COUNTS), "conversion_rate",
        "drop_off_count", "drop_off_rate", *(f"drop_off_{r}" for r in DROP_OFF_REASONS),
        "drop_off_converted", "drop_off_marketing_cap", "failed_by_code", "cost", "currency",
        "conversions", "revenue", "revenue_currency",
    ]  # fmt: skip
    rows = []
    for step in data["steps"]:
        codes = ";".join(f"{code}:{n}" for code, n in step["failedByCode"].items())
        rows.append(
            [
                step["position"],
                step["name"],
                *(step[f"{m}Count"] for m in STEP_COUNTS),
                step["conversionRate"],
                step["dropOffCount"],
                step["dropOffRate"],
                *(step["dropOffReasons"][r] for r in DROP_OFF_REASONS),
                # Waiting for a retry of a message Meta held back (131049): apart from
                # "waiting". Neither is drop-off (issue 18): replied, unsubscribed, failed
                # and stopped add up to drop_off_count.
                # Ended by reaching the campaign's goal (issue 19): drop-off, out of "stopped".
                step["dropOffReasons"].get("converted", 0),
                step["dropOffReasons"].get("marketingCap", 0),
                codes,
                step.get("cost"),
                step.get("currency"),
                step.get("conversions", 0),
                step.get("revenue"),
                step.get("revenueCurrency"),
            ]
        )
    return header, rows


def _timeseries(data: dict):
    days = data["days"]
    metrics = [k for k in (days[0] if days else {}) if k != "date"]  # cost, revenue among them
    header = ["date", *metrics, "currency", "revenue_currency"]
    currency, revenue_currency = data.get("currency"), data.get("revenueCurrency")
    return header, [
        [d["date"].isoformat(), *(d[m] for m in metrics), currency, revenue_currency] for d in days
    ]


def _engagement(data: dict):
    rows = [[k, v] for k, v in data.items() if not isinstance(v, dict)]  # cost, currency too
    for name in ("timeToRead", "timeToReply"):
        rows += [[f"{name}.{k}", v] for k, v in data[name].items()]
    return ["metric", "value"], rows


def _lift(data: dict):
    rows = [
        ["goal_event", data["goal"]["event"]],
        ["goal_within_days", data["goal"]["withinDays"]],
        ["holdout_percent", data["holdoutPercent"]],
    ]
    for group in ("messaged", "holdout"):
        rows += [[f"{group}_{k}", v] for k, v in data[group].items()]
    rows += [[k, v] for k, v in data.items() if not isinstance(v, dict) and k != "campaignId"]
    return ["metric", "value"], rows


def _cohorts(data: dict):
    positions = [s["position"] for s in data["steps"]]
    header = [
        "cohort_start", "cohort_end", "label", *COHORT_COLUMNS,
        *(f"reached_step_{p}" for p in positions), *(f"reached_rate_step_{p}" for p in positions),
    ]  # fmt: skip
    rows = [
        [
            c["start"].isoformat(),
            c["end"].isoformat(),
            c["label"],
            *(c[k] for k in COHORT_COLUMNS),
            *c["reached"],
            *c["reachedRates"],
        ]
        for c in data["cohorts"]
    ]
    return header, rows


def _comparison(data: dict):
    a, b = data["a"], data["b"]
    header = ["metric", f"a {a['from']}..{a['to']}", f"b {b['from']}..{b['to']}", "difference",
              "z_score", "p_value", "significant"]  # fmt: skip
    rows = [["size", a["size"], b["size"], None, None, None, None]]
    rows += [
        [m["metric"], m["a"], m["b"], m["difference"], m["zScore"], m["pValue"], m["significant"]]
        for m in data["metrics"]
    ]
    return header, rows
