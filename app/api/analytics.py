"""JSON API: a campaign's analytics (funnel, cohorts, time series, engagement, the holdout
lift), as JSON or CSV."""

from __future__ import annotations

from datetime import datetime

from flask import Blueprint, Response, request

from app.api.openapi import CAMPAIGN_ID, data_response, error_responses
from app.api.respond import ok
from app.auth import current_org_id
from app.drip import analytics
from app.drip.analytics import GRANULARITIES, TYPES, UNRECORDED, parse_query, report_zone
from app.drip.enrollment import EVENTS as BRANCH_EVENTS
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


NUMBER = {"type": "number", "nullable": True}
GROUP = {
    "type": "object",
    "required": ["n", "conversions", "rate"],
    "properties": {
        "n": {"type": "integer", "description": "Enrollments (messaged) or holdout contacts."},
        "conversions": {"type": "integer", "description": "Those who reached the goal."},
        "rate": {**NUMBER, "description": "conversions / n, a fraction 0-1; null when n = 0."},
    },
}
LIFT = {
    "type": "object",
    "description": (
        "type=lift: goal conversion of the messaged against the holdout (contacts enrolled"
        " but never messaged). The intervals and pValue are always-valid (the A/B tests'"
        " sequential normal mixture): they may be read every day without inflating false"
        " claims. All are null while either group is empty."
    ),
    "required": ["messaged", "holdout", "lift", "ciLow", "ciHigh", "pValue", "sentence"],
    "properties": {
        "campaignId": {"type": "integer"},
        "goal": {
            "type": "object",
            "properties": {
                "event": {"type": "string", "nullable": True},
                "withinDays": {"type": "integer", "nullable": True},
            },
        },
        "holdoutPercent": {"type": "integer"},
        "messaged": GROUP,
        "holdout": GROUP,
        "confidence": {"type": "number", "description": "Of the intervals (0.95)."},
        "difference": {**NUMBER, "description": "messaged rate - holdout rate (fraction)."},
        "differenceLow": {**NUMBER, "description": "Always-valid interval of the difference."},
        "differenceHigh": NUMBER,
        "lift": {
            **NUMBER,
            "description": (
                "Relative lift, messaged rate / holdout rate - 1; null when the holdout has"
                " no conversions (no relative lift is claimed against a zero rate: read the"
                " difference)."
            ),
        },
        "ciLow": {**NUMBER, "description": "Always-valid interval of the lift (log scale)."},
        "ciHigh": NUMBER,
        "pValue": {**NUMBER, "description": "Always-valid (sequential) p of no difference."},
        "sentence": {"type": "string", "description": "The result in plain words."},
    },
}
PATH = {
    "type": "object",
    "required": ["fromStepId", "fromStepName", "via", "reached"],
    "properties": {
        "fromStepId": {
            "type": "integer",
            "nullable": True,
            "description": "The step the contacts came from; null for their first message.",
        },
        "fromStepName": {"type": "string", "nullable": True},
        "via": {
            "type": "string",
            "nullable": True,
            "enum": [None, "next", "timeout", *BRANCH_EVENTS, UNRECORDED],
            "description": (
                "How they came: null, enrolled (their first message, or a message claimed"
                " before paths were recorded); next, in order after fromStepId; timeout, the"
                " wait of fromStepId's branch ran out; read, replied, clicked, goal, that"
                f" event of fromStepId's branch; {UNRECORDED}, messages whose log retention"
                " purged (the counts outlive the logs, their paths do not)."
            ),
        },
        "reached": {"type": "integer", "description": "Messages attempted at the step."},
    },
}
FUNNEL = {
    "type": "object",
    "description": (
        "type=funnel. Each step's `paths` split its reachedCount (they add up to it) by the"
        " way its contacts arrived, most first. With branches, a step's conversionRate is over"
        " the contacts settled at the steps that lead to it (each less those it sent to a"
        " step in between), not only at the step before in order."
    ),
    "properties": {
        "steps": {
            "type": "array",
            "items": {
                "type": "object",
                "properties": {"paths": {"type": "array", "items": PATH}},
            },
        }
    },
}
REPORT = {
    "anyOf": [{"type": "object"}, FUNNEL, LIFT],
    "description": (
        "The report of `type`. funnel, engagement and timeseries carry the goal conversions of"
        " the messaged (not the holdout's): `conversions`, `conversionRate` (over enrolled,"
        " percent 0-100; funnel and engagement), `revenue` (sum of the conversions' values"
        " in `revenueCurrency`, the currency most of them carry; `revenueByCurrency` lists"
        " every currency when there are several). Each conversion is attributed to the step"
        " of the last message sent before it (funnel steps: `conversions`, `revenue`; a"
        " step's `conversionRate` remains the share reaching it); the series counts them by"
        " the day they occurred. The funnel's dropOffReasons gain `converted`."
    ),
}
DATE = {"type": "string", "format": "date"}
RANGE = {"type": "string", "pattern": r"^\d{4}-\d{2}-\d{2}(\.\.\d{4}-\d{2}-\d{2})?$"}
OPENAPI = {
    "/api/drip-campaigns/{id}/analytics": {
        "get": {
            "summary": (
                "A campaign's funnel, cohorts, daily time series, engagement or holdout lift"
            ),
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
                **_json_or_csv(data_response(REPORT)),
                **error_responses(400, 401, 404),
            },
        }
    }
}
