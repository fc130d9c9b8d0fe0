"""Analytics pages: the organization's overview, a campaign's dashboard (funnel, cohorts,
daily activity, engagement), server-rendered chart images, and plotly.js itself."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from decimal import Decimal
from pathlib import Path

import plotly
from flask import Blueprint, abort, render_template, request, send_file
from markupsafe import Markup
from plotly.offline import get_plotlyjs_version

from app import reports
from app.auth import current_org_id, public
from app.drip import analytics
from app.drip.analytics import AnalyticsQuery, BadParameter, parse_query, report_zone
from app.drip.scope import get_scoped
from app.extensions import db
from app.models import DripCampaign
from app.web.chart_download import image_response
from app.whatsapp import describe_code

bp = Blueprint("analytics", __name__)

PLOTLY_JS = Path(plotly.__file__).parent / "package_data" / "plotly.min.js"
PLOTLY_JS_VERSION = get_plotlyjs_version()
YEAR = 365 * 24 * 3600
DASHBOARD_PARAMETERS = ("granularity", "from", "to")
# The API's report type for each chart, for the "Download CSV" links.
CSV_TYPES = {
    "funnel": "funnel",
    "cohorts": "cohort",
    "timeseries": "timeseries",
    "engagement": "engagement",
}


@bp.context_processor
def _formatters() -> dict:
    return {
        "count": reports.count,
        "rate": reports.rate,
        "duration": duration,
        "money": money,
        "code_words": code_words,
        "share": share,
    }


def share(fraction: float | None, signed: bool = False) -> str:
    """A fraction 0-1 of the lift panel as a percentage: 12.3%, +4.5% when signed; "—"."""
    if fraction is None:
        return "—"
    if signed and fraction > analytics.LIFT_SHOWN_MAX:
        return f"over {analytics.LIFT_SHOWN_MAX * 100:+,.0f}%"  # a tiny sample, not a finding
    return f"{fraction * 100:{'+' if signed else ''},.1f}%"


# The rollups file a failure under its number, -1 for the stale rule, 0 for anything else:
# no code at all, or one that is not a number (app.drip.analytics.activity.failures_by_code).
UNFILED_CODE_WORDS = "No error code, or a code that is not a number"


def code_words(code: str) -> str:
    """A failedByCode key in words, for the failures table."""
    return UNFILED_CODE_WORDS if code == "unknown" else describe_code(code)


def money(amount, currency: str | None) -> str:
    """A cost for a tile: "USD 12.34" (4 decimals under 1), "—" when nothing is priced yet."""
    if amount is None or currency is None:
        return "—"
    value = Decimal(str(amount))
    places = 2 if abs(value) >= 1 or value == 0 else 4
    return f"{currency} {value:,.{places}f}"


def duration(seconds: float | None) -> str:
    """A delay in words short enough for a tile: 45 s, 12 min, 3.5 h, 2.1 days."""
    if seconds is None:
        return "—"
    if seconds < 90:
        return f"{seconds:,.0f} s"
    if seconds < 90 * 60:
        return f"{seconds / 60:,.0f} min"
    if seconds < 36 * 3600:
        return f"{seconds / 3600:,.1f} h"
    return f"{seconds / 86400:,.1f} days"


@bp.get("/analytics")
def overview():
    rows = analytics.overview(db.session, current_org_id())
    for row in rows:
        row["points"] = reports.sparkline_points([day["sent"] for day in row["sparkline"]])
    zone = rows[0]["timezone"] if rows else None
    return render_template("analytics/overview.html", rows=rows, zone=zone)


@bp.get("/campaigns/<int:campaign_id>/analytics")
def dashboard(campaign_id: int):
    # The reports share their reads of the campaign, its clock, steps and totals.
    with analytics.reads_shared(db.session):
        return _dashboard(campaign_id)


def _dashboard(campaign_id: int):
    campaign = analytics.campaign(db.session, current_org_id(), campaign_id)
    zone = report_zone(db.session, campaign)
    query, problems = dashboard_query(request.args, datetime.now(zone).date())
    results = {"funnel": analytics.funnel(db.session, current_org_id(), campaign.id)}
    if results["funnel"]["totalEnrolled"]:
        for name in ("engagement", "cohorts", "timeseries"):
            results[name] = _report(name, campaign, query)
    figures = {name: _embed(reports.CHARTS[name](data)) for name, data in results.items()}
    # Not a chart: the panel's numbers (the holdout is not enrolled, so it may stand alone).
    results["lift"] = analytics.lift(db.session, current_org_id(), campaign.id)
    params = {"granularity": query.granularity, "from": query.start, "to": query.end}
    return render_template(
        "analytics/dashboard.html",
        campaign=campaign,
        reports=results,
        figures=figures,
        query=query,
        params=params,
        problems=problems,
        zone=zone.key,
        generated=datetime.now(zone),
        csv_types=CSV_TYPES,
    )


@bp.get("/campaigns/<int:campaign_id>/charts/<name>.<fmt>")
def chart_image(campaign_id: int, name: str, fmt: str):
    campaign = _campaign(campaign_id)
    if name not in reports.CHARTS or fmt not in reports.FORMATS:
        abort(404)
    zone = report_zone(db.session, campaign)
    query, _ = dashboard_query(request.args, datetime.now(zone).date())
    figure = reports.CHARTS[name](_report(name, campaign, query))
    return image_response(figure, fmt, f"campaign-{campaign.id}-{name}.{fmt}")


@bp.get(f"/assets/plotly-{PLOTLY_JS_VERSION}.min.js")
@public
def plotly_js():
    # The file name carries the version, so browsers may keep it for a year.
    response = send_file(PLOTLY_JS, mimetype="text/javascript", max_age=YEAR)
    response.cache_control.immutable = True
    return response


def dashboard_query(args: Mapping[str, str], today) -> tuple[AnalyticsQuery, list[str]]:
    """The dashboard's range and granularity; a bad parameter is reported and reset to its
    default, keeping the good ones."""
    values = {name: args.get(name, "") for name in DASHBOARD_PARAMETERS}
    problems: list[str] = []
    for _ in DASHBOARD_PARAMETERS:
        try:
            return parse_query({**values, "type": "timeseries"}, today), problems
        except BadParameter as exc:
            problems.append(exc.message)
            # A range error names "from" but is about both ends.
            reset = ("from", "to") if exc.parameter in ("from", "to") else (exc.parameter,)
            values.update(dict.fromkeys(reset, ""))
    return parse_query({"type": "timeseries"}, today), problems


def _campaign(campaign_id: int) -> DripCampaign:
    return get_scoped(db.session, DripCampaign, current_org_id(), campaign_id)


def _report(name: str, campaign: DripCampaign, query: AnalyticsQuery) -> dict:
    org_id, session = current_org_id(), db.session
    if name == "funnel":
        return analytics.funnel(session, org_id, campaign.id)
    if name == "engagement":
        return analytics.engagement(session, org_id, campaign.id)
    if name == "cohorts":
        # The same range as the daily chart: bounded rows even by day.
        return analytics.cohorts(
            session, org_id, campaign.id, query.granularity, query.start, query.end
        )
    return analytics.timeseries(session, org_id, campaign.id, query.start, query.end)


def _embed(figure: dict) -> Markup:
    # embed_json escapes <, >, / and & so user text cannot close the <script> element.
    return Markup(reports.embed_json(figure))
