"""JSON API: a campaign's analytics (funnel, cohorts, time series, engagement), as JSON or
CSV."""

from __future__ import annotations

from datetime import datetime

from flask import Blueprint, Response, request

from app.api.openapi import CAMPAIGN_ID, data_response, error_responses
from app.api.respond import ok
from app.auth import current_org_id
from app.drip import analytics
from app.drip.analytics import GRANULARITIES, TYPES, parse_query, report_zone
from app.drip.scope import get_scoped
from app.extensions import db
from app.models import DripCampaign
from app.reports import analytics_to_csv

bp = Blueprint("api_analytics", __name__, url_prefix="/api/drip-campaigns")


@bp.get("/<int:id>/analytics")
def campaign_analytics(id: int):
    campaign = get_scoped(db.session, DripCampaign, current_org_id(), id)
    today = datetime.now(report_zone(db.session, campaign)).date()
    query = parse_query(request.args, today)
    data = analytics.report(db.session, current_org_id(), campaign.id, query)
    if query.format == "csv":
        return Response(
            analytics_to_csv(query.type, data),
            mimetype="text/csv",
            headers={
                "Content-Disposition": f'attachment; filename="campaign-{id}-{query.type}.csv"'
            },
        )
    return ok(data)


def _query(name: str, schema: dict, description: str) -> dict:
    # An empty value is the default, as if the parameter were not given (parse_query).
    return {
        "name": name,
        "in": "query",
        "allowEmptyValue": True,
        "schema": schema,
        "description": description,
    }


def _json_or_csv(responses: dict) -> dict:
    """format=csv answers the same report as a CSV download."""
    responses["200"]["content"]["text/csv"] = {"schema": {"type": "string"}}
    return responses


DATE = {"type": "string", "format": "date"}
RANGE = {"type": "string", "pattern": r"^\d{4}-\d{2}-\d{2}(\.\.\d{4}-\d{2}-\d{2})?$"}
OPENAPI = {
    "/api/drip-campaigns/{id}/analytics": {
        "get": {
            "summary": "A campaign's funnel, cohorts, daily time series or engagement",
            "parameters": [
                CAMPAIGN_ID,
                _query("type", {"type": "string", "enum": list(TYPES)}, "Report (funnel)."),
                _query(
                    "granularity",
                    {"type": "string", "enum": list(GRANULARITIES)},
                    "Cohort size (week).",
                ),
                _query("from", DATE, "First day, campaign clock (time series: 30 days ago)."),
                _query("to", DATE, "Last day, inclusive (time series: today); at most 366 days."),
                _query("a", RANGE, "Cohort comparison: first range YYYY-MM-DD..YYYY-MM-DD."),
                _query("b", RANGE, "Cohort comparison: second range."),
                _query("format", {"type": "string", "enum": ["json", "csv"]}, "json or csv."),
            ],
            "responses": {
                **_json_or_csv(data_response({"type": "object"})),
                **error_responses(400, 401, 404),
            },
        }
    }
}
