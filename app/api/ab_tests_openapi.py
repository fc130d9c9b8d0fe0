"""OpenAPI paths of the A/B test API (app/api/ab_tests.py) and their inputs; the answers' shapes
are app/api/ab_results_openapi.py's."""

from __future__ import annotations

from app.api.ab_results_openapi import ALLOCATION, METRIC, TEST, VARIANT
from app.api.openapi import (
    CAMPAIGN_ID,
    MESSAGE_TEXT,
    PAGING_PARAMETERS,
    data_response,
    list_response,
    operation,
    path_id,
    trimmed_text,
)
from app.drip import limits
from app.drip.ab import ACTIONS

TEST_ID = path_id("testId")
VARIANT_ID = path_id("variantId")

SETTINGS = {
    "plannedSampleSize": {
        "type": "integer",
        "minimum": 1,
        "maximum": 10_000_000,
        "description": "sends per variant the always-valid test is tuned for (default: the "
        "larger of minSampleSize and 1,000); set before the test starts",
    },
    "maxDurationDays": {
        "type": "integer",
        "minimum": 1,
        "maximum": 366,
        "description": "days after its start when a running test without a winner ends "
        '"no difference found" (decidedBy max_duration); default: no maximum',
    },
}
TEST_INPUT = {
    "type": "object",
    "required": ["name", "stepId"],
    "properties": {
        "name": trimmed_text(limits.NAME_MAX),
        "stepId": {"type": "integer", "description": "a text step of this campaign"},
        "winningMetric": {**METRIC, "default": "read_rate"},
        "confidenceThreshold": {"type": "number", "minimum": 0.5, "maximum": 0.999},
        "minSampleSize": {"type": "integer", "minimum": 1, "default": 100},
        "outcomeWindowHours": {"type": "integer", "minimum": 1, "maximum": 720, "default": 72},
        "controlAllocation": {**ALLOCATION, "default": 50},
        **SETTINGS,
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
    "description": "An action, or (without one) the settings plannedSampleSize and "
    "maxDurationDays.",
    "properties": {
        **SETTINGS,
        "action": {"type": "string", "enum": list(ACTIONS)},
        "winnerId": {"type": "integer", "description": "declare_winner: a variant of this test"},
        "allocations": {
            "type": "array",
            "description": "reallocate: new shares, adding up to 100 on a started test (a new "
            f"analysis phase starts); one per variant (a test has at most "
            f"{limits.VARIANTS_PER_TEST_MAX})",
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
        "name": trimmed_text(limits.NAME_MAX),
        "messageContent": MESSAGE_TEXT,
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


OPENAPI = {
    "/api/drip-campaigns/{id}/ab-tests": {
        "get": operation(
            "List a campaign's A/B tests with their statistics, newest first",
            list_response(TEST),
            401,
            404,
            422,
            parameters=[CAMPAIGN_ID, *PAGING_PARAMETERS],
        ),
        "post": operation(
            "Create a draft A/B test of a text step, with its control variant",
            data_response(TEST, 201),
            400,
            401,
            404,
            409,
            422,
            parameters=[CAMPAIGN_ID],
            body=TEST_INPUT,
            description="The control is the step's current message at controlAllocation "
            "percent (default 50). A template step answers 422.",
        ),
    },
    "/api/drip-campaigns/{id}/ab-tests/{testId}": {
        "get": operation(
            "One A/B test with its statistics",
            data_response(TEST),
            401,
            404,
            parameters=[CAMPAIGN_ID, TEST_ID],
        ),
        "patch": operation(
            "Start (or resume), pause, declare a winner, or reallocate traffic",
            data_response(TEST),
            400,
            401,
            404,
            409,
            422,
            parameters=[CAMPAIGN_ID, TEST_ID],
            body=ACTION_INPUT,
            description="start needs allocations adding up to exactly 100 (422) and no other "
            "running or paused test of the step (409). declare_winner completes the test and "
            "makes the winner's text the step's message.",
        ),
        "delete": operation(
            "Delete an A/B test that is not running (409 while it runs)",
            data_response(DELETED),
            401,
            404,
            409,
            parameters=[CAMPAIGN_ID, TEST_ID],
        ),
    },
    "/api/drip-campaigns/{id}/ab-tests/{testId}/variants": {
        "get": operation(
            "The test's variants with their counts",
            data_response({"type": "array", "items": VARIANT}),
            401,
            404,
            parameters=[CAMPAIGN_ID, TEST_ID],
        ),
        "post": operation(
            "Add a variant to a draft test",
            data_response(VARIANT, 201),
            400,
            401,
            404,
            409,
            422,
            parameters=[CAMPAIGN_ID, TEST_ID],
            body=VARIANT_INPUT,
            description="Allocations never add up to more than 100: a larger one answers 422 "
            f"naming the share left. A test has at most {limits.VARIANTS_PER_TEST_MAX} variants, "
            "the control included: one more answers 422.",
        ),
    },
    "/api/drip-campaigns/{id}/ab-tests/{testId}/variants/{variantId}": {
        "patch": operation(
            "Change a draft test's variant",
            data_response(VARIANT),
            400,
            401,
            404,
            409,
            422,
            parameters=[CAMPAIGN_ID, TEST_ID, VARIANT_ID],
            body=VARIANT_INPUT,
        ),
        "delete": operation(
            "Remove a draft test's variant (never the control)",
            data_response(DELETED),
            401,
            404,
            409,
            parameters=[CAMPAIGN_ID, TEST_ID, VARIANT_ID],
        ),
    },
}
