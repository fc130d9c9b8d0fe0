"""Plotly figure builders for the analytics pages: plain dicts from drip/funnel.py in, Figures out.

Hover text is formatted here (thousands separators, one-decimal rates, "—" for no data) so the
browser and the server-side export show the same words.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import date

import plotly.graph_objects as go
from plotly.subplots import make_subplots

from app.chart_style import (
    COLOURS,
    FONT,
    HEAT_SCALE,
    count,
    empty_figure,
    literal,
    rate,
    styled,
)

FUNNEL_METRICS = (
    ("reached", "Reached", "reachedCount"),
    ("sent", "Sent", "sentCount"),
    ("delivered", "Delivered", "deliveredCount"),
    ("read", "Read", "readCount"),
    ("replied", "Replied", "repliedCount"),
)
REASONS = (
    ("replied", "Replied"),
    ("unsubscribed", "Unsubscribed"),
    ("failed", "Failed"),
    ("stopped", "Stopped"),
    ("waiting", "Still waiting"),
)
# key, label, shown at first (the rest start hidden, one legend click away)
SERIES = (
    ("enrolled", "Enrolled", True),
    ("sent", "Sent", True),
    ("delivered", "Delivered", True),
    ("read", "Read", True),
    ("replied", "Replied", True),
    ("clicked", "Clicked", False),
    ("failed", "Failed", False),
    ("completed", "Completed", False),
)
# label, rate key, count key, denominator key
ENGAGEMENT_RATES = (
    ("Delivered", "deliveryRate", "delivered", "sent"),
    ("Read", "readRate", "read", "sent"),
    ("Replied", "replyRate", "replied", "sent"),
    ("Clicked", "clickRate", "clicked", "sent"),
    ("Failed", "failureRate", "failed", "attempted"),
)


def step_label(step: dict) -> str:
    return f"{step['position']}. {literal(step['name'])}"


def _hover(texts: Sequence[str]) -> dict:
    return {"hovertext": list(texts), "hovertemplate": "%{hovertext}<extra></extra>"}


def _share(part: int, whole: int, of: str) -> str:
    return f" ({part / whole * 100:,.1f}% of {of})" if whole else ""


def funnel_figure(data: dict) -> go.Figure:
    """Messages per step (reached → replied) above the drop-off after each step, by reason."""
    title = "Funnel: messages per step"
    steps = data.get("steps") or []
    if not steps:
        return empty_figure(title, "No steps yet: add a step to see the funnel.")
    labels = [step_label(s) for s in steps]
    fig = make_subplots(
        rows=2,
        cols=1,
        row_heights=[0.6, 0.4],
        vertical_spacing=0.16,
        subplot_titles=("Contacts per step", "Drop-off after each step, by reason"),
    )
    for key, name, field in FUNNEL_METRICS:
        values = [s.get(field) or 0 for s in steps]
        hover = []
        for label, step, value in zip(labels, steps, values, strict=True):
            extra = (
                f"<br>Conversion from the stage before: {rate(step.get('conversionRate'))}"
                if key == "reached"
                else _share(value, step.get("reachedCount") or 0, "reached")
            )
            hover.append(f"<b>{label}</b><br>{name}: {count(value)}{extra}")
        fig.add_trace(
            go.Bar(
                name=name,
                x=labels,
                y=values,
                marker_color=COLOURS[key],
                legendgroup="messages",
                legendgrouptitle_text="Messages",
                **_hover(hover),
            ),
            row=1,
            col=1,
        )
    _add_drop_offs(fig, data, steps, labels)
    styled(fig, title, height=680, barmode="group", bargap=0.18)
    fig.update_yaxes(title_text="Contacts", tickformat=",", rangemode="tozero", row=1, col=1)
    fig.update_yaxes(title_text="Contacts", tickformat=",", rangemode="tozero", row=2, col=1)
    fig.update_xaxes(title_text="Step", row=2, col=1)
    return fig


def _add_drop_offs(fig: go.Figure, data: dict, steps: list[dict], labels: list[str]) -> None:
    # barmode is one per figure and the top row is grouped: stack by hand, one offsetgroup
    # with each reason starting where the previous one ended.
    columns = list(zip(labels, steps, strict=True))
    before = data.get("beforeFirstStep") or {}
    if before.get("dropOffCount"):
        columns.insert(0, ("Before the first step", before))
    x = [label for label, _ in columns]
    bases = [0] * len(columns)
    for key, name in REASONS:
        values = [(entry.get("dropOffReasons") or {}).get(key) or 0 for _, entry in columns]
        hover = [
            f"<b>{label}</b><br>{name}: {count(value)}"
            + _share(value, entry.get("dropOffCount") or 0, "drop-offs")
            for (label, entry), value in zip(columns, values, strict=True)
        ]
        fig.add_trace(
            go.Bar(
                name=name,
                x=x,
                y=values,
                base=list(bases),
                offsetgroup="reasons",
                marker_color=COLOURS[key],
                legendgroup="reasons",
                legendgrouptitle_text="Drop-off reason",
                **_hover(hover),
            ),
            row=2,
            col=1,
        )
        bases = [b + v for b, v in zip(bases, values, strict=True)]
    for (label, entry), top in zip(columns, bases, strict=True):
        text = count(entry.get("dropOffCount") or 0)
        if entry.get("dropOffRate") is not None:
            text += f" · {rate(entry['dropOffRate'])}"
        fig.add_annotation(
            x=label, y=top, text=text, showarrow=False, yshift=10, row=2, col=1, font=FONT
        )


def cohort_figure(data: dict) -> go.Figure:
    """Heatmap of the share of each enrollment cohort that reached each step (and completed)."""
    granularity = data.get("granularity") or "week"
    zone = data.get("timezone") or "UTC"
    title = f"Cohorts by enrollment {granularity} ({zone})"
    cohorts, steps = data.get("cohorts") or [], data.get("steps") or []
    if not cohorts or not steps:
        return empty_figure(title, "No enrollments in this range yet.")
    columns = [step_label(s) for s in steps] + ["Completed"]
    z, text, hover = [], [], []
    for cohort in cohorts:
        rates = [*cohort.get("reachedRates", []), cohort.get("completionRate")]
        counts = [*cohort.get("reached", []), cohort.get("completed")]
        head = f"<b>{literal(cohort['label'])}</b> · {count(cohort.get('size'))} enrolled"
        z.append(rates)
        text.append([rate(r) for r in rates])
        hover.append(
            [
                f"{head}<br>{column}: {count(n)} ({rate(r)})"
                for column, n, r in zip(columns, counts, rates, strict=True)
            ]
        )
    fig = go.Figure(
        go.Heatmap(
            z=z,
            x=columns,
            y=[literal(c["label"]) for c in cohorts],
            zmin=0,
            zmax=100,
            colorscale=HEAT_SCALE,
            text=text,
            texttemplate="%{text}",
            xgap=2,
            ygap=2,
            colorbar={"title": {"text": "% of cohort"}, "ticksuffix": "%"},
            **_hover(hover),
        )
    )
    styled(fig, title, height=max(320, 34 * len(cohorts) + 170))
    fig.update_xaxes(title_text="Step reached", side="bottom", showgrid=False)
    # The oldest cohort on top, as in a table.
    fig.update_yaxes(
        title_text=f"Enrolled in ({granularity})",
        type="category",
        autorange="reversed",
        showgrid=False,
    )
    return fig


def timeseries_figure(data: dict) -> go.Figure:
    """One line per daily metric over the date range, days in the campaign's zone."""
    zone = data.get("timezone") or "UTC"
    days = data.get("days") or []
    start, end = data.get("from"), data.get("to")
    span = f"{_iso(start)} to {_iso(end)}" if start and end else ""
    title = f"Daily activity {span} ({zone})".replace("  ", " ")
    if not days:
        return empty_figure(title, "No days in this range.")
    x = [_iso(day["date"]) for day in days]
    fig = go.Figure()
    for key, name, shown in SERIES:
        fig.add_trace(
            go.Scatter(
                x=x,
                y=[day.get(key) or 0 for day in days],
                name=name,
                mode="lines+markers" if len(days) <= 62 else "lines",
                line={"color": COLOURS[key], "width": 2},
                marker={"size": 5},
                visible=True if shown else "legendonly",
                hovertemplate=f"{name}: %{{y:,}}<extra></extra>",
            )
        )
    styled(fig, title, height=420, hovermode="x unified")
    fig.update_xaxes(title_text=f"Day ({zone})", type="date", hoverformat="%a %d %b %Y")
    fig.update_yaxes(title_text="Contacts or messages", tickformat=",", rangemode="tozero")
    return fig


def engagement_figure(data: dict) -> go.Figure:
    """Delivery, read, reply, click and failure rates as horizontal bars."""
    title = "Engagement rates"
    if not data.get("sent") and not data.get("attempted"):
        return empty_figure(title, "No messages sent yet.")
    labels, values, text, hover, colours = [], [], [], [], []
    for label, rate_key, count_key, of in ENGAGEMENT_RATES:
        value = data.get(rate_key)
        labels.append(label)
        values.append(value or 0)
        text.append(rate(value))
        hover.append(
            f"<b>{label}</b>: {rate(value)}<br>{count(data.get(count_key))} of "
            f"{count(data.get(of))} {'attempted' if of == 'attempted' else 'sent'}"
        )
        colours.append(COLOURS[count_key])
    fig = go.Figure(
        go.Bar(
            x=values,
            y=labels,
            orientation="h",
            marker_color=colours,
            text=text,
            textposition="outside",
            cliponaxis=False,
            **_hover(hover),
        )
    )
    styled(fig, title, height=300, showlegend=False)
    fig.update_xaxes(
        title_text="% of messages sent (failed: % of attempted)", range=[0, 110], ticksuffix="%"
    )
    fig.update_yaxes(autorange="reversed", showgrid=False)
    return fig


def _iso(value: date | str | None) -> str:
    if value is None:
        return ""
    return value.isoformat() if isinstance(value, date) else str(value)


CHARTS: dict[str, Callable[[dict], go.Figure]] = {
    "funnel": funnel_figure,
    "cohorts": cohort_figure,
    "timeseries": timeseries_figure,
    "engagement": engagement_figure,
}
