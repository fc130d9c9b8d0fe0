"""The OpenAPI shapes and paths of the enrollment API (app.api.enrollments)."""

from __future__ import annotations

from app.api.openapi import (
    CAMPAIGN_ID,
    NULLABLE_INTEGER,
    NULLABLE_STRING,
    NULLABLE_UTC_DATETIME,
    PAGING_PARAMETERS,
    UTC_DATETIME,
    data_response,
    error_responses,
    list_response,
    path_id,
    request_body,
)
from app.drip import enrollment, limits
from app.models.enrollments import ENROLLMENT_STATUSES

STATUS = {"type": "string", "enum": list(ENROLLMENT_STATUSES)}
ENROLLMENT = {
    "type": "object",
    "properties": {
        "id": {"type": "integer"},
        "contactId": {"type": "integer"},
        "status": STATUS,
        "currentStepId": {
            **NULLABLE_INTEGER,
            "description": "the step this enrollment waits for (the next one to send)",
        },
        "nextSendAt": {**NULLABLE_UTC_DATETIME, "description": "UTC; null when paused or finished"},
        "lastSentAt": {
            **NULLABLE_UTC_DATETIME,
            "description": "when the previous step went out, or when the branch that led to the "
            "current step was decided: the current step's delay counts from here",
        },
        "viaStepId": {
            **NULLABLE_INTEGER,
            "description": "the step the enrollment came from to its current step (null before "
            "the first); equal to currentStepId when that step's branch ended the journey",
        },
        "via": {
            "type": "string",
            "nullable": True,
            "enum": ["next", "timeout", *enrollment.EVENTS, None],
            "description": "how it came: next (in order), timeout (the branch's wait ran out), "
            "or the branch event that decided it (read, replied, clicked, goal)",
        },
        "enrolledAt": UTC_DATETIME,
        "pausedAt": NULLABLE_UTC_DATETIME,
        "waitReason": {
            **NULLABLE_STRING,
            "description": "why the step waits past its time: messaging_limit (the account's "
            "limit of people reached outside their window), frequency_cap (the organization's "
            "marketing cap per contact), marketing_cap (Meta's per-user cap, 131049) or branch "
            "(its step was sent and it waits for the branch's event or the end of its wait); "
            "null otherwise",
        },
        "completedAt": NULLABLE_UTC_DATETIME,
        "stoppedAt": NULLABLE_UTC_DATETIME,
        "stopReason": NULLABLE_STRING,
        "stopReasonText": {**NULLABLE_STRING, "description": "the stop reason in words"},
    },
}
ENROLLMENT_ROW = {
    "allOf": [
        ENROLLMENT,
        {
            "type": "object",
            "properties": {
                "waitingFor": {
                    "type": "string",
                    "nullable": True,
                    "description": "why the next message is not out yet (null when finished): "
                    "paused by hand, held_template (its template cannot be sent), "
                    "messaging_limit, frequency_cap, marketing_cap, retry (after an error), "
                    "due (goes out with the next pass), send_window (the campaign's sending "
                    "hours), step_delay (the step's own delay)",
                },
                "waitReasonText": {**NULLABLE_STRING, "description": "waitingFor in words"},
                "contactTimezone": {
                    **NULLABLE_STRING,
                    "description": "the contact's time zone (else the organization's)",
                },
                "nextSendAtContactTime": {
                    **NULLABLE_STRING,
                    "format": "date-time",
                    "description": "nextSendAt on the contact's clock, with its UTC offset",
                },
                "contactName": {"type": "string"},
                "contactPhone": {"type": "string"},
                "currentStepName": NULLABLE_STRING,
                "currentStepPosition": NULLABLE_INTEGER,
            },
        },
    ]
}
ENROLL_RESULT = {
    "type": "object",
    "properties": {
        "enrolled": {"type": "integer"},
        "heldOut": {
            "type": "integer",
            "description": "eligible contacts the holdout took: recorded, never messaged",
        },
        "skipped": {
            "type": "array",
            "items": {
                "type": "object",
                "properties": {
                    "contactId": {"type": "integer"},
                    "reason": {"type": "string", "enum": list(enrollment.SKIP_REASONS)},
                },
            },
        },
    },
}
ENROLL_BODY = {
    "type": "object",
    "description": "exactly one of contactIds, tag, search",
    "properties": {
        "contactIds": {
            "type": "array",
            "items": {"type": "integer"},
            "minItems": 1,
            "maxItems": limits.ENROLL_IDS_MAX,
            "description": f"at most {limits.ENROLL_IDS_MAX:,} ids at once: enroll a larger "
            "audience with a tag or a search",
        },
        "tag": {
            "type": "string",
            "maxLength": limits.TAG_MAX,
            "description": "everyone with this tag",
        },
        "search": {
            "type": "object",
            "description": "everyone matching the contact search (text, tag or both)",
            "properties": {
                "q": {"type": "string", "maxLength": limits.SEARCH_TEXT_MAX},
                "tag": {"type": "string", "maxLength": limits.TAG_MAX},
            },
        },
    },
    "example": {"contactIds": [1, 2]},
}
FILTER_PARAMETERS = [
    {
        "name": "q",
        "in": "query",
        "description": "part of the contact's name, or of their phone number",
        "allowEmptyValue": True,
        "schema": {"type": "string", "maxLength": limits.SEARCH_TEXT_MAX},
    },
    {
        "name": "step",
        "in": "query",
        "description": "a funnel drop-off: enrollments that did not complete whose furthest "
        "step is this one (0: before the first message); with reason, the funnel's "
        "dropOffReasons figure of that step, without it the sum of all its reasons",
        "allowEmptyValue": True,
        "schema": {"type": "integer", "minimum": 0},
    },
    {
        "name": "reason",
        "in": "query",
        "description": "a drop-off reason, as the funnel counts it",
        "allowEmptyValue": True,
        "schema": {"type": "string", "enum": list(enrollment.DROP_OFF_REASONS)},
    },
]
BULK_BODY = {
    "type": "object",
    "required": ["action"],
    "description": "exactly one of enrollmentIds and filter",
    "properties": {
        "action": {"type": "string", "enum": list(enrollment.ACTIONS)},
        "enrollmentIds": {
            "type": "array",
            "items": {"type": "integer"},
            "minItems": 1,
            "maxItems": limits.BULK_IDS_MAX,
            "description": f"at most {limits.BULK_IDS_MAX:,} ids: more go by a filter; ids "
            "that are not this campaign's are ignored (counted in notFound)",
        },
        "filter": {
            "type": "object",
            "description": "every enrollment matching the list's filters ({} : all of them)",
            "properties": {
                "status": STATUS,
                "q": {"type": "string", "maxLength": limits.SEARCH_TEXT_MAX},
                "step": {"type": "integer", "minimum": 0},
                "reason": {"type": "string", "enum": list(enrollment.DROP_OFF_REASONS)},
            },
        },
    },
    "example": {"action": "pause", "enrollmentIds": [1, 2]},
}
BULK_RESULT = {
    "type": "object",
    "properties": {
        "action": {"type": "string"},
        "matched": {"type": "integer", "description": "enrollments the ids or filter select"},
        "changed": {"type": "integer"},
        "skipped": {
            "type": "integer",
            "description": "matched but already in that state, or finished",
        },
        "notFound": {"type": "integer", "description": "ids that are not this campaign's"},
    },
}
ENROLLMENT_ID = path_id("enrollmentId")
OPENAPI = {
    "/api/drip-campaigns/{id}/enrollments": {
        "get": {
            "summary": "List a campaign's enrollments, newest first",
            "parameters": [
                CAMPAIGN_ID,
                {
                    "name": "status",
                    "in": "query",
                    "description": "only enrollments in this status (empty: all)",
                    "allowEmptyValue": True,
                    "schema": STATUS,
                },
                *FILTER_PARAMETERS,
                *PAGING_PARAMETERS,
            ],
            "responses": {**list_response(ENROLLMENT_ROW), **error_responses(401, 404, 422)},
        },
        "post": {
            "summary": "Enroll contacts: chosen ids, everyone with a tag, or a search",
            "description": "Contacts not enrolled are listed with a reason: not_found, "
            "opted_out, already_active, already_paused, already_completed (the campaign "
            "does not allow re-enrollment). An archived campaign answers 422.",
            "parameters": [CAMPAIGN_ID],
            "requestBody": request_body(ENROLL_BODY),
            "responses": {**data_response(ENROLL_RESULT), **error_responses(400, 401, 404, 422)},
        },
    },
    "/api/drip-campaigns/{id}/enrollments/{enrollmentId}": {
        "patch": {
            "summary": "Pause, resume or stop one enrollment",
            "description": "A paused enrollment keeps its step; on resume a step that became "
            "due meanwhile goes out in the next send window. 409 when the enrollment is "
            "finished.",
            "parameters": [CAMPAIGN_ID, ENROLLMENT_ID],
            "requestBody": request_body(
                {
                    "type": "object",
                    "required": ["action"],
                    "properties": {"action": {"type": "string", "enum": list(enrollment.ACTIONS)}},
                    "example": {"action": "pause"},
                }
            ),
            "responses": {
                **data_response(ENROLLMENT_ROW),
                **error_responses(400, 401, 404, 409, 422),
            },
        }
    },
    "/api/drip-campaigns/{id}/enrollments/bulk": {
        "post": {
            "summary": "Pause, resume or stop many enrollments: chosen ids or all matching",
            "description": "Enrollments already in that state, or finished, are skipped and "
            f"counted. At most {limits.BULK_IDS_MAX:,} ids; a filter has no limit (changed "
            "in batches). One audit event records the count.",
            "parameters": [CAMPAIGN_ID],
            "requestBody": request_body(BULK_BODY),
            "responses": {**data_response(BULK_RESULT), **error_responses(400, 401, 404, 422)},
        }
    },
}
