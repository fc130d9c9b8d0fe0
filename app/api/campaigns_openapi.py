"""OpenAPI paths of the campaign API (app/api/campaigns.py)."""

from __future__ import annotations

from app.api.forecast_openapi import FORECAST_PATHS
from app.api.openapi import (
    CAMPAIGN_ID,
    DATETIME,
    NULLABLE_INTEGER,
    NULLABLE_STRING,
    PAGING_PARAMETERS,
    data_response,
    list_response,
    operation,
    path_id,
    trimmed_text,
)
from app.api.steps_openapi import GRAPH, PREVIEW, PREVIEW_INPUT, STEP, STEP_INPUT
from app.drip import campaigns, enrollment, limits
from app.models.campaigns import CAMPAIGN_STATUSES

STEP_ID = path_id("stepId")
# A time of day, "HH:MM" on a 24-hour clock.
NULLABLE_CLOCK_TIME = {
    "type": "string",
    "pattern": "^([01][0-9]|2[0-3]):[0-5][0-9]$",
    "nullable": True,
}

WINDOW = {
    "type": "object",
    "properties": {
        "start": NULLABLE_CLOCK_TIME,
        "end": NULLABLE_CLOCK_TIME,
        "weekdays": {
            "type": "array",
            "items": {"type": "integer", "minimum": 1, "maximum": 7},
            "nullable": True,
            "description": "ISO weekdays, 1 = Monday; null: every day",
        },
        "timezone": {
            **NULLABLE_STRING,
            "description": "an IANA zone, or 'contact' (each contact's own zone; also null)",
        },
    },
}
TRIGGER = {
    "type": "object",
    "properties": {
        "type": {"type": "string", "enum": ["manual", "tag_added", "contact_created", "keyword"]},
        "value": NULLABLE_STRING,
    },
}
TRIGGER_INPUT = {
    **TRIGGER,
    "properties": {
        **TRIGGER["properties"],
        "value": trimmed_text(
            limits.KEYWORD_MAX,
            nullable=True,
            description=f"the keyword (at most {limits.KEYWORD_MAX} characters) or the tag (at "
            f"most {limits.TAG_MAX}), not counting spaces around it; ignored for the other types",
        ),
    },
}
GOAL = {
    "type": "object",
    "nullable": True,
    "description": "the campaign's goal: the first event of this name a contact does within "
    "withinDays of enrolling converts the enrollment (attributed to the last message sent "
    "before it); null removes the goal",
    "properties": {
        "event": {"type": "string", "minLength": 1, "maxLength": campaigns.GOAL_EVENT_MAX},
        "withinDays": {"type": "integer", "minimum": 1, "maximum": campaigns.GOAL_DAYS_MAX},
    },
}
GOAL_SETTINGS = {
    "goal": GOAL,
    "exitOnGoal": {
        "type": "boolean",
        "description": "end an enrollment that reaches the goal (stop reason 'converted')",
    },
    "holdoutPercent": {
        "type": "integer",
        "minimum": 0,
        "maximum": enrollment.HOLDOUT_MAX_PERCENT,
        "description": "this share of new enrollments, chosen by a sticky salted hash of the "
        "contact, is never messaged, to measure what the campaign adds; applies to new "
        "enrollments only",
    },
}
CAMPAIGN_INPUT = {
    "type": "object",
    "properties": {
        "name": trimmed_text(limits.NAME_MAX),
        "description": {**NULLABLE_STRING, "maxLength": limits.DESCRIPTION_MAX},
        "trigger": TRIGGER_INPUT,
        "stopOnReply": {"type": "boolean"},
        "allowReenrollment": {"type": "boolean"},
        "trackLinks": {"type": "boolean"},
        "frequencyCapExempt": {
            "type": "boolean",
            "description": "not held to the organization's frequency cap, nor counted in it",
        },
        "sendWindow": WINDOW,
        **GOAL_SETTINGS,
    },
    "example": {
        "name": "Welcome series",
        "description": "New sign-ups, first two weeks",
        "trigger": {"type": "tag_added", "value": "new-signup"},
        "stopOnReply": True,
        "sendWindow": {"start": "09:00", "end": "20:00", "weekdays": [1, 2, 3, 4, 5]},
    },
}
HOLD = {
    "type": "object",
    "description": "live enrollments waiting at a step whose template cannot be sent (paused, "
    "disabled, rejected, deleted at Meta, or 'not in the catalog'); sent when it is approved",
    "properties": {
        "template": NULLABLE_STRING,
        "language": NULLABLE_STRING,
        "status": {"type": "string"},
        "reason": NULLABLE_STRING,
        "contacts": {"type": "integer"},
        "since": DATETIME,
        "stepId": NULLABLE_INTEGER,
        "position": NULLABLE_INTEGER,
    },
}
WINDOW_REPORT = {
    "type": "object",
    "description": "an estimate, per step, of the live enrollments whose 24-hour window will "
    "be closed at that step's send time (last inbound message + 24 h before it; delays counted "
    "from next_send_at, the send window not counted), and how many a free-text step without a "
    "fallback template would stop (a stopped contact is counted at that step only)",
    "properties": {
        "estimate": {"type": "boolean"},
        "outsideWindow": {"type": "integer"},
        "wouldStop": {"type": "integer"},
        "steps": {
            "type": "array",
            "items": {
                "type": "object",
                "properties": {
                    "stepId": {"type": "integer"},
                    "position": {"type": "integer"},
                    "messageType": {"type": "string"},
                    "outsideWindow": {"type": "integer"},
                    "wouldStop": {"type": "integer"},
                    "hasFallback": {"type": "boolean"},
                },
            },
        },
    },
}
CAMPAIGN = {
    "type": "object",
    "properties": {
        "id": {"type": "integer"},
        "name": {"type": "string"},
        "status": {"type": "string", "enum": ["draft", "active", "paused", "archived"]},
        "trigger": TRIGGER,
        "stopOnReply": {"type": "boolean"},
        "allowReenrollment": {"type": "boolean"},
        "frequencyCapExempt": {"type": "boolean"},
        "sendWindow": WINDOW,
        "counters": {"type": "object", "additionalProperties": {"type": "integer"}},
        "steps": {"type": "array", "items": STEP},
        "holds": {"type": "array", "items": HOLD},
        "graph": GRAPH,
        **GOAL_SETTINGS,
        "holdoutNote": {
            **NULLABLE_STRING,
            "description": "with a holdout: it applies to new enrollments only",
        },
    },
}


OPENAPI = {
    "/api/drip-campaigns": {
        "get": operation(
            "List campaigns (?q=, ?status=), newest first",
            list_response(CAMPAIGN),
            401,
            422,
            parameters=[
                *PAGING_PARAMETERS,
                {
                    "name": "q",
                    "in": "query",
                    "description": "part of the name, any case (at most "
                    f"{limits.SEARCH_TEXT_MAX} characters)",
                    "schema": {"type": "string", "maxLength": limits.SEARCH_TEXT_MAX},
                },
                {
                    "name": "status",
                    "in": "query",
                    "description": "one of " + ", ".join(CAMPAIGN_STATUSES),
                    "schema": {"type": "string"},
                },
            ],
        ),
        "post": operation(
            "Create a draft campaign",
            data_response(CAMPAIGN, 201),
            400,
            401,
            422,
            body=CAMPAIGN_INPUT,
        ),
    },
    "/api/drip-campaigns/{id}": {
        "get": operation(
            "One campaign with its steps and counters",
            data_response(CAMPAIGN),
            401,
            404,
            parameters=[CAMPAIGN_ID],
        ),
        "patch": operation(
            "Change a campaign's settings",
            data_response(CAMPAIGN),
            400,
            401,
            404,
            409,
            422,
            body=CAMPAIGN_INPUT,
            parameters=[CAMPAIGN_ID],
        ),
        "delete": operation(
            "Delete a draft or archived campaign",
            data_response({"type": "object"}),
            401,
            404,
            409,
            parameters=[CAMPAIGN_ID],
        ),
    },
    "/api/drip-campaigns/{id}/duplicate": {
        "post": operation(
            "Duplicate a campaign as a draft",
            data_response(CAMPAIGN, 201),
            401,
            404,
            parameters=[CAMPAIGN_ID],
            description='A new draft named "Copy of <name>" with the campaign\'s settings and '
            "its live steps (their messages, templates and fallback templates). Enrollments, A/B "
            "tests, counters and the activity log are not copied.",
        )
    },
    "/api/drip-campaigns/{id}/status": {
        "post": operation(
            "Activate, pause, resume or archive",
            data_response(
                {
                    **CAMPAIGN,
                    "properties": {**CAMPAIGN["properties"], "windowReport": WINDOW_REPORT},
                }
            ),
            400,
            401,
            404,
            409,
            422,
            body={
                "type": "object",
                "required": ["action"],
                "properties": {
                    "action": {
                        "type": "string",
                        "enum": ["activate", "pause", "resume", "archive"],
                    },
                    "confirm": {
                        "type": "boolean",
                        "default": False,
                        "description": "activate or resume even though some enrolled contacts "
                        "would be stopped (see the description)",
                    },
                    "acceptWarnings": {
                        "type": "boolean",
                        "default": False,
                        "description": "activate or resume even though the journey has "
                        "warnings (graph.warnings: a step no path reaches, a branch the "
                        "settings keep from being taken)",
                    },
                },
                "example": {"action": "activate"},
            },
            parameters=[CAMPAIGN_ID],
            description="Activating or resuming answers windowReport (per step, the enrolled "
            "contacts outside their 24-hour window at the estimated send time). When a "
            "free-text step without a fallback template would stop some of them (wouldStop > "
            "0), nothing changes without confirm: true: the answer is a 409 with code "
            "confirmation_required and the report in error.details.windowReport. Those "
            "contacts are stopped at that step with stop reason outside_window. Before that, "
            "a journey with warnings (graph.warnings of the campaign) is not activated or "
            "resumed without acceptWarnings: true: the answer is a 409 with code "
            "warnings_need_confirmation and the sentences in error.details.warnings.",
        )
    },
    "/api/drip-campaigns/{id}/steps": {
        "get": operation(
            "The campaign's steps in order",
            data_response({"type": "array", "items": STEP}),
            401,
            404,
            parameters=[CAMPAIGN_ID],
        ),
        "post": operation(
            "Add a step (at the end, or at position)",
            data_response(STEP, 201),
            400,
            401,
            404,
            409,
            422,
            body=STEP_INPUT,
            parameters=[CAMPAIGN_ID],
        ),
    },
    "/api/drip-campaigns/{id}/steps/{stepId}": {
        "patch": operation(
            "Edit a step",
            data_response(STEP),
            400,
            401,
            404,
            409,
            422,
            body=STEP_INPUT,
            parameters=[CAMPAIGN_ID, STEP_ID],
        ),
        "delete": operation(
            "Delete a step (waiting enrollments move on)",
            data_response({"type": "object"}),
            401,
            404,
            409,
            parameters=[CAMPAIGN_ID, STEP_ID],
        ),
    },
    "/api/drip-campaigns/{id}/steps/reorder": {
        "post": operation(
            "Put the steps in a new order",
            data_response({"type": "array", "items": STEP}),
            400,
            401,
            404,
            409,
            422,
            body={
                "type": "object",
                "required": ["stepIds"],
                "properties": {"stepIds": {"type": "array", "items": {"type": "integer"}}},
                "example": {"stepIds": [3, 1, 2]},
            },
            parameters=[CAMPAIGN_ID],
        )
    },
    "/api/drip-campaigns/{id}/preview": {
        "post": operation(
            "Render a message for a contact (or a sample contact)",
            data_response(PREVIEW),
            400,
            401,
            404,
            422,
            body=PREVIEW_INPUT,
            parameters=[CAMPAIGN_ID],
        )
    },
}
# The forecast has a module of its own (its shape is long); its path joins the campaign API.
OPENAPI.update(FORECAST_PATHS)
