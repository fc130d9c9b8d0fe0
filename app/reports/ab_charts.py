"""Plotly figure builders for the A/B test results page: the report of
app.drip.ab.running.report in, figures out as plain dicts in Plotly's figure schema (as in
app.reports.charts: no graph objects on a page render; go.Figure(figure) validates one).

- rates: the winning metric's rate per variant as bars, the confidence interval (Wilson, at
  the test's confidence) as error bars;
- timeline: the cumulative rate per variant over the days of the current phase (days on the
  report's timelineZone, as it counts them).

Hover text is formatted here, as in app.reports.charts, so the page and the server image agree.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, timedelta

from app.reports.style import FigureDict, count, empty_figure, literal, rate, styled

METRIC_LABELS = {
    "read_rate": "Read rate",
    "reply_rate": "Reply rate",
    "delivery_rate": "Delivery rate",
    "click_rate": "Click rate",
    "conversion_rate": "Conversion rate",
}
# What a success is called, per metric ("30 read of 120 sent").
METRIC_EVENTS = {
    "read_rate": "read",
    "reply_rate": "replied",
    "delivery_rate": "delivered",
    "click_rate": "clicked",
    "conversion_rate": "converted",
}
CONTROL_COLOUR = "#9aa7b0"
VARIANT_COLOURS = ("#128c7e", "#3a86c8", "#e09f1f", "#8e5cc7", "#d1495b", "#6c5b4f")
WINNER_COLOUR = "#1b7f3b"
DAY_MS = 86_400_000


def metric_label(metric: str) -> str:
    return METRIC_LABELS.get(metric, metric.replace("_", " ").capitalize())


def confidence_label(report: dict) -> str:
    """0.95 -> "95%", 0.999 -> "99.9%"."""
    return f"{(report.get('confidenceThreshold') or 0.95) * 100:g}%"


def variant_colours(report: dict) -> dict[int, str]:
    """One colour per variant id, the same on both charts: grey for the control."""
    colours, index = {}, 0
    for variant in report.get("variants") or []:
        if variant["isControl"]:
            colours[variant["id"]] = CONTROL_COLOUR
        else:
            colours[variant["id"]] = VARIANT_COLOURS[index % len(VARIANT_COLOURS)]
            index += 1
    return colours


def _label(variant: dict, winner_id: int | None) -> str:
    name = literal(variant["name"])
    if variant["id"] == winner_id:
        return f"{name} (winner)"
    return f"{name} (control)" if variant["isControl"] else name


def rates_figure(report: dict) -> FigureDict:
    """One bar per variant: its rate, with the interval as asymmetric error bars (the array
    values are ciHigh - rate and rate - ciLow, so the whiskers end on the bounds)."""
    metric = report.get("winningMetric") or "read_rate"
    level = confidence_label(report)
    title = f"{metric_label(metric)} per variant, with {level} intervals"
    variants = report.get("variants") or []
    if not any(v.get("sent") for v in variants):
        return empty_figure(title, "No messages of this test were sent yet.")
    winner_id = report.get("winnerId")
    colours = variant_colours(report)
    event = METRIC_EVENTS.get(metric, "successes")
    x, y, plus, minus, text, hover, marker = [], [], [], [], [], [], []
    for v in variants:
        label = _label(v, winner_id)
        value, low, high = v.get("rate"), v.get("ciLow"), v.get("ciHigh")
        x.append(label)
        y.append(value or 0.0)
        plus.append(high - value if value is not None and high is not None else 0.0)
        minus.append(value - low if value is not None and low is not None else 0.0)
        text.append(rate(value))
        interval = f"{rate(low)} to {rate(high)}" if value is not None else "—"
        hover.append(
            f"<b>{label}</b><br>{metric_label(metric)}: {rate(value)}"
            f"<br>{level} interval: {interval}"
            f"<br>{count(v.get('successes'))} {event} of {count(v.get('sent'))} sent"
        )
        marker.append(WINNER_COLOUR if v["id"] == winner_id else colours[v["id"]])
    bars = _bars_with_intervals(x, y, marker, plus, minus, hover)
    bars.update(text=text, textposition="inside", insidetextanchor="start")
    fig = styled({"data": [bars], "layout": {}}, title, height=380, showlegend=False)
    layout = fig["layout"]
    layout["yaxis"].update(
        title={"text": f"% of messages sent ({event})"}, ticksuffix="%", rangemode="tozero"
    )
    layout["xaxis"]["showgrid"] = False
    return fig


def lift_figure(report: dict) -> FigureDict:
    """One bar per challenger: its lift over the control on the matured sends the decision
    uses, with the always-valid interval (liftLow, liftHigh) as error bars; a challenger
    without a claimed lift (no sends, a control at 0%) has no bar."""
    level = confidence_label(report)
    title = f"Lift over the control (matured sends), with always-valid {level} intervals"
    sequential = (report.get("statistics") or {}).get("sequential") or {}
    names = {v["id"]: v for v in report.get("variants") or []}
    rates = {v["variantId"]: v for v in sequential.get("variants") or []}
    control = next((v for v in names.values() if v["isControl"]), None)
    base = (rates.get(control["id"]) or {}).get("rate") if control else None
    shown = [
        c
        for c in sequential.get("comparisons") or []
        if c.get("liftLow") is not None and base and rates.get(c["variantId"], {}).get("rate")
    ]
    if not any(v.get("sent") for v in names.values()):
        return empty_figure(title, "No messages of this test were sent yet.")
    if not shown:
        return empty_figure(title, "No lift to show yet: no matured sends, or a control at 0%.")
    winner_id, colours = report.get("winnerId"), variant_colours(report)
    x, y, plus, minus, hover, marker = [], [], [], [], [], []
    for c in shown:
        variant = names[c["variantId"]]
        label = _label(variant, winner_id)
        value = (rates[c["variantId"]]["rate"] / base - 1.0) * 100.0
        x.append(label)
        y.append(value)
        plus.append(max(c["liftHigh"] - value, 0.0))
        minus.append(max(value - c["liftLow"], 0.0))
        hover.append(
            f"<b>{label}</b><br>Lift: {value:+,.1f}%"
            f"<br>{level} always-valid interval: {c['liftLow']:+,.1f}% to {c['liftHigh']:+,.1f}%"
        )
        marker.append(WINNER_COLOUR if variant["id"] == winner_id else colours[variant["id"]])
    bars = _bars_with_intervals(x, y, marker, plus, minus, hover)
    fig = styled({"data": [bars], "layout": {}}, title, height=340, showlegend=False)
    fig["layout"]["yaxis"].update(
        title={"text": "Lift over the control"}, ticksuffix="%", zeroline=True
    )
    fig["layout"]["xaxis"]["showgrid"] = False
    return fig


def _bars_with_intervals(x, y, marker, plus, minus, hover) -> dict:
    """A bar per variant with its interval as asymmetric error bars (the rates' and the
    lifts' charts)."""
    return {
        "type": "bar",
        "x": x,
        "y": y,
        "marker": {"color": marker},
        "error_y": {
            "type": "data",
            "symmetric": False,
            "array": plus,
            "arrayminus": minus,
            "color": "#1d2327",
            "thickness": 1.5,
            "width": 8,
        },
        "hovertext": hover,
        "hovertemplate": "%{hovertext}<extra></extra>",
    }


def timeline_figure(report: dict) -> FigureDict:
    """One line per variant: the cumulative rate of the messages sent up to each day of the
    current phase (a day without a send of the variant keeps its last value; before its
    first send there is no point)."""
    metric = report.get("winningMetric") or "read_rate"
    zone = literal(report.get("timelineZone") or "UTC")
    title = f"Cumulative {metric_label(metric).lower()} per variant (days in {zone})"
    series = report.get("timeline") or []
    if not any(s.get("points") for s in series):
        return empty_figure(title, "No messages of this test were sent yet.")
    winner_id = report.get("winnerId")
    colours = variant_colours(report)
    event = METRIC_EVENTS.get(metric, "successes")
    lines = []
    for s in series:
        points = s.get("points") or []
        label = _label(
            {"id": s["variantId"], "name": s["name"], "isControl": s["isControl"]}, winner_id
        )
        lines.append(
            {
                "type": "scatter",
                "x": [p["date"] for p in points],
                "y": [p["rate"] for p in points],
                "name": label,
                "mode": "lines+markers" if len(points) <= 62 else "lines",
                "line": {"color": colours.get(s["variantId"], CONTROL_COLOUR), "width": 2},
                "marker": {"size": 5},
                "hovertext": [
                    f"<b>{label}</b> · {p['date']}<br>{metric_label(metric)}: {rate(p['rate'])}"
                    f"<br>{count(p['successes'])} {event} of {count(p['n'])} sent so far"
                    for p in points
                ],
                "hovertemplate": "%{hovertext}<extra></extra>",
            }
        )
    fig = styled({"data": lines, "layout": {}}, title, height=380)
    layout = fig["layout"]
    layout["xaxis"].update(title={"text": f"Day sent ({zone})"}, **_day_axis(series))
    layout["yaxis"].update(
        title={"text": f"{metric_label(metric)} so far"}, ticksuffix="%", rangemode="tozero"
    )
    return fig


def _day_axis(series: list[dict]) -> dict:
    """A date axis ticking whole days: one day a tick over two weeks or less, and room
    around a single day (Plotly would otherwise zoom into its hours)."""
    days = sorted({p["date"] for s in series for p in s.get("points") or []})
    axis = {"type": "date", "hoverformat": "%a %d %b %Y", "tickformat": "%d %b %Y"}
    if len(days) <= 14:
        axis["dtick"] = DAY_MS
    if len(days) == 1:
        day = date.fromisoformat(days[0])
        axis["range"] = [
            (day - timedelta(days=1)).isoformat(),
            (day + timedelta(days=1)).isoformat(),
        ]
    return axis


AB_CHARTS: dict[str, Callable[[dict], FigureDict]] = {
    "rates": rates_figure,
    "lift": lift_figure,
    "timeline": timeline_figure,
}
