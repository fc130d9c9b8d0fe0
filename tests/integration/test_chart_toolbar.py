"""The charts' toolbar has no cloud link: plotly.js 3 adds a "Share chart..." button by
default, which posts the chart's data to cloud.plotly.com. The served script turns it off and
removes the button; no page configures a link of its own."""

from __future__ import annotations

import re


def test_the_served_chart_script_turns_the_cloud_link_off(client_a):
    script = client_a.get("/static/js/charts.js").get_data(as_text=True)
    assert re.search(r"showSendToCloud:\s*false", script)
    assert re.search(r'plotlyServerURL:\s*""', script)
    assert re.search(r"modeBarButtonsToRemove:\s*\[[^\]]*\"sendChartToCloud\"", script)
    assert "...NO_CLOUD" in script


def test_no_page_configures_a_cloud_link(client_a):
    # The dashboards embed figures only; their toolbar's configuration is charts.js's.
    for path in ("/analytics", "/campaigns/", "/settings/", "/settings/profile"):
        page = client_a.get(path).get_data(as_text=True).lower()
        for setting in (
            "showsendtocloud",
            "showlink",
            "senddata",
            "plotlyserverurl",
            "chart studio",
        ):
            assert setting not in page, (path, setting)
