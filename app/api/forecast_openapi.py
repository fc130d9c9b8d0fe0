"""OpenAPI path of the campaign forecast (GET /api/drip-campaigns/{id}/forecast), joined to
the campaign API's paths by app/api/campaigns_openapi.py."""

from __future__ import annotations

from app.api.openapi import (
    CAMPAIGN_ID,
    NULLABLE_INTEGER,
    NULLABLE_STRING,
    data_response,
    operation,
)
from app.drip import limits

FORECAST_STEP = {
    "type": "object",
    "properties": {
        "stepId": {"type": "integer"},
        "position": {"type": "integer"},
        "messageType": {"type": "string", "enum": ["text", "template"]},
        "category": {
            **NULLABLE_STRING,
            "description": "a template step's catalog category (null: not in the catalog); "
            "SERVICE for a text step (free text inside the window)",
        },
        "fallbackCategory": {
            **NULLABLE_STRING,
            "description": "a text step's fallback template's category, sent outside the window",
        },
        "messages": {"type": "integer", "description": "messages sent (stopped ones not)"},
        "insideWindow": {"type": "integer"},
        "outsideWindow": {"type": "integer"},
        "stopped": {
            "type": "integer",
            "description": "free text outside the window without a fallback: not sent",
        },
        "billable": {"type": "integer"},
        "cost": {"type": "number"},
        "unpriced": {
            "type": "integer",
            "description": "billable messages the rate card has no price for (not in cost)",
        },
    },
}
FORECAST = {
    "type": "object",
    "description": "an estimate and an upper bound: everyone is assumed to reach every step "
    "(only the stop a closed window forces ends a contact's way); send times are the next send "
    "(or now plus the first step's delay) plus the delays, the send window not counted",
    "properties": {
        "audience": {"type": "integer"},
        "newEnrollment": {"type": "boolean"},
        "upperBound": {"type": "boolean"},
        "steps": {"type": "array", "items": FORECAST_STEP},
        "messages": {"type": "integer"},
        "billable": {"type": "integer"},
        "totalCost": {"type": "number"},
        "currency": NULLABLE_STRING,
        "rateCardDate": {"type": "string", "format": "date", "nullable": True},
        "rateCardSource": {"type": "string", "enum": ["organization", "default"]},
        "rateCardSample": {"type": "boolean"},
        "messagingLimit": {
            **NULLABLE_INTEGER,
            "description": "unique people reached outside their window per moving 24 hours; "
            "null: unlimited or not known",
        },
        "firstStepOutsideWindow": {"type": "integer"},
        "daysForFirstStep": {
            **NULLABLE_INTEGER,
            "description": "ceil(firstStepOutsideWindow / messagingLimit), at least 1 when "
            "anything is sent, 0 when nothing is; null without a limit",
        },
    },
}
FORECAST_PATHS = {
    "/api/drip-campaigns/{id}/forecast": {
        "get": operation(
            "Forecast messages, billable messages and cost before sending",
            data_response(FORECAST),
            401,
            404,
            422,
            parameters=[
                CAMPAIGN_ID,
                {
                    "name": "tag",
                    "in": "query",
                    "description": "forecast enrolling everyone with this tag now",
                    "schema": {"type": "string", "maxLength": limits.TAG_MAX},
                },
                {
                    "name": "contactIds",
                    "in": "query",
                    "description": "forecast enrolling these contacts now (not with tag)",
                    "style": "form",
                    "explode": False,
                    "schema": {
                        "type": "array",
                        "items": {"type": "integer"},
                        "minItems": 1,
                        "maxItems": limits.ENROLL_IDS_MAX,
                    },
                },
            ],
            description="Without tag or contactIds: the campaign's live (active and paused) "
            "enrollments, each from its current step. With one: the contacts an enrollment would "
            "add now (opted-out contacts and those already in the campaign left out), from the "
            "first step. Per step: messages, how many inside or outside the contact's 24-hour "
            "window at the estimated send time, how many Meta bills (marketing and authentication "
            "always, utility outside the window, service never) and their cost by the contact's "
            "market on the organization's rate card.",
        )
    }
}
