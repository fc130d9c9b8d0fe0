"""The analytics endpoint: each report as JSON and CSV, and a 400 naming a bad parameter."""

from __future__ import annotations

import csv
import io

import pytest

from tests.integration.test_analytics import scenario  # noqa: F401 - the shared fixture


def url(campaign_id: int, **args) -> str:
    query = "&".join(f"{k}={v}" for k, v in args.items())
    return f"/api/drip-campaigns/{campaign_id}/analytics?{query}"


def test_funnel_is_the_default_report(clean_app, org_a, scenario):  # noqa: F811
    client = clean_app.test_client()
    response = client.get(url(scenario["campaign"]), headers=org_a.auth)
    assert response.status_code == 200
    data = response.get_json()["data"]
    assert data["totalEnrolled"] == 10 and data["overallCompletionRate"] == 10.0
    assert [s["reachedCount"] for s in data["steps"]] == [8, 4, 2]


def test_each_report_type(clean_app, org_a, scenario):  # noqa: F811
    client = clean_app.test_client()
    get = lambda **args: client.get(url(scenario["campaign"], **args), headers=org_a.auth)  # noqa: E731
    series = get(type="timeseries", **{"from": "2026-11-02", "to": "2026-11-04"}).get_json()
    assert [d["date"] for d in series["data"]["days"]] == ["2026-11-02", "2026-11-03", "2026-11-04"]
    assert [d["enrolled"] for d in series["data"]["days"]] == [3, 2, 2]
    cohorts = get(type="cohort", granularity="month").get_json()["data"]
    assert [c["size"] for c in cohorts["cohorts"]] == [10]
    engagement = get(type="engagement").get_json()["data"]
    assert engagement["timeToRead"]["medianSeconds"] == 180.0
    compared = get(type="cohort", a="2026-11-02..2026-11-08", b="2026-11-09..2026-11-15")
    assert compared.get_json()["data"]["b"]["size"] == 3


def test_csv_export(clean_app, org_a, scenario):  # noqa: F811
    client = clean_app.test_client()
    response = client.get(
        url(scenario["campaign"], type="funnel", format="csv"), headers=org_a.auth
    )
    assert response.status_code == 200
    assert response.mimetype == "text/csv"
    assert "attachment" in response.headers["Content-Disposition"]
    rows = list(csv.DictReader(io.StringIO(response.get_data(as_text=True))))
    assert [r["reached_count"] for r in rows] == ["8", "4", "2"]
    assert rows[0]["failed_by_code"] == "131026:1;131049:1"
    assert rows[0]["drop_off_waiting"] == "1"
    series = client.get(
        url(
            scenario["campaign"],
            type="timeseries",
            format="csv",
            **{"from": "2026-11-02", "to": "2026-11-03"},
        ),
        headers=org_a.auth,
    )
    lines = series.get_data(as_text=True).splitlines()
    # Issue 17: the daily series gains cost (nothing priced here: 0, no currency).
    # Issue 19: and conversions and revenue (no goal here: 0, no currency).
    header = (
        "date,enrolled,sent,delivered,read,replied,clicked,failed,completed,cost,conversions,"
        "revenue,currency,revenue_currency"
    )
    assert lines[0] == header
    assert lines[1] == "2026-11-02,3,2,2,2,1,0,1,0,0,0,0,,"


@pytest.mark.parametrize(
    ("args", "parameter"),
    [
        ({"type": "sankey"}, "type"),
        ({"type": "timeseries", "from": "2026-11-09", "to": "2026-11-02"}, "from"),
        ({"type": "timeseries", "from": "2025-01-01", "to": "2026-11-02"}, "from"),
        ({"type": "timeseries", "from": "2026-13-01"}, "from"),
        ({"type": "cohort", "granularity": "year"}, "granularity"),
        ({"type": "cohort", "a": "2026-11-01..2026-11-07"}, "b"),
        ({"format": "xlsx"}, "format"),
    ],
)
def test_bad_parameters_are_a_400_naming_them(clean_app, org_a, scenario, args, parameter):  # noqa: F811
    response = clean_app.test_client().get(url(scenario["campaign"], **args), headers=org_a.auth)
    assert response.status_code == 400
    error = response.get_json()["error"]
    assert error["code"] == "bad_request"
    assert error["details"] == {"parameter": parameter}
    assert error["message"]


def test_another_organizations_campaign_is_not_found(clean_app, org_b, scenario):  # noqa: F811
    response = clean_app.test_client().get(url(scenario["campaign"]), headers=org_b.auth)
    assert response.status_code == 404
