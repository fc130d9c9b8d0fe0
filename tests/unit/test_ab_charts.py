"""A/B results figures and table: literal report dicts in (the shape of
app.drip.ab.running.report), figures, rows, CSV and display formats out.

Each figure dict is read through go.Figure(figure), which validates it strictly against
Plotly's schema: an invalid property raises."""

from __future__ import annotations

import csv
import io
import json

import plotly.graph_objects as go
import pytest
from plotly.utils import PlotlyJSONEncoder

from app.reports import ab_charts, ab_table
from app.reports import style as chart_style


def rates(data: dict) -> go.Figure:
    return go.Figure(ab_charts.rates_figure(data))


def timeline(data: dict) -> go.Figure:
    return go.Figure(ab_charts.timeline_figure(data))


def variant(id, name, sent, successes, rate, low, high, *, control=False, share=50.0):
    return {
        "id": id,
        "name": name,
        "isControl": control,
        "messageContent": f"Hi from {name}",
        "trafficAllocation": share,
        "assigned": sent + 3,
        "sent": sent,
        "delivered": sent,
        "read": successes,
        "replied": 0,
        "clicked": 0,
        "successes": successes,
        "rate": rate,
        "ciLow": low,
        "ciHigh": high,
    }


def report(**extra) -> dict:
    variants = [
        variant(1, "Control", 1200, 300, 25.0, 22.6, 27.5, control=True),
        variant(2, "Friendly <b>", 1180, 354, 30.0, 27.5, 32.7, share=25.0),
        variant(3, "Short", 0, 0, None, None, None, share=25.0),
    ]
    comparison = {
        "variantId": 2,
        "controlId": 1,
        "lift": 20.0,
        "absoluteLift": 5.0,
        "zScore": 2.72,
        "pValue": 0.0065,
        "adjustedPValue": 0.013,
        "sequentialPValue": 0.09,
        "adjustedSequentialPValue": 0.18,
        "significant": False,
    }
    empty = {
        "variantId": 3,
        "controlId": 1,
        "lift": None,
        "absoluteLift": None,
        "zScore": None,
        "pValue": 1.0,
        "adjustedPValue": 1.0,
        "sequentialPValue": 1.0,
        "adjustedSequentialPValue": 1.0,
        "significant": False,
    }
    days = ["2030-01-05", "2030-01-06", "2030-01-07"]
    timeline = [
        {
            "variantId": 1,
            "name": "Control",
            "isControl": True,
            "points": [
                {"date": d, "n": n, "successes": s, "rate": s * 100 / n}
                for d, n, s in zip(days, (400, 800, 1200), (90, 200, 300), strict=True)
            ],
        },
        {
            "variantId": 2,
            "name": "Friendly <b>",
            "isControl": False,
            "points": [
                {"date": d, "n": n, "successes": s, "rate": s * 100 / n if n else None}
                for d, n, s in zip(days, (0, 600, 1180), (0, 170, 354), strict=True)
            ],
        },
        {"variantId": 3, "name": "Short", "isControl": False, "points": []},
    ]
    base = {
        "id": 7,
        "name": "Welcome test",
        "status": "running",
        "winningMetric": "read_rate",
        "confidenceThreshold": 0.95,
        "winnerId": None,
        "variants": variants,
        "statistics": {
            "comparisons": [comparison, empty],
            "sequential": {
                "variants": [
                    {"variantId": 1, "n": 1000, "successes": 250, "rate": 25.0},
                    {"variantId": 2, "n": 990, "successes": 297, "rate": 30.0},
                    {"variantId": 3, "n": 0, "successes": 0, "rate": None},
                ],
                "comparisons": [
                    {
                        **comparison,
                        "adjustedSequentialPValue": 0.18,
                        "liftLow": -2.0,
                        "liftHigh": 45.0,
                        "runningMinimumPValue": 0.08,
                        "adjustedRunningMinimumPValue": 0.16,
                    },
                    {**empty, "note": "no sends yet"},
                ],
            },
        },
        "timeline": timeline,
    }
    return {**base, **extra}


def test_rates_bars_carry_the_intervals_as_error_bars():
    fig = rates(report())
    (bars,) = fig.data
    assert bars.type == "bar"
    assert list(bars.y) == [25.0, 30.0, 0.0]
    error = bars.error_y
    assert error.type == "data" and error.symmetric is False
    tops = [y + e for y, e in zip(bars.y, error.array, strict=True)]
    bottoms = [y - e for y, e in zip(bars.y, error.arrayminus, strict=True)]
    assert tops[:2] == pytest.approx([27.5, 32.7])
    assert bottoms[:2] == pytest.approx([22.6, 27.5])
    # A variant without sends: no bar height, no whiskers, "—" as its label.
    assert (tops[2], bottoms[2], bars.text[2]) == (0.0, 0.0, "—")
    assert list(bars.text[:2]) == ["25.0%", "30.0%"]
    assert "95% intervals" in fig.layout.title.text and "Read rate" in fig.layout.title.text


def test_rates_hover_and_labels_are_formatted_and_literal():
    fig = rates(report())
    bars = fig.data[0]
    assert list(bars.x) == ["Control (control)", "Friendly &lt;b&gt;", "Short"]
    assert "300 read of 1,200 sent" in bars.hovertext[0]
    assert "95% interval: 27.5% to 32.7%" in bars.hovertext[1]
    # User text cannot break out of the embedded JSON either.
    assert "<b>" not in json.dumps([t for t in bars.x])


def test_the_winner_is_marked_and_coloured():
    fig = rates(report(winnerId=2, confidenceThreshold=0.99))
    bars = fig.data[0]
    assert bars.x[1] == "Friendly &lt;b&gt; (winner)"
    assert bars.marker.color[1] == ab_charts.WINNER_COLOUR
    assert bars.marker.color[0] == ab_charts.CONTROL_COLOUR
    assert "99% intervals" in fig.layout.title.text


def test_timeline_has_one_line_per_variant_with_cumulative_rates():
    fig = timeline(report())
    assert [t.name for t in fig.data] == ["Control (control)", "Friendly &lt;b&gt;", "Short"]
    assert all(t.type == "scatter" for t in fig.data)
    control, friendly, short = fig.data
    assert list(control.x) == ["2030-01-05", "2030-01-06", "2030-01-07"]
    assert list(control.y) == pytest.approx([22.5, 25.0, 25.0])
    assert friendly.y[0] is None  # before its first send: a gap, not 0%
    assert friendly.y[2] == pytest.approx(30.0)
    assert len(short.x) == 0
    assert "354 read of 1,180 sent so far" in friendly.hovertext[2]
    # The same colour per variant on both charts.
    colours = rates(report()).data[0].marker.color
    assert [t.line.color for t in fig.data] == list(colours)
    assert "UTC" in fig.layout.xaxis.title.text


@pytest.mark.parametrize("metric", ["reply_rate", "delivery_rate", "click_rate"])
def test_titles_follow_the_metric(metric):
    label = ab_charts.METRIC_LABELS[metric]
    assert label in rates(report(winningMetric=metric)).layout.title.text
    assert label.lower() in timeline(report(winningMetric=metric)).layout.title.text


def test_no_sends_give_titled_empty_figures():
    quiet = report()
    for v in quiet["variants"]:
        v.update(sent=0, successes=0, rate=None, ciLow=None, ciHigh=None)
    quiet["timeline"] = [{**s, "points": []} for s in quiet["timeline"]]
    for build in ab_charts.AB_CHARTS.values():
        fig = go.Figure(build(quiet))
        assert not fig.data
        assert fig.layout.annotations[0].text == "No messages of this test were sent yet."
    assert not timeline({"winningMetric": "read_rate"}).data


def single_day() -> dict:
    one = report()
    one["timeline"] = [{**s, "points": s["points"][-1:]} for s in one["timeline"]]
    return one


def quiet_report() -> dict:
    quiet = report(timeline=[])
    for v in quiet["variants"]:
        v.update(sent=0, successes=0, rate=None, ciLow=None, ciHigh=None)
    return quiet


def as_json(value) -> object:
    """A figure (dict or go.Figure) as the browser gets it: through Plotly's JSON encoder."""
    return json.loads(json.dumps(value, cls=PlotlyJSONEncoder))


@pytest.mark.parametrize("name", ["rates", "timeline"])
@pytest.mark.parametrize(
    "data",
    [report(), report(winnerId=2, winningMetric="click_rate"), single_day(), quiet_report()],
    ids=["running", "winner", "single-day", "no-sends"],
)
def test_figure_dicts_are_valid_plotly_figures_unchanged_by_validation(name, data):
    """go.Figure accepts every property (it raises on an invalid one) and changes none: the
    page draws exactly what the server-side export validates and renders."""
    figure = ab_charts.AB_CHARTS[name](data)
    assert as_json(go.Figure(figure).to_dict()) == as_json(figure)
    assert json.loads(chart_style.embed_json(figure)) == as_json(figure)


def test_a_single_day_gets_room_around_it():
    axis = timeline(single_day()).layout.xaxis
    assert axis.range == ("2030-01-06", "2030-01-08") and axis.dtick == ab_charts.DAY_MS


def test_result_rows_join_each_variant_with_its_comparison():
    rows = ab_table.result_rows(report(winnerId=2))
    assert [r["name"] for r in rows] == ["Control", "Friendly <b>", "Short"]
    control, friendly, short = rows
    assert control["lift"] is None and control["significant"] is None
    assert (friendly["lift"], friendly["zScore"], friendly["isWinner"]) == (20.0, 2.72, True)
    assert short["pValue"] == 1.0 and short["rate"] is None


def test_csv_has_every_number_unrounded_and_blanks_for_none():
    text = ab_table.ab_results_to_csv(report())
    rows = list(csv.DictReader(io.StringIO(text)))
    assert list(rows[0]) == [column for column, _ in ab_table.COLUMNS]
    assert rows[0]["lift"] == "" and rows[0]["is_control"] == "True"
    assert rows[1]["adjusted_sequential_p_value"] == "0.18" and rows[1]["ci_high"] == "32.7"
    assert rows[2]["rate"] == "" and rows[2]["sent"] == "0"


def test_table_significance_and_lift_interval_come_from_the_decisions_data():
    data = report()
    data["statistics"]["comparisons"][0].update(significant=True, adjustedSequentialPValue=0.01)
    row = ab_table.result_rows(data)[1]
    # All sends say significant; the matured sends the verdict uses do not: the table follows
    # the verdict.
    assert row["significant"] is False and row["adjustedSequentialPValue"] == 0.18
    assert (row["liftLow"], row["liftHigh"], row["maturedN"]) == (-2.0, 45.0, 990)
    assert row["adjustedRunningMinimumPValue"] == 0.16
    rows = list(csv.DictReader(io.StringIO(ab_table.ab_results_to_csv(data))))
    assert rows[1]["lift_ci_low"] == "-2.0" and rows[1]["lift_ci_high"] == "45.0"
    assert ab_table.lift_interval(-2.0, 45.0) == "-2.0% to +45.0%"


def test_lift_chart_has_the_always_valid_interval_as_error_bars():
    fig = go.Figure(ab_charts.lift_figure(report()))
    (bars,) = fig.data
    assert list(bars.y) == [pytest.approx(20.0)]
    assert bars.error_y.array[0] == pytest.approx(25.0)
    assert bars.error_y.arrayminus[0] == pytest.approx(22.0)


def test_csv_quotes_names_a_spreadsheet_would_run():
    sneaky = report()
    sneaky["variants"][1]["name"] = "=HYPERLINK(1)"
    rows = list(csv.DictReader(io.StringIO(ab_table.ab_results_to_csv(sneaky))))
    assert rows[1]["variant"] == "'=HYPERLINK(1)"


def test_leader_is_the_winner_else_the_best_rate_so_far():
    assert ab_table.leader(report()) == {"name": "Friendly <b>", "rate": 30.0, "winner": False}
    assert ab_table.leader(report(winnerId=1))["winner"] is True
    quiet = report()
    for v in quiet["variants"]:
        v["rate"] = None
    assert ab_table.leader(quiet) is None


def test_display_formats():
    assert ab_table.p_value(0.0007962) == "0.0008"
    assert ab_table.p_value(3e-9) == "< 0.0001"
    assert ab_table.p_value(0.2049) == "0.205"
    assert ab_table.p_value(None) == "—"
    assert ab_table.z_score(3.3541) == "+3.35" and ab_table.z_score(-1.2677) == "-1.27"
    assert ab_table.lift(1234.56) == "+1,234.6%" and ab_table.lift(-33.33) == "-33.3%"
    assert ab_table.points(5.0) == "+5.0 pts"
    assert ab_table.share(50.0) == "50%" and ab_table.share(33.33) == "33.33%"
    assert ab_table.interval(22.61, 27.46) == "22.6–27.5%" and ab_table.interval(None, 1) == "—"
