"""The analytics pages through the real reports: the overview, a campaign's dashboard (tiles,
charts, drop-off table, range form), their empty states, bad parameters and plotly.js itself."""

from __future__ import annotations

import json
import re
from datetime import timedelta
from pathlib import Path

import plotly.graph_objects as go
import pytest

from app.extensions import db
from app.models import DripCampaign, DripEnrollment, DripMessageLog, utcnow
from app.web.analytics import PLOTLY_JS_VERSION
from tests.integration.enrollment_world import live_steps, make_campaign, make_contacts

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def busy(clean_app, org_a):
    """A campaign (Berlin clock) of 1,200 enrollments two days ago: every one got step 1,
    1,100 delivered, 700 read, 30 replied (and stopped), 5 failed with 131026; 400 reached
    step 2 and completed."""
    with clean_app.app_context():
        session = db.session
        # Activated long before: its daily series spans the whole default range (issue 18: a
        # series starts at the campaign's first day).
        campaign = make_campaign(
            session,
            org_a.org_id,
            name="Spring <sale>",
            window_timezone="Europe/Berlin",
            activated_at=utcnow() - timedelta(days=60),
        )
        first, second = live_steps(session, campaign)
        when = utcnow() - timedelta(days=2)
        contacts = make_contacts(session, org_a.org_id, 1_200)
        enrollments = [
            DripEnrollment(
                organization_id=org_a.org_id,
                campaign_id=campaign.id,
                contact_id=contact.id,
                status=_status(i),
                stop_reason="replied" if 5 <= i < 35 else ("131026" if i < 5 else None),
                enrolled_at=when,
                completed_at=when + timedelta(hours=1) if i >= 800 else None,
                stopped_at=when + timedelta(minutes=30) if i < 35 else None,
                current_step_id=second.id if i >= 800 else first.id,
                last_step_id=second.id if i >= 800 else first.id,
            )
            for i, contact in enumerate(contacts)
        ]
        session.add_all(enrollments)
        session.flush()
        logs = []
        for i, row in enumerate(enrollments):
            logs.append(_log(row, first.id, when, i))
            if i >= 800:
                logs.append(_log(row, second.id, when + timedelta(minutes=20), 1_000))
        session.add_all(logs)
        session.commit()
        return campaign.id


def _status(i: int) -> str:
    if i < 5:
        return "failed"
    if i < 35:
        return "stopped"
    return "completed" if i >= 800 else "active"


def _log(enrollment, step_id, when, i):
    failed = i < 5
    return DripMessageLog(
        organization_id=enrollment.organization_id,
        enrollment_id=enrollment.id,
        campaign_id=enrollment.campaign_id,
        step_id=step_id,
        contact_id=enrollment.contact_id,
        status="failed" if failed else ("read" if i < 700 else "delivered"),
        created_at=when,
        sent_at=None if failed else when,
        delivered_at=None if failed or i >= 1_105 else when + timedelta(seconds=30),
        read_at=when + timedelta(minutes=5) if 5 <= i < 700 else None,
        replied_at=when + timedelta(minutes=10) if 5 <= i < 35 else None,
        failed_at=when if failed else None,
        error_code="131026" if failed else None,
    )


def figures(html: str) -> dict[str, dict]:
    found = re.findall(
        r'<script type="application/json" data-chart-figure="(\w+)">(.*?)</script>', html, re.S
    )
    return {name: json.loads(body) for name, body in found}


def test_dashboard_shows_tiles_charts_and_the_drop_off_table(client_a, busy):
    response = client_a.get(f"/campaigns/{busy}/analytics")
    assert response.status_code == 200
    html = response.get_data(as_text=True)
    assert "Spring &lt;sale&gt;" in html and "Spring <sale>" not in html
    assert '>1,200</span><span class="tile-label">enrolled' in html
    assert "Europe/Berlin" in html  # days are on the campaign's clock, and it says so
    charts = figures(html)
    assert set(charts) == {"funnel", "cohorts", "timeseries", "engagement"}
    for figure in charts.values():
        go.Figure(figure)  # valid against Plotly's schema: an invalid property raises
    reached = charts["funnel"]["data"][0]
    assert reached["name"] == "Reached" and reached["y"] == [1_200, 400]
    assert charts["cohorts"]["data"][0]["type"] == "heatmap"
    sent = next(t for t in charts["timeseries"]["data"] if t["name"] == "Sent")
    assert sum(n or 0 for n in sent["y"]) == 1_195 + 400  # today (None) is drawn apart
    assert len(sent["x"]) == 30  # the default range: the last 30 days
    # The drop-off table and failure codes, with thousands separators.
    assert re.search(r"<code>131026</code></td><td>[^<]+</td><td class=\"num\">5</td>", html)
    assert "1,200" in html
    # Every chart offers the CSV (from the API) and server images.
    for kind in ("funnel", "cohort", "timeseries", "engagement"):
        assert f"type={kind}" in html
    assert f"/campaigns/{busy}/charts/funnel.png" in html
    assert f"/campaigns/{busy}/charts/cohorts.svg" in html
    assert f"/assets/plotly-{PLOTLY_JS_VERSION}.min.js" in html


def test_csv_link_on_the_dashboard_downloads(client_a, busy):
    html = client_a.get(f"/campaigns/{busy}/analytics").get_data(as_text=True)
    link = re.search(r'href="(/api/drip-campaigns/[^"]*type=funnel[^"]*)"', html)[1]
    response = client_a.get(link.replace("&amp;", "&"))
    assert response.status_code == 200
    assert response.mimetype == "text/csv"


def test_range_and_granularity_drive_cohorts_and_the_daily_chart(client_a, busy):
    today = utcnow().date()
    start = (today - timedelta(days=6)).isoformat()
    response = client_a.get(
        f"/campaigns/{busy}/analytics",
        query_string={"from": start, "to": today.isoformat(), "granularity": "day"},
    )
    html = response.get_data(as_text=True)
    charts = figures(html)
    assert len(charts["timeseries"]["data"][0]["x"]) == 7
    assert "Cohorts by enrollment day" in charts["cohorts"]["layout"]["title"]["text"]
    assert f'value="{start}"' in html
    assert 'aria-current="true">By day' in html


@pytest.mark.parametrize(
    ("query", "message"),
    [
        ({"from": "yesterday"}, "from must be a date"),
        ({"to": "2030-13-45"}, "to must be a date"),
        ({"from": "2030-02-01", "to": "2030-01-01"}, "starts (2030-02-01) after it ends"),
        ({"from": "2020-01-01", "to": "2030-01-01"}, "at most 366 days"),
        ({"granularity": "fortnight"}, "granularity must be one of"),
        ({"granularity": "year", "from": "nope"}, "granularity must be one of"),
    ],
)
def test_bad_parameters_show_an_error_and_the_defaults(client_a, busy, query, message):
    response = client_a.get(f"/campaigns/{busy}/analytics", query_string=query)
    assert response.status_code == 200
    html = response.get_data(as_text=True)
    assert message in html.replace("&#39;", "'")
    assert 'role="alert"' in html
    assert len(figures(html)["timeseries"]["data"][0]["x"]) == 30


def test_a_good_parameter_survives_a_bad_one(client_a, busy):
    html = client_a.get(
        f"/campaigns/{busy}/analytics", query_string={"granularity": "month", "from": "x"}
    ).get_data(as_text=True)
    assert "Cohorts by enrollment month" in html


def test_dashboard_empty_states_name_the_next_action(client_a, clean_app, org_a):
    with clean_app.app_context():
        no_steps = make_campaign(db.session, org_a.org_id, steps=(), status="draft").id
        draft = make_campaign(db.session, org_a.org_id, status="draft").id
        active = make_campaign(db.session, org_a.org_id).id
        db.session.commit()
    html = client_a.get(f"/campaigns/{no_steps}/analytics").get_data(as_text=True)
    assert "No enrollments yet" in html and "Add a step" in html
    html = client_a.get(f"/campaigns/{draft}/analytics").get_data(as_text=True)
    assert "Activate the campaign" in html
    html = client_a.get(f"/campaigns/{active}/analytics").get_data(as_text=True)
    assert "Enroll contacts" in html and f"/campaigns/{active}/enrollments" in html
    assert "data-chart-figure" not in html and "plotly-" not in html


def test_overview_lists_campaigns_with_sparklines(client_a, busy, clean_app, org_a):
    with clean_app.app_context():
        make_campaign(db.session, org_a.org_id, name="Quiet one")
        db.session.commit()
    html = client_a.get("/analytics").get_data(as_text=True)
    assert f"/campaigns/{busy}/analytics" in html
    assert "Spring &lt;sale&gt;" in html and "Quiet one" in html
    assert "1,595 sent in the last 30 days" in html
    assert html.count("<polyline") == 1  # the quiet campaign draws a flat base line only
    assert 'aria-current="page">Analytics' in html


def test_overview_empty_state(client_a):
    html = client_a.get("/analytics").get_data(as_text=True)
    assert "Nothing to analyse yet" in html and "Create a campaign" in html


def test_campaign_page_links_to_its_dashboard(client_a, busy):
    html = client_a.get(f"/campaigns/{busy}").get_data(as_text=True)
    assert f'href="/campaigns/{busy}/analytics"' in html


def test_foreign_campaigns_are_not_found(client_b, busy):
    for url in (f"/campaigns/{busy}/analytics", f"/campaigns/{busy}/charts/funnel.png"):
        response = client_b.get(url)
        assert response.status_code == 404
        assert b"Traceback" not in response.data
    with client_b.application.app_context():
        assert db.session.get(DripCampaign, busy) is not None


def test_unknown_chart_or_format_is_not_found(client_a, busy):
    for path in ("charts/pie.png", "charts/funnel.gif", "charts/funnel.png.exe"):
        assert client_a.get(f"/campaigns/{busy}/{path}").status_code == 404


def test_plotly_js_is_served_from_the_package_and_cached(clean_app):
    response = clean_app.test_client().get(f"/assets/plotly-{PLOTLY_JS_VERSION}.min.js")
    assert response.status_code == 200  # public: the login page may load it too
    assert response.mimetype == "text/javascript"
    assert "max-age=31536000" in response.headers["Cache-Control"]
    assert response.data[:200].lstrip().startswith(b"/**")
    response.close()


def test_no_template_loads_anything_from_a_cdn():
    for path in (ROOT / "templates").rglob("*.html"):
        text = path.read_text()
        assert not re.search(r"(cdn\.|unpkg|jsdelivr|cdnjs|https?://)", text), path
