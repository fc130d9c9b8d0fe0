"""Figure builders: literal report dicts in, Plotly figure dicts out (traces, values, titles,
hover text), and the empty inputs each one meets on a new campaign.

Each figure dict is read through go.Figure(figure), which validates it strictly against
Plotly's schema: an invalid property raises."""

from __future__ import annotations

import json
from datetime import date, timedelta

import plotly.graph_objects as go
import pytest
from plotly.subplots import make_subplots
from plotly.utils import PlotlyJSONEncoder

from app.reports import charts
from app.reports import style as chart_style


def step(position, name, reached, sent, delivered, read, replied, reasons, **extra):
    # Issue 18: contacts still waiting are not drop-off; the rate is over the settled ones.
    waiting = reasons.get("waiting", 0)
    dropped, settled = sum(reasons.values()) - waiting, reached - waiting
    return {
        "stepId": position * 10,
        "position": position,
        "name": name,
        "reachedCount": reached,
        "sentCount": sent,
        "deliveredCount": delivered,
        "readCount": read,
        "repliedCount": replied,
        "clickedCount": 0,
        "failedCount": reasons.get("failed", 0),
        "conversionRate": extra.get("conversion", 100.0),
        "dropOffCount": dropped,
        "dropOffRate": dropped * 100 / settled if settled else None,
        "dropOffReasons": reasons,
        "waitingCount": waiting,
        "settledCount": settled,
        "failedByCode": {},
    }


def reasons(replied=0, unsubscribed=0, failed=0, stopped=0, waiting=0):
    return {
        "replied": replied,
        "unsubscribed": unsubscribed,
        "failed": failed,
        "stopped": stopped,
        "waiting": waiting,
    }


FUNNEL = {
    "campaignId": 7,
    "totalEnrolled": 12_500,
    "active": 3_000,
    "completed": 6_200,
    "overallCompletionRate": 49.6,
    "beforeFirstStep": {"dropOffCount": 150, "dropOffReasons": reasons(failed=50, stopped=100)},
    "steps": [
        step(1, "Welcome", 12_350, 12_300, 12_000, 9_000, 1_200, reasons(1_100, 200, 50, 0, 1_000)),
        step(2, "Tips <b>&</b> more", 10_000, 9_950, 9_800, 7_000, 700, reasons(waiting=3_800)),
    ],
}
COHORTS = {
    "campaignId": 7,
    "granularity": "week",
    "timezone": "Europe/Berlin",
    "steps": [
        {"stepId": 10, "position": 1, "name": "Welcome"},
        {"stepId": 20, "position": 2, "name": "Tips"},
    ],
    "cohorts": [
        {
            "start": date(2030, 1, 7),
            "end": date(2030, 1, 13),
            "label": "Week of 07 Jan 2030",
            "size": 1_200,
            "completed": 600,
            "completionRate": 50.0,
            "reached": [1_200, 900],
            "reachedRates": [100.0, 75.0],
            "sent": 2_100,
            "delivered": 2_000,
            "read": 1_500,
            "replied": 200,
            "readRate": 71.4,
            "replyRate": 9.5,
        },
        {
            "start": date(2030, 1, 14),
            "end": date(2030, 1, 20),
            "label": "Week of 14 Jan 2030",
            "size": 0,
            "completed": 0,
            "completionRate": None,
            "reached": [0, 0],
            "reachedRates": [None, None],
            "sent": 0,
            "delivered": 0,
            "read": 0,
            "replied": 0,
            "readRate": None,
            "replyRate": None,
        },
    ],
}
DAY_KEYS = ("enrolled", "sent", "delivered", "read", "replied", "clicked", "failed", "completed")
TIMESERIES = {
    "campaignId": 7,
    "timezone": "America/New_York",
    "from": date(2030, 1, 1),
    "to": date(2030, 1, 3),
    "days": [
        {"date": date(2030, 1, 1) + timedelta(days=i), **{k: (i + 1) * 1_000 for k in DAY_KEYS}}
        for i in range(3)
    ],
}
ENGAGEMENT = {
    "campaignId": 7,
    "attempted": 28_500,
    "sent": 28_450,
    "delivered": 27_900,
    "read": 20_000,
    "replied": 2_200,
    "clicked": 1_700,
    "failed": 50,
    "deliveryRate": 98.066,
    "readRate": 70.299,
    "replyRate": 7.733,
    "clickRate": None,
    "failureRate": 0.1754,
    "timeToRead": {"count": 20_000, "medianSeconds": 340.0, "p90Seconds": 7200.0},
    "timeToReply": {"count": 0, "medianSeconds": None, "p90Seconds": None},
}


def title(fig: go.Figure) -> str:
    return fig.layout.title.text


def test_funnel_has_one_bar_per_metric_and_reason_with_the_step_values():
    fig = go.Figure(charts.funnel_figure(FUNNEL))
    names = [trace.name for trace in fig.data]
    assert names == [
        "Reached", "Sent", "Delivered", "Read", "Replied",
        "Replied and stopped", "Unsubscribed", "Ended by a failed send", "Stopped",
        "Reached the goal (ended)",  # issue 19
        "Still waiting (on their way)", "Waiting for a retry (Meta's marketing cap)",
    ]  # fmt: skip
    sent = fig.data[1]
    assert list(sent.x) == ["1. Welcome", "2. Tips &lt;b&gt;&amp;&lt;/b&gt; more"]
    assert list(sent.y) == [12_300, 9_950]
    assert "Sent: 12,300" in sent.hovertext[0]
    assert "(99.6% of reached)" in sent.hovertext[0]
    assert title(fig) == "Funnel: messages per step"
    assert fig.layout.yaxis.title.text == "Contacts" and fig.layout.yaxis.tickformat == ","
    assert fig.layout.xaxis2.title.text == "Step"


def test_funnel_drop_offs_stack_by_reason_including_before_the_first_step():
    fig = go.Figure(charts.funnel_figure(FUNNEL))
    replied, unsubscribed, _, stopped, converted, waiting, capped = fig.data[5:]
    assert list(converted.y) == [0, 0, 0]  # no goal here (issue 19)
    assert list(replied.x) == [
        "Before the first step",
        "1. Welcome",
        "2. Tips &lt;b&gt;&amp;&lt;/b&gt; more",
    ]
    assert list(replied.y) == [0, 1_100, 0]
    assert list(unsubscribed.base) == [0, 1_100, 0]  # stacked by hand on one offsetgroup
    assert list(stopped.y) == [100, 0, 0]
    assert list(waiting.base) == [150, 1_350, 0]
    assert list(capped.y) == [0, 0, 0]  # nobody waits for a 131049 retry here
    assert {t.offsetgroup for t in fig.data[5:]} == {"reasons"}
    # Waiting is not drop-off: hatched in a legend group of its own, not a share of drop-offs.
    assert waiting.hovertext[2].endswith("Still waiting (on their way): 3,800")
    assert (waiting.legendgroup, replied.legendgroup) == ("waiting", "dropped")
    assert waiting.marker.pattern.shape == "/" and not replied.marker.pattern.shape
    totals = [a.text for a in fig.layout.annotations if a.yref == "y2"]
    assert totals == [
        "150 dropped",
        f"1,350 dropped · {1_350 * 100 / 11_350:.1f}%<br>1,000 waiting",
        "0 dropped · 0.0%<br>3,800 waiting",
    ]


def test_funnel_colours_mean_the_same_everywhere():
    fig = go.Figure(charts.funnel_figure(FUNNEL))
    assert fig.data[4].marker.color == fig.data[5].marker.color == chart_style.COLOURS["replied"]
    assert fig.data[1].marker.color == chart_style.COLOURS["sent"]
    lines = go.Figure(charts.timeseries_figure(TIMESERIES))
    assert next(t for t in lines.data if t.name == "Sent").line.color == chart_style.COLOURS["sent"]


def test_cohort_heatmap_has_a_row_per_cohort_and_a_column_per_step_plus_completed():
    fig = go.Figure(charts.cohort_figure(COHORTS))
    (heat,) = fig.data
    assert isinstance(heat, go.Heatmap)
    assert list(heat.x) == ["1. Welcome", "2. Tips", "Completed"]
    assert list(heat.y) == ["Week of 07 Jan 2030", "Week of 14 Jan 2030"]
    assert [list(row) for row in heat.z] == [[100.0, 75.0, 50.0], [None, None, None]]
    assert heat.text[0][1] == "75.0%" and heat.text[1][0] == "—"
    assert "Week of 07 Jan 2030</b> · 1,200 enrolled" in heat.hovertext[0][1]
    assert "2. Tips: 900 (75.0%)" in heat.hovertext[0][1]
    assert (heat.zmin, heat.zmax) == (0, 100)
    assert title(fig) == "Cohorts by enrollment week (Europe/Berlin)"
    assert fig.layout.yaxis.autorange == "reversed"  # the oldest cohort on top


def test_timeseries_has_a_line_per_metric_on_the_campaign_clock():
    fig = go.Figure(charts.timeseries_figure(TIMESERIES))
    assert [t.name for t in fig.data] == [
        "Enrolled", "Sent", "Delivered", "Read", "Replied", "Clicked", "Failed", "Completed",
    ]  # fmt: skip
    sent = fig.data[1]
    assert list(sent.x) == ["2030-01-01", "2030-01-02", "2030-01-03"]
    assert list(sent.y) == [1_000, 2_000, 3_000]
    assert sent.hovertemplate == "Sent: %{y:,}<extra></extra>"
    assert fig.data[5].visible == "legendonly"  # the quieter metrics start hidden
    assert title(fig) == "Daily activity 2030-01-01 to 2030-01-03 (America/New_York)"
    assert fig.layout.xaxis.title.text == "Day (America/New_York)"
    assert fig.layout.yaxis.tickformat == ","


def test_engagement_bars_show_rates_and_counts():
    fig = go.Figure(charts.engagement_figure(ENGAGEMENT))
    (bars,) = fig.data
    assert list(bars.y) == ["Delivered", "Read", "Replied", "Clicked", "Failed"]
    assert list(bars.text) == ["98.1%", "70.3%", "7.7%", "—", "0.2%"]
    assert bars.x[3] == 0  # no rate draws no bar
    assert "27,900 of 28,450 sent" in bars.hovertext[0]
    assert "50 of 28,500 attempted" in bars.hovertext[4]
    assert title(fig) == "Engagement rates"


@pytest.mark.parametrize(
    ("name", "data", "message"),
    [
        ("funnel", {"steps": []}, "No steps yet"),
        ("cohorts", {"granularity": "day", "steps": [], "cohorts": []}, "No enrollments"),
        ("timeseries", {"timezone": "UTC", "days": []}, "No days"),
        ("engagement", {"sent": 0, "attempted": 0}, "No messages sent"),
    ],
)  # fmt: skip
def test_empty_inputs_give_a_titled_figure_that_says_why(name, data, message):
    fig = go.Figure(charts.CHARTS[name](data))
    assert fig.data == ()
    assert title(fig)
    assert message in fig.layout.annotations[0].text
    assert fig.layout.xaxis.visible is False


def test_registry_names_every_chart_and_figures_serialise():
    assert set(charts.CHARTS) == {"funnel", "cohorts", "timeseries", "engagement"}
    for name, data in (
        ("funnel", FUNNEL),
        ("cohorts", COHORTS),
        ("timeseries", TIMESERIES),
        ("engagement", ENGAGEMENT),
    ):
        figure = charts.CHARTS[name](data)
        text = chart_style.to_json(figure)
        assert json.loads(text)["layout"]["title"]["text"] == title(go.Figure(figure))
        # No map tiles or other fetched resources: a figure draws offline.
        assert "mapbox" not in text and "http" not in text


EMPTY_INPUTS = (
    ("funnel", {"steps": []}),
    ("cohorts", {"granularity": "day", "steps": [], "cohorts": []}),
    ("timeseries", {"timezone": "UTC", "days": []}),
    ("engagement", {"sent": 0, "attempted": 0}),
)


def as_json(value) -> object:
    """A figure (dict or go.Figure) as the browser gets it: through Plotly's JSON encoder."""
    return json.loads(json.dumps(value, cls=PlotlyJSONEncoder))


@pytest.mark.parametrize(
    ("name", "data"),
    [
        ("funnel", FUNNEL),
        ("cohorts", COHORTS),
        ("timeseries", TIMESERIES),
        ("engagement", ENGAGEMENT),
        *EMPTY_INPUTS,
    ],
)
def test_figure_dicts_are_valid_plotly_figures_unchanged_by_validation(name, data):
    """go.Figure accepts every property (it raises on an invalid one) and changes none: the
    page draws exactly what the server-side export validates and renders."""
    figure = charts.CHARTS[name](data)
    assert as_json(go.Figure(figure).to_dict()) == as_json(figure)
    assert json.loads(chart_style.embed_json(figure)) == as_json(figure)


def test_the_funnel_grid_is_what_make_subplots_makes():
    """The subplot layout is written out by hand; it matches Plotly's for the same arguments."""
    grid = make_subplots(
        rows=2,
        cols=1,
        row_heights=[0.6, 0.4],
        vertical_spacing=0.16,
        subplot_titles=(
            "Contacts per step",
            "After each step: dropped off by reason, and still waiting",
        ),
    ).to_dict()["layout"]
    figure = as_json(charts.funnel_figure(FUNNEL))
    layout = figure["layout"]
    for axis in ("xaxis", "yaxis", "xaxis2", "yaxis2"):
        assert {key: layout[axis][key] for key in ("anchor", "domain")} == as_json(grid[axis])
    assert layout["annotations"][:2] == as_json(grid["annotations"])
    # Row 1's traces on x/y, row 2's (and the totals above them) on x2/y2.
    assert {(t["xaxis"], t["yaxis"]) for t in figure["data"][:5]} == {("x", "y")}
    assert {(t["xaxis"], t["yaxis"]) for t in figure["data"][5:]} == {("x2", "y2")}
    assert {(a["xref"], a["yref"]) for a in layout["annotations"][2:]} == {("x2", "y2")}


def test_the_none_template_is_plotlys():
    expanded = go.Figure(layout={"template": "none"}).to_dict()["layout"]["template"]
    assert chart_style.none_template() == expanded
    assert charts.engagement_figure(ENGAGEMENT)["layout"]["template"] == expanded


def test_embedded_json_cannot_close_its_script_element():
    data = {
        **FUNNEL,
        "steps": [step(1, "</script><script>alert(1)</script>", 1, 1, 1, 1, 1, reasons())],
    }
    embedded = chart_style.embed_json(charts.funnel_figure(data))
    assert "</script" not in embedded and "<" not in embedded
    assert json.loads(embedded)["data"][0]["x"] == [
        "1. &lt;/script&gt;&lt;script&gt;alert(1)&lt;/script&gt;"
    ]


def test_number_formats():
    assert chart_style.count(1234567) == "1,234,567"
    assert chart_style.count(None) == "—"
    assert chart_style.rate(12.345) == "12.3%"
    assert chart_style.rate(None) == "—"
    assert chart_style.sparkline_points([]) == ""
    points = chart_style.sparkline_points([0, 5, 10], width=100, height=20).split()
    assert points == ["0.0,19.0", "50.0,10.0", "100.0,1.0"]
    assert chart_style.sparkline_points([0, 0]) == "0.0,27.0 120.0,27.0"


def test_today_is_drawn_apart_as_a_dotted_segment_to_a_hollow_point():
    """Issue 18: today's counts are so far, not a collapse."""
    data = {**TIMESERIES, "partialDay": date(2030, 1, 3)}
    fig = go.Figure(charts.timeseries_figure(data))
    sent = [t for t in fig.data if t.legendgroup == "sent"]
    solid, dotted, point = sent
    assert list(solid.y) == [1_000, 2_000, None]
    assert list(dotted.x) == ["2030-01-02", "2030-01-03"] and dotted.line.dash == "dot"
    assert list(point.y) == [3_000] and point.marker.symbol == "circle-open"
    assert not dotted.showlegend and not point.showlegend
    assert "(today so far)" in point.hovertemplate
    (band,) = fig.layout.shapes
    assert (band.x0, band.x1) == ("2030-01-02 12:00", "2030-01-03 12:00")
    assert any(a.text == "today, so far" for a in fig.layout.annotations)
    whole = go.Figure(charts.timeseries_figure(TIMESERIES))  # a past range: nothing apart
    assert len(whole.data) == len(charts.SERIES) and not whole.layout.shapes


def test_young_cohorts_are_grey_and_off_the_colour_scale():
    young = {
        **COHORTS["cohorts"][0],
        "reachedMaturing": [False, True],
        "completionMaturing": True,
        "maturing": True,
    }
    fig = go.Figure(charts.cohort_figure({**COHORTS, "cohorts": [young]}))
    grown, maturing = fig.data
    assert [list(r) for r in grown.z] == [[100.0, None, None]]
    assert [list(r) for r in maturing.z] == [[None, 75.0, 50.0]]
    assert maturing.text[0][1] == "75.0% · maturing" and grown.text[0][1] == ""
    assert maturing.showscale is False
    assert "Still maturing" in maturing.hovertext[0][2]
