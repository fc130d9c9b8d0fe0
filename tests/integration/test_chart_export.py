"""Server-side chart images through kaleido and Chromium: real PNG and SVG bytes, one warm
browser for later exports, and a clear 503 when the browser is missing or hangs."""

from __future__ import annotations

import os
import time
from datetime import timedelta
from pathlib import Path

import pytest

from app import create_app
from app.config import Config, TestConfig
from app.extensions import db
from app.models import DripEnrollment, DripMessageLog, utcnow
from app.reports import charts
from app.reports import export as chart_export
from tests.conftest import login
from tests.integration.enrollment_world import live_steps, make_campaign, make_contacts

CHROMIUM = "/usr/bin/chromium"
needs_chromium = pytest.mark.skipif(
    not os.access(CHROMIUM, os.X_OK), reason="Debian's chromium is not installed here"
)


@pytest.fixture
def campaign_id(clean_app, org_a):
    with clean_app.app_context():
        session = db.session
        campaign = make_campaign(session, org_a.org_id)
        first = live_steps(session, campaign)[0]
        (contact,) = make_contacts(session, org_a.org_id, 1)
        when = utcnow() - timedelta(days=1)
        enrollment = DripEnrollment(
            organization_id=org_a.org_id,
            campaign_id=campaign.id,
            contact_id=contact.id,
            enrolled_at=when,
            current_step_id=first.id,
            last_step_id=first.id,
        )
        session.add(enrollment)
        session.flush()
        session.add(
            DripMessageLog(
                organization_id=org_a.org_id,
                enrollment_id=enrollment.id,
                campaign_id=campaign.id,
                step_id=first.id,
                contact_id=contact.id,
                status="read",
                sent_at=when,
                delivered_at=when,
                read_at=when,
            )
        )
        session.commit()
        return campaign.id


@pytest.fixture
def client_with(clean_app, org_a):
    """Logged-in clients of apps on the same database with other chart settings."""
    apps = []

    def make(**config):
        url = clean_app.config["SQLALCHEMY_DATABASE_URI"]
        apps.append(create_app(TestConfig(database_url=url, extra=config)))
        client = apps[-1].test_client()
        assert login(client, org_a.email).status_code == 302
        return client

    yield make
    for app in apps:
        with app.app_context():
            db.engine.dispose()


@needs_chromium
def test_png_and_svg_of_every_chart(client_a, campaign_id):
    started = time.perf_counter()
    response = client_a.get(f"/campaigns/{campaign_id}/charts/funnel.png")
    first = time.perf_counter() - started
    assert response.status_code == 200, response.get_data(as_text=True)
    assert response.mimetype == "image/png"
    assert response.data.startswith(b"\x89PNG\r\n\x1a\n")
    assert "attachment" in response.headers["Content-Disposition"]
    for name in ("funnel", "cohorts", "timeseries", "engagement"):
        started = time.perf_counter()
        response = client_a.get(
            f"/campaigns/{campaign_id}/charts/{name}.svg", query_string={"granularity": "day"}
        )
        later = time.perf_counter() - started
        assert response.status_code == 200
        assert response.mimetype == "image/svg+xml"
        assert response.data.lstrip().startswith(b"<svg")
        # The browser stays warm: later exports skip the start-up.
        assert later < max(first, 5)
    print(f"first export {first:.2f} s, a later one {later:.2f} s")


@needs_chromium
def test_an_idle_browser_is_closed_and_restarts_on_the_next_export():
    exporter = chart_export.ChartExporter(CHROMIUM, timeout=30, idle=1)
    figure = charts.engagement_figure({"sent": 0, "attempted": 0})
    try:
        assert exporter.export(figure, "svg").lstrip().startswith(b"<svg")
        assert exporter.is_warm()
        deadline = time.monotonic() + 10
        while exporter.is_warm() and time.monotonic() < deadline:
            time.sleep(0.2)
        assert not exporter.is_warm()
        assert exporter.export(figure, "png").startswith(b"\x89PNG")
    finally:
        exporter.stop()


@needs_chromium
def test_bad_range_parameters_still_export_with_the_defaults(client_a, campaign_id):
    response = client_a.get(
        f"/campaigns/{campaign_id}/charts/timeseries.png", query_string={"from": "nope"}
    )
    assert response.status_code == 200
    assert response.data.startswith(b"\x89PNG")


def test_an_invalid_figure_is_refused_before_the_browser_starts(tmp_path):
    # The builders' figure dicts are validated as go.Figure on the export path.
    exporter = chart_export.ChartExporter(str(tmp_path / "no-chromium"), timeout=5)
    figure = charts.engagement_figure({"sent": 0, "attempted": 0})
    figure["layout"]["xaxis"]["colour"] = "red"
    with pytest.raises(ValueError, match="colour"):
        exporter.export(figure, "png")
    assert not exporter.is_warm()


def test_missing_browser_answers_503_with_the_fix(client_with, campaign_id, tmp_path):
    client = client_with(CHART_BROWSER_PATH=str(tmp_path / "no-chromium"))
    response = client.get(f"/campaigns/{campaign_id}/charts/funnel.png")
    assert response.status_code == 503
    page = response.get_data(as_text=True)
    assert "Image export needs Chromium on the server" in page
    assert "CHART_BROWSER_PATH" in page and "Traceback" not in page
    response = client.get(
        f"/campaigns/{campaign_id}/charts/funnel.svg", headers={"Accept": "application/json"}
    )
    assert response.status_code == 503
    assert response.json["error"]["code"] == "export_unavailable"
    assert "install the chromium package" in response.json["error"]["message"]


def test_a_hung_browser_answers_503_in_bounded_time(client_with, campaign_id, tmp_path):
    hung = Path(tmp_path / "hung-chromium")
    hung.write_text("#!/bin/sh\nexec sleep 120\n")
    hung.chmod(0o755)
    client = client_with(CHART_BROWSER_PATH=str(hung), CHART_EXPORT_TIMEOUT=2.0)
    started = time.perf_counter()
    response = client.get(f"/campaigns/{campaign_id}/charts/funnel.png")
    assert response.status_code == 503
    assert time.perf_counter() - started < 15
    assert "could not start Chromium" in response.get_data(as_text=True)
    exporter = chart_export.exporter(str(hung), 2.0)
    assert not exporter.is_warm()


def test_the_export_config_comes_from_the_environment(tmp_path):
    settings = Config.from_env({"CHART_BROWSER_PATH": "/opt/chrome/chrome"}).flask_settings(
        tmp_path
    )
    assert settings["CHART_BROWSER_PATH"] == "/opt/chrome/chrome"
    settings = Config.from_env({}).flask_settings(tmp_path)
    assert settings["CHART_BROWSER_PATH"] == CHROMIUM
    assert settings["CHART_EXPORT_TIMEOUT"] == 30.0
