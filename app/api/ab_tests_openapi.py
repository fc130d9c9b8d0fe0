"""OpenAPI paths of the A/B test API (app/api/ab_tests.py)."""

from __future__ import annotations

from app.api.campaigns_openapi import ID
from app.api.openapi import (
    PAGING_PARAMETERS,
    data_response,
    error_responses,
    list_response,
    path_id,
    request_body,
    trimmed_text,
)
from app.drip.ab_lifecycle import ACTIONS
from app.models.ab_tests import TEST_STATUSES, WINNING_METRICS

TEST_ID = path_id("testId")
VARIANT_ID = path_id("variantId")
NUMBER = {"type": "number"}
NULLABLE_NUMBER = {"type": "number", "nullable": True}
PERCENT = {"type": "number", "description": "percent 0-100, unrounded; null without sends"}
TIME = {"type": "string", "format": "date-time", "nullable": True, "description": "UTC"}
ALLOCATION = {
    "type": "number",
    "minimum": 0.01,
    "maximum": 100,
    "description": "percent of the step's contacts, two decimals at most",
}

VARIANT = {
    "type": "object",
    "properties": {
        "id": {"type": "integer"},
        "name": {"type": "string"},
        "isControl": {"type": "boolean"},
        "messageContent": {"type": "string"},
        "trafficAllocation": NUMBER,
        **{
            key: {"type": "integer", "description": "current phase"}
            for key in ("assigned", "sent", "delivered", "read", "replied", "clicked")
        },
        "successes": {"type": "integer", "description": "sends with the winning metric's event"},
        "rate": {**PERCENT, "nullable": True},
        "ciLow": {**PERCENT, "nullable": True, "description": "Wilson interval, percent"},
        "ciHigh": {**PERCENT, "nullable": True},
    },
}
COMPARISON = {
    "type": "object",
    "properties": {
        "variantId": {"type": "integer"},
        "controlId": {"type": "integer"},
        "lift": {**NULLABLE_NUMBER, "description": "relative lift over the control, percent"},
        "absoluteLift": {**NULLABLE_NUMBER, "description": "percentage points"},
        "zScore": NULLABLE_NUMBER,
        "pValue": NUMBER,
        "adjustedPValue": {**NUMBER, "description": "Holm across the comparisons"},
        "sequentialPValue": {**NUMBER, "description": "always-valid (mixture SPRT)"},
        "adjustedSequentialPValue": NUMBER,
        "significant": {"type": "boolean"},
    },
}
DECISION = {
    "type": "object",
    "properties": {
        "code": {
            "type": "string",
            "description": "winner, waiting, srm, no_difference, too_few_variants, or manual",
        },
        "reason": {"type": "string"},
        "winnerId": {"type": "integer", "nullable": True},
    },
}
STATISTICS = {
    "type": "object",
    "description": "Shown figures count every send of the current phase; the sequential "
    "decision counts sends past the outcome window only.",
    "properties": {
        "metric": {"type": "string", "enum": list(WINNING_METRICS)},
        "phase": {"type": "integer"},
        "phaseStartedAt": TIME,
        "confidence": NUMBER,
        "comparisons": {"type": "array", "items": COMPARISON},
        "srm": {
            "type": "object",
            "properties": {
                "statistic": NULLABLE_NUMBER,
                "pValue": NUMBER,
                "mismatch": {"type": "boolean"},
                "warning": {"type": "string", "nullable": True},
            },
        },
        "sequential": {
            "type": "object",
            "properties": {
                "plannedN": {"type": "integer"},
                "outcomeWindowHours": {"type": "integer"},
                "maturedBefore": TIME,
                "variants": {"type": "array", "items": {"type": "object"}},
                "comparisons": {"type": "array", "items": COMPARISON},
                "decision": DECISION,
            },
        },
        "canDeclareWinner": {"type": "boolean"},
    },
}
TEST = {
    "type": "object",
    "properties": {
        "id": {"type": "integer"},
        "campaignId": {"type": "integer"},
        "stepId": {"type": "integer"},
        "name": {"type": "string"},
        "status": {"type": "string", "enum": list(TEST_STATUSES)},
        "winningMetric": {"type": "string", "enum": list(WINNING_METRICS)},
        "confidenceThreshold": NUMBER,
        "minSampleSize": {"type": "integer"},
        "outcomeWindowHours": {"type": "integer"},
        "winnerId": {"type": "integer", "nullable": True},
        "phase": {"type": "integer"},
        "phaseStartedAt": TIME,
        "createdAt": TIME,
        "startedAt": TIME,
        "endedAt": TIME,
        "decidedBy": {"type": "string", "nullable": True, "description": "auto or manual"},
        "decision": DECISION,
        "verdict": {"type": "string"},
        "variants": {"type": "array", "items": VARIANT},
        "statistics": STATISTICS,
        "decisionSnapshot": {"type": "object", "nullable": True},
    },
}
TEST_INPUT = {
    "type": "object",
    "required": ["name", "stepId"],
    "properties": {
        "name": trimmed_text(200),
        "stepId": {"type": "integer", "description": "a text step of this campaign"},
        "winningMetric": {"type": "string", "enum": list(WINNING_METRICS), "default": "read_rate"},
        "confidenceThreshold": {"type": "number", "minimum": 0.5, "maximum": 0.999},
        "minSampleSize": {"type": "integer", "minimum": 1, "default": 100},
        "outcomeWindowHours": {"type": "integer", "minimum": 0, "maximum": 720, "default": 72},
        "controlAllocation": {**ALLOCATION, "default": 50},
    },
    "example": {
        "name": "Greeting test",
        "stepId": 1,
        "winningMetric": "reply_rate",
        "confidenceThreshold": 0.95,
        "minSampleSize": 100,
        "controlAllocation": 50,
    },
}
ACTION_INPUT = {
    "type": "object",
    "required": ["action"],
    "properties": {
        "action": {"type": "string", "enum": list(ACTIONS)},
        "winnerId": {"type": "integer", "description": "declare_winner: a variant of this test"},
        "allocations": {
            "type": "array",
            "description": "reallocate: new shares, adding up to 100 on a started test (a new "
            "analysis phase starts)",
            "items": {
                "type": "object",
                "properties": {"variantId": {"type": "integer"}, "trafficAllocation": ALLOCATION},
            },
        },
    },
    "example": {"action": "start"},
}
VARIANT_INPUT = {
    "type": "object",
    "properties": {
        "name": trimmed_text(200),
        "messageContent": {"type": "string", "maxLength": 4096},
        "trafficAllocation": {**ALLOCATION, "description": "default: the share left"},
    },
    "example": {
        "name": "Emoji",
        "messageContent": "Hey {{first_name}}! 👋",
        "trafficAllocation": 25,
    },
}
DELETED = {"type": "object", "properties": {"id": {"type": "integer"}, "deleted": {}}}


def null_is_not_given(body: dict) -> dict:
    """The body's optional fields also take null, read as not given (app/api/ab_tests.py
    fields_of): the default on create, unchanged on edit."""
    required = set(body.get("required", ()))
    properties = {
        name: schema if name in required else {**schema, "nullable": True}
        for name, schema in body["properties"].items()
    }
    return {**body, "properties": properties}


TEST_INPUT = null_is_not_given(TEST_INPUT)
ACTION_INPUT = null_is_not_given(ACTION_INPUT)
VARIANT_INPUT = null_is_not_given(VARIANT_INPUT)


def op(summary, responses, *statuses, parameters, body=None, description=None):
    operation = {
        "summary": summary,
        "parameters": parameters,
        "responses": {**responses, **error_responses(*statuses)},
    }
    if body is not None:
        operation["requestBody"] = request_body(body)
    if description:
        operation["description"] = description
    return operation


OPENAPI = {
    "/api/drip-campaigns/{id}/ab-tests": {
        "get": op(
            "List a campaign's A/B tests with their statistics, newest first",
            list_response(TEST),
            401,
            404,
            422,
            parameters=[ID, *PAGING_PARAMETERS],
        ),
        "post": op(
            "Create a draft A/B test of a text step, with its control variant",
            data_response(TEST, 201),
            400,
            401,
            404,
            409,
            422,
            parameters=[ID],
            body=TEST_INPUT,
            description="The control is the step's current message at controlAllocation "
            "percent (default 50). A template step answers 422.",
        ),
    },
    "/api/drip-campaigns/{id}/ab-tests/{testId}": {
        "get": op(
            "One A/B test with its statistics",
            data_response(TEST),
            401,
            404,
            parameters=[ID, TEST_ID],
        ),
        "patch": op(
            "Start (or resume), pause, declare a winner, or reallocate traffic",
            data_response(TEST),
            400,
            401,
            404,
            409,
            422,
            parameters=[ID, TEST_ID],
            body=ACTION_INPUT,
            description="start needs allocations adding up to exactly 100 (422) and no other "
            "running or paused test of the step (409). declare_winner completes the test and "
            "makes the winner's text the step's message.",
        ),
        "delete": op(
            "Delete an A/B test that is not running (409 while it runs)",
            data_response(DELETED),
            401,
            404,
            409,
            parameters=[ID, TEST_ID],
        ),
    },
    "/api/drip-campaigns/{id}/ab-tests/{testId}/variants": {
        "get": op(
            "The test's variants with their counts",
            data_response({"type": "array", "items": VARIANT}),
            401,
            404,
            parameters=[ID, TEST_ID],
        ),
        "post": op(
            "Add a variant to a draft test",
            data_response(VARIANT, 201),
            400,
            401,
            404,
            409,
            422,
            parameters=[ID, TEST_ID],
            body=VARIANT_INPUT,
            description="Allocations never add up to more than 100: a larger one answers 422 "
            "naming the share left.",
        ),
    },
    "/api/drip-campaigns/{id}/ab-tests/{testId}/variants/{variantId}": {
        "patch": op(
            "Change a draft test's variant",
            data_response(VARIANT),
            400,
            401,
            404,
            409,
            422,
            parameters=[ID, TEST_ID, VARIANT_ID],
            body=VARIANT_INPUT,
        ),
        "delete": op(
            "Remove a draft test's variant (never the control)",
            data_response(DELETED),
            401,
            404,
            409,
            parameters=[ID, TEST_ID, VARIANT_ID],
        ),
    },
}
