"""OpenAPI shapes of the A/B test API's answers: a test with its variants, statistics and
decision (app/api/ab_tests_openapi.py has the inputs and paths)."""

from __future__ import annotations

from app.api.openapi import (
    NULLABLE_INTEGER,
    NULLABLE_STRING,
    NULLABLE_UTC_DATETIME,
)
from app.models.ab_tests import TEST_STATUSES, WINNING_METRICS

NUMBER = {"type": "number"}
NULLABLE_NUMBER = {"type": "number", "nullable": True}
NULLABLE_PERCENT = {
    **NULLABLE_NUMBER,
    "description": "percent 0-100, unrounded; null without sends",
}
METRIC = {"type": "string", "enum": list(WINNING_METRICS)}
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
        "rate": NULLABLE_PERCENT,
        "ciLow": {**NULLABLE_PERCENT, "description": "Wilson interval, percent"},
        "ciHigh": NULLABLE_PERCENT,
    },
}
NO_SENDS = "; null when the variant or the control has no sends (see note)"
COMPARISON = {
    "type": "object",
    "description": "A variant against the control. When either has no sends there is nothing "
    'to compare: every number and significant are null and note is "no sends yet".',
    "properties": {
        "variantId": {"type": "integer"},
        "controlId": {"type": "integer"},
        "lift": {
            **NULLABLE_NUMBER,
            "description": "relative lift over the control, percent; also null when the "
            "control's rate is 0",
        },
        "absoluteLift": {**NULLABLE_NUMBER, "description": "percentage points" + NO_SENDS},
        "zScore": NULLABLE_NUMBER,
        "pValue": {**NULLABLE_NUMBER, "description": "two-proportion z-test" + NO_SENDS},
        "adjustedPValue": {**NULLABLE_NUMBER, "description": "Holm across the comparisons"},
        "sequentialPValue": {**NULLABLE_NUMBER, "description": "always-valid (mixture SPRT)"},
        "adjustedSequentialPValue": NULLABLE_NUMBER,
        "significant": {
            "type": "boolean",
            "nullable": True,
            "description": "null when an arm has no sends",
        },
        "liftLow": {
            **NULLABLE_NUMBER,
            "description": "always-valid confidence interval of the lift (percent), at the "
            "test's confidence and tuning (plannedN); null where no lift is claimed (no sends, "
            "or a control at 0%)",
        },
        "liftHigh": NULLABLE_NUMBER,
        "differenceLow": {
            **NULLABLE_NUMBER,
            "description": "the same interval on the difference, percentage points",
        },
        "differenceHigh": NULLABLE_NUMBER,
        "runningMinimumPValue": {
            **NULLABLE_NUMBER,
            "description": "statistics.sequential only: the smallest sequential p of the "
            "current phase over the auto-winner's looks and now (the always-valid p proper); "
            "each phase starts a fresh error budget",
        },
        "adjustedRunningMinimumPValue": NULLABLE_NUMBER,
        "note": {**NULLABLE_STRING, "description": '"no sends yet", or null'},
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
        "winnerId": NULLABLE_INTEGER,
    },
}
NULLABLE_COUNT = {"type": "integer", "nullable": True}
TEST_DECISION = {
    "type": "object",
    "description": "The auto-winner's decision and, while the test runs or is paused, when it "
    "can decide: the sends it needs per variant (every variant needs minSampleSize sends past "
    "the outcome window; once that is met without a significant difference, the planned size "
    "the sequential test is tuned for), the step's recent pace and the campaign's remaining "
    "audience (active enrollments not yet past the step). The outlook fields are null for "
    "draft and completed tests.",
    "properties": {
        **DECISION["properties"],
        "sendsNeeded": {
            **NULLABLE_COUNT,
            "description": "more sends per variant (the variant furthest behind); 0 when no "
            "more are needed or none would help",
        },
        "sendsSoFar": {**NULLABLE_COUNT, "description": "sends of the variant furthest behind"},
        "sendsTarget": {**NULLABLE_COUNT, "description": "sends per variant aimed at"},
        "sendsPerDay": {
            **NULLABLE_NUMBER,
            "description": "the step's sends a day over the last 7 days (or since its first "
            "send in them, at least a day)",
        },
        "expectedAt": {
            **NULLABLE_UTC_DATETIME,
            "description": "when the decision is likely at that pace, the outcome window "
            "included; null when no date can be given",
        },
        "reachable": {
            "type": "boolean",
            "nullable": True,
            "description": "false when the step can never get there: fewer contacts left to "
            "reach it than the sends needed, or no sends in 7 days and the campaign not active",
        },
        "note": {
            **NULLABLE_STRING,
            "description": "all of the above in words, dates on the organization's clock",
        },
    },
}
HEADLINE = {
    "type": "object",
    "nullable": True,
    "description": "The variant the verdict sentence quotes and its lift: the same value as "
    "its entry in statistics.comparisons (every send of the phase). null when the sentence "
    "quotes no lift.",
    "properties": {
        "variantId": {"type": "integer"},
        "controlId": {"type": "integer"},
        "lift": {**NULLABLE_NUMBER, "description": "percent"},
    },
}
STATISTICS = {
    "type": "object",
    "description": "Shown figures count every send of the current phase; the sequential "
    "decision counts sends past the outcome window only.",
    "properties": {
        "metric": METRIC,
        "phase": {"type": "integer"},
        "phaseStartedAt": NULLABLE_UTC_DATETIME,
        "confidence": NUMBER,
        "comparisons": {"type": "array", "items": COMPARISON},
        "srm": {
            "type": "object",
            "properties": {
                "statistic": NULLABLE_NUMBER,
                "pValue": NUMBER,
                "mismatch": {"type": "boolean"},
                "warning": NULLABLE_STRING,
            },
        },
        "sequential": {
            "type": "object",
            "properties": {
                "plannedN": {"type": "integer"},
                "outcomeWindowHours": {"type": "integer"},
                "maturedBefore": NULLABLE_UTC_DATETIME,
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
        "winningMetric": METRIC,
        "confidenceThreshold": NUMBER,
        "minSampleSize": {"type": "integer"},
        "outcomeWindowHours": {"type": "integer"},
        "plannedSampleSize": NULLABLE_INTEGER,
        "maxDurationDays": NULLABLE_INTEGER,
        "winnerId": NULLABLE_INTEGER,
        "phase": {"type": "integer"},
        "phaseStartedAt": NULLABLE_UTC_DATETIME,
        "createdAt": NULLABLE_UTC_DATETIME,
        "startedAt": NULLABLE_UTC_DATETIME,
        "endedAt": NULLABLE_UTC_DATETIME,
        "decidedBy": {
            **NULLABLE_STRING,
            "description": "auto, manual, or max_duration (ended with no difference found)",
        },
        "decision": TEST_DECISION,
        "verdict": {"type": "string"},
        "headline": HEADLINE,
        "variants": {"type": "array", "items": VARIANT},
        "statistics": STATISTICS,
        "decisionSnapshot": {"type": "object", "nullable": True},
    },
}
