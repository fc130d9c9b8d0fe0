"""The charts' shared look (colours, fonts, layout) and number formats, used by the figure
builders, the analytics pages and their hover text alike.

Figures are plain dicts in Plotly's figure schema ({"data": [...], "layout": {...}}), built
by hand: Plotly's graph objects validate every property on every set, which cost a dashboard
render over 100 ms. The server-side image export (app.reports.export) wraps them in
go.Figure, which validates them; tests/unit/test_charts.py does the same for every builder.
"""

from __future__ import annotations

import html
import json
from collections.abc import Sequence
from typing import Any

from plotly.utils import PlotlyJSONEncoder

FigureDict = dict[str, Any]

# One colour per meaning, on every chart (a drop-off because of a reply is the reply colour).
COLOURS = {
    "enrolled": "#5f6b73",
    "reached": "#9aa7b0",
    "sent": "#0b6b60",
    "delivered": "#25a18e",
    "read": "#3a86c8",
    "replied": "#e09f1f",
    "clicked": "#8e5cc7",
    "failed": "#b3261e",
    "completed": "#1b7f3b",
    "unsubscribed": "#d1495b",
    "stopped": "#6c5b4f",
    "converted": "#2e7d32",
    "waiting": "#c9d3da",
    "marketingCap": "#e6b8a2",
}
FONT = {"family": 'system-ui, -apple-system, "Segoe UI", Roboto, sans-serif', "color": "#1d2327"}
GRID = "#e8ecef"
HEAT_SCALE = [[0.0, "#f1f6f5"], [0.5, "#6cc2b5"], [1.0, "#0b6b60"]]


def count(value: int | None) -> str:
    """An integer with thousands separators; "—" when there is none."""
    return "—" if value is None else f"{value:,}"


def rate(value: float | None) -> str:
    """A 0–100 rate with one decimal; "—" when its denominator was zero."""
    return "—" if value is None else f"{value:,.1f}%"


def literal(value: object) -> str:
    """User text made literal: Plotly draws <b>, <br> and friends in labels and hovers."""
    return html.escape(str(value), quote=False)


def none_template() -> dict:
    """Plotly's template "none" as go.Figure expands it (no defaults but Plotly's own)."""
    return {"data": {"scatter": [{"type": "scatter"}]}}


def axes(fig: FigureDict, letter: str) -> list[dict]:
    """Every x (or y) axis of the figure's layout: "xaxis" (created if missing, as Plotly's
    layout always has one) and any "xaxis2", "xaxis3"... of a figure with subplots."""
    layout = fig["layout"]
    base = f"{letter}axis"
    numbered = [k for k in layout if k.startswith(base) and k[len(base) :].isdigit()]
    return [layout.setdefault(name, {}) for name in (base, *numbered)]


def styled(fig: FigureDict, title: str, height: int = 420, **extra) -> FigureDict:
    """The house look: title, fonts, colours, margins, legend below."""
    layout = fig.setdefault("layout", {})
    layout.update(
        # template "none": the JSON embedded in the page stays small and the look is our own.
        template=none_template(),
        title={"text": title, "x": 0.01, "xanchor": "left", "font": {"size": 16}},
        font=dict(FONT),
        height=height,
        paper_bgcolor="#ffffff",
        plot_bgcolor="#ffffff",
        margin={"l": 64, "r": 24, "t": 64, "b": 56},
        # Below everything, on the container: it wraps on narrow screens without covering
        # the title or an axis title, and the margin grows to fit it.
        legend={"orientation": "h", "yref": "container", "y": 0, "yanchor": "bottom", "x": 0},
        hoverlabel={"font": dict(FONT), "bgcolor": "#ffffff"},
        separators=".,",
        **extra,
    )
    for axis in axes(fig, "x") + axes(fig, "y"):
        axis.update(gridcolor=GRID, linecolor="#c9d3da", automargin=True)
    return fig


def empty_figure(title: str, message: str) -> FigureDict:
    """A titled figure that says why there is nothing to draw."""
    note = {
        "text": message,
        "showarrow": False,
        "x": 0.5,
        "y": 0.5,
        "xref": "paper",
        "yref": "paper",
        "font": dict(FONT),
    }
    fig = styled({"data": [], "layout": {"annotations": [note]}}, title, height=260)
    for axis in axes(fig, "x") + axes(fig, "y"):
        axis["visible"] = False
    return fig


def sparkline_points(values: Sequence[int], width: int = 120, height: int = 28) -> str:
    """SVG polyline points for a tiny inline trend (the overview has one per campaign)."""
    if not values:
        return ""
    top = max(values) or 1
    step = width / max(len(values) - 1, 1)
    return " ".join(
        f"{i * step:.1f},{height - 1 - (v / top) * (height - 2):.1f}" for i, v in enumerate(values)
    )


def to_json(fig: FigureDict) -> str:
    """The figure as compact JSON, through Plotly's own encoder as go.Figure.to_json did: dates
    as ISO strings, Decimal and numpy values as numbers, NaN and infinities as null."""
    return json.dumps(fig, cls=PlotlyJSONEncoder, separators=(",", ":"))


def embed_json(fig: FigureDict) -> str:
    """The figure as JSON that is safe inside <script type="application/json">."""
    # Step and campaign names are user text: "</script>" must not end the element. The "/"
    # is escaped too, as Plotly's to_json did.
    return (
        to_json(fig)
        .replace("<", "\\u003c")
        .replace(">", "\\u003e")
        .replace("/", "\\u002f")
        .replace("&", "\\u0026")
        .replace("\u2028", "\\u2028")
        .replace("\u2029", "\\u2029")
    )
