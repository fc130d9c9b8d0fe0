"""Today in a daily chart: the day is still under way, so its counts are drawn apart (a dotted
segment to a hollow point on a shaded band) and never read as a collapse."""

from __future__ import annotations

from datetime import date, timedelta

from app.reports.style import FONT


def partial_day(common: dict, name: str, x: list[str], values: list[int], cut: int) -> list:
    """Today (still under way) as a dashed segment to a hollow point: a low count so far is
    not a collapse."""
    start = max(cut - 1, 0)
    dashed = {
        **common,
        "name": f"{name} (today so far)",
        "x": x[start : cut + 1],
        "y": values[start : cut + 1],
        "mode": "lines",
        "line": {**common["line"], "dash": "dot"},
        "showlegend": False,
        "hoverinfo": "skip",
    }
    point = {
        **common,
        "name": f"{name} (today so far)",
        "x": [x[cut]],
        "y": [values[cut]],
        "mode": "markers",
        "marker": {"size": 8, "symbol": "circle-open", "color": common["line"]["color"]},
        "showlegend": False,
        "hovertemplate": f"{name}: %{{y:,}} (today so far)<extra></extra>",
    }
    return [dashed, point]


def today_band(layout: dict, partial: str) -> None:
    """Shade the day still under way and say so above the plot."""
    layout["shapes"] = [
        {
            "type": "rect",
            "xref": "x",
            "yref": "paper",
            # Centred on the day's point (plotted at its midnight).
            "x0": f"{date.fromisoformat(partial) - timedelta(days=1)} 12:00",
            "x1": f"{partial} 12:00",
            "y0": 0,
            "y1": 1,
            "fillcolor": "#eef1f3",
            "opacity": 0.6,
            "line": {"width": 0},
            "layer": "below",
        }
    ]
    layout["annotations"] = [
        *layout.get("annotations", []),
        {
            "x": partial,
            "xref": "x",
            "y": 1,
            "yref": "paper",
            "yanchor": "bottom",
            "text": "today, so far",
            "showarrow": False,
            "font": {**FONT, "size": 11, "color": "#5f6b73"},
        },
    ]
