"""Plotly figure builders for the analytics pages: plain dicts from drip/funnel.py in, figures
out as plain dicts in Plotly's figure schema (see app.reports.style: no graph objects on a page
render; go.Figure(figure) validates one).

Hover text is formatted here (thousands separators, one-decimal rates, "—" for no data) so the
browser and the server-side export show the same words.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import date, timedelta

from app.reports.partial_day import partial_day, today_band
from app.reports.style import (
    COLOURS,
    FONT,
    HEAT_SCALE,
    FigureDict,
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
# key, label, legend group: contacts who dropped off, then those still on their way (not
# drop-off: drawn hatched in a group of their own, so a fresh campaign does not read as a loss)
REASONS = (
    ("replied", "Replied and stopped", "dropped"),
    ("unsubscribed", "Unsubscribed", "dropped"),
    ("failed", "Ended by a failed send", "dropped"),
    ("stopped", "Stopped", "dropped"),
    ("converted", "Reached the goal (ended)", "dropped"),
    ("waiting", "Still waiting (on their way)", "waiting"),
    ("marketingCap", "Waiting for a retry (Meta's marketing cap)", "waiting"),
)
REASON_GROUPS = {"dropped": "Dropped off", "waiting": "Not drop-off: still waiting"}
MATURING_NOTE = (
    "<br><i>Still maturing: too young for everyone to have reached this yet, not a drop</i>"
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


def _subplot_title(text: str, y: float) -> dict:
    return {
        "font": {"size": 16},
        "showarrow": False,
        "text": text,
        "x": 0.5,
        "xanchor": "center",
        "xref": "paper",
        "y": y,
        "yanchor": "bottom",
        "yref": "paper",
    }


def _funnel_grid() -> dict:
    """The layout make_subplots(rows=2, cols=1, row_heights=[0.6, 0.4], vertical_spacing=0.16,
    subplot_titles=...) makes: of the 0.84 of the height left by the spacing, the top row
    (x, y) takes 0.6 and the bottom row (x2, y2) 0.4, each titled above its domain."""
    return {
        "xaxis": {"anchor": "y", "domain": [0.0, 1.0]},
        "yaxis": {"anchor": "x", "domain": [0.496, 1.0]},
        "xaxis2": {"anchor": "y2", "domain": [0.0, 1.0]},
        "yaxis2": {"anchor": "x2", "domain": [0.0, 0.336]},
        "annotations": [
            _subplot_title("Contacts per step", 1.0),
            _subplot_title("After each step: dropped off by reason, and still waiting", 0.336),
        ],
    }


def funnel_figure(data: dict) -> FigureDict:
    """Messages per step (reached → replied) above the drop-off after each step, by reason."""
    title = "Funnel: messages per step"
    steps = data.get("steps") or []
    if not steps:
        return empty_figure(title, "No steps yet: add a step to see the funnel.")
    labels = [step_label(s) for s in steps]
    fig = {"data": [], "layout": _funnel_grid()}
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
        fig["data"].append(
            {
                "type": "bar",
                "name": name,
                "x": list(labels),
                "y": values,
                "marker": {"color": COLOURS[key]},
                "legendgroup": "messages",
                "legendgrouptitle": {"text": "Messages"},
                **_hover(hover),
                "xaxis": "x",
                "yaxis": "y",
            }
        )
    _add_drop_offs(fig, data, steps, labels)
    styled(fig, title, height=680, barmode="group", bargap=0.18)
    layout = fig["layout"]
    for axis in (layout["yaxis"], layout["yaxis2"]):
        axis.update(title={"text": "Contacts"}, tickformat=",", rangemode="tozero")
    layout["xaxis2"]["title"] = {"text": "Step"}
    return fig


def _add_drop_offs(fig: FigureDict, data: dict, steps: list[dict], labels: list[str]) -> None:
    # barmode is one per figure and the top row is grouped: stack by hand, one offsetgroup
    # with each reason starting where the previous one ended.
    columns = list(zip(labels, steps, strict=True))
    before = data.get("beforeFirstStep") or {}
    if before.get("dropOffCount"):
        columns.insert(0, ("Before the first step", before))
    x = [label for label, _ in columns]
    bases = [0] * len(columns)
    for key, name, group in REASONS:
        values = [(entry.get("dropOffReasons") or {}).get(key) or 0 for _, entry in columns]
        whole, of = ("dropOffCount", "drop-offs") if group == "dropped" else ("waitingCount", "")
        hover = [
            f"<b>{label}</b><br>{name}: {count(value)}"
            + (_share(value, entry.get(whole) or 0, of) if of else "")
            for (label, entry), value in zip(columns, values, strict=True)
        ]
        marker = {"color": COLOURS[key]}
        if group == "waiting":
            # Hatched as well as lighter: told apart without relying on colour.
            marker["pattern"] = {"shape": "/", "fgcolor": "#7d8a93", "size": 6, "solidity": 0.25}
        fig["data"].append(
            {
                "type": "bar",
                "name": name,
                "x": list(x),
                "y": values,
                "base": list(bases),
                "offsetgroup": "reasons",
                "marker": marker,
                "legendgroup": group,
                "legendgrouptitle": {"text": REASON_GROUPS[group]},
                **_hover(hover),
                "xaxis": "x2",
                "yaxis": "y2",
            }
        )
        bases = [b + v for b, v in zip(bases, values, strict=True)]
    for (label, entry), top in zip(columns, bases, strict=True):
        text = f"{count(entry.get('dropOffCount') or 0)} dropped"
        if entry.get("dropOffRate") is not None:
            text += f" · {rate(entry['dropOffRate'])}"
        if entry.get("waitingCount"):
            text += f"<br>{count(entry['waitingCount'])} waiting"
        fig["layout"]["annotations"].append(
            {
                "x": label,
                "y": top,
                "text": text,
                "showarrow": False,
                "yanchor": "bottom",
                "yshift": 2,
                "xref": "x2",
                "yref": "y2",
                "font": dict(FONT),
            }
        )


def cohort_figure(data: dict) -> FigureDict:
    """Heatmap of the share of each enrollment cohort that reached each step (and completed)."""
    granularity = data.get("granularity") or "week"
    zone = data.get("timezone") or "UTC"
    title = f"Cohorts by enrollment {granularity} ({zone})"
    cohorts, steps = data.get("cohorts") or [], data.get("steps") or []
    if not cohorts or not steps:
        return empty_figure(title, "No enrollments in this range yet.")
    columns = [step_label(s) for s in steps] + ["Completed"]
    grids = {"grown": ([], []), "maturing": ([], [])}  # (z, text) of each trace
    hover = []
    for cohort in cohorts:
        rates = [*cohort.get("reachedRates", []), cohort.get("completionRate")]
        counts = [*cohort.get("reached", []), cohort.get("completed")]
        young = [*cohort.get("reachedMaturing", []), cohort.get("completionMaturing")]
        young = [bool(m) for m in young] + [False] * (len(rates) - len(young))
        head = f"<b>{literal(cohort['label'])}</b> · {count(cohort.get('size'))} enrolled"
        for name, wanted in (("grown", False), ("maturing", True)):
            z, text = grids[name]
            z.append([r if m == wanted else None for r, m in zip(rates, young, strict=True)])
            label = " · maturing" if wanted else ""
            text.append(
                [rate(r) + label if m == wanted else "" for r, m in zip(rates, young, strict=True)]
            )
        hover.append(
            [
                f"{head}<br>{column}: {count(n)} ({rate(r)})" + (MATURING_NOTE if m else "")
                for column, n, r, m in zip(columns, counts, rates, young, strict=True)
            ]
        )
    common = {
        "type": "heatmap",
        "x": columns,
        "y": [literal(c["label"]) for c in cohorts],
        "zmin": 0,
        "zmax": 100,
        "texttemplate": "%{text}",
        "xgap": 2,
        "ygap": 2,
        **_hover(hover),
    }
    grown = {
        **common,
        "name": "Cohort share",
        "z": grids["grown"][0],
        "text": grids["grown"][1],
        "colorscale": [list(stop) for stop in HEAT_SCALE],
        "colorbar": {"title": {"text": "% of cohort"}, "ticksuffix": "%"},
    }
    # Young cohorts in grey, off the colour scale: their share is not a drop yet.
    maturing = {
        **common,
        "name": "Still maturing",
        "z": grids["maturing"][0],
        "text": grids["maturing"][1],
        "colorscale": [[0.0, "#f4f5f6"], [1.0, "#c3cad0"]],
        "showscale": False,
    }
    heatmap = [grown, maturing] if any(c.get("maturing") for c in cohorts) else [grown]
    fig = styled({"data": heatmap, "layout": {}}, title, height=max(320, 34 * len(cohorts) + 170))
    layout = fig["layout"]
    layout["xaxis"].update(title={"text": "Step reached"}, side="bottom", showgrid=False)
    # The oldest cohort on top, as in a table.
    layout["yaxis"].update(
        title={"text": f"Enrolled in ({granularity})"},
        type="category",
        autorange="reversed",
        showgrid=False,
    )
    return fig


def timeseries_figure(data: dict) -> FigureDict:
    """One line per daily metric over the date range, days in the campaign's zone."""
    zone = data.get("timezone") or "UTC"
    days = data.get("days") or []
    start, end = data.get("from"), data.get("to")
    span = f"{_iso(start)} to {_iso(end)}" if start and end else ""
    title = f"Daily activity {span} ({zone})".replace("  ", " ")
    if not days:
        return empty_figure(title, "No days in this range.")
    x = [_iso(day["date"]) for day in days]
    partial = _iso(data.get("partialDay")) or None
    cut = x.index(partial) if partial in x else len(x)
    lines = []
    for key, name, shown in SERIES:
        values = [day.get(key) or 0 for day in days]
        common = {
            "type": "scatter",
            "legendgroup": key,
            "line": {"color": COLOURS[key], "width": 2},
            "visible": True if shown else "legendonly",
        }
        lines.append(
            {
                **common,
                "x": list(x),
                # Today and after: not a finished day, drawn apart below.
                "y": [v if i < cut else None for i, v in enumerate(values)],
                "name": name,
                "mode": "lines+markers" if len(days) <= 62 else "lines",
                "marker": {"size": 5},
                "hovertemplate": f"{name}: %{{y:,}}<extra></extra>",
            }
        )
        if cut < len(x):
            lines += partial_day(common, name, x, values, cut)
    fig = styled({"data": lines, "layout": {}}, title, height=420, hovermode="x unified")
    layout = fig["layout"]
    layout["xaxis"].update(title={"text": f"Day ({zone})"}, type="date", hoverformat="%a %d %b %Y")
    if len(x) < 7:
        # A young campaign's few days: whole days on the axis, not the hours between them.
        layout["xaxis"].update(
            dtick=86_400_000,
            tickformat="%d %b",
            range=[f"{date.fromisoformat(x[0]) - timedelta(days=1)} 12:00", f"{x[-1]} 12:00"],
        )
    layout["yaxis"].update(
        title={"text": "Contacts or messages"}, tickformat=",", rangemode="tozero"
    )
    if cut < len(x):
        today_band(layout, partial)
    return fig


def engagement_figure(data: dict) -> FigureDict:
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
    bars = {
        "type": "bar",
        "x": values,
        "y": labels,
        "orientation": "h",
        "marker": {"color": colours},
        "text": text,
        "textposition": "outside",
        "cliponaxis": False,
        **_hover(hover),
    }
    fig = styled({"data": [bars], "layout": {}}, title, height=300, showlegend=False)
    layout = fig["layout"]
    layout["xaxis"].update(
        title={"text": "% of messages sent (failed: % of attempted)"},
        range=[0, 110],
        ticksuffix="%",
    )
    layout["yaxis"].update(autorange="reversed", showgrid=False)
    return fig


def _iso(value: date | str | None) -> str:
    if value is None:
        return ""
    return value.isoformat() if isinstance(value, date) else str(value)


CHARTS: dict[str, Callable[[dict], FigureDict]] = {
    "funnel": funnel_figure,
    "cohorts": cohort_figure,
    "timeseries": timeseries_figure,
    "engagement": engagement_figure,
}
