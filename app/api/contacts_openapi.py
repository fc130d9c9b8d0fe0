"""The OpenAPI paths of app/api/contacts.py."""

from __future__ import annotations

from app.api.openapi import (
    DATETIME,
    NULLABLE_DATETIME,
    NULLABLE_INTEGER,
    NULLABLE_STRING,
    PAGING_PARAMETERS,
    data_response,
    error_responses,
    list_response,
    path_id,
    request_body,
    trimmed_text,
)
from app.drip import limits
from app.drip.contacts import (
    HEADER_COLUMNS_MAX,
    HEADER_NAME_MAX,
    KNOWN_COLUMNS,
    MAPPING_TEXT_MAX,
    TIMELINE_KINDS,
    WHATSAPP_USER_ID_MAX,
)

ATTRIBUTES = {
    "type": "object",
    "description": "free-form name: value pairs (text, number, true/false or null)",
    "additionalProperties": {"nullable": True},
}
CONTACT = {
    "type": "object",
    "properties": {
        "id": {"type": "integer"},
        "phone": {
            **NULLABLE_STRING,
            "description": "E.164; null for a contact known only by its WhatsApp user id",
            "example": "+12025550143",
        },
        "whatsappUserId": {
            **NULLABLE_STRING,
            "description": "Meta's business-scoped user id (BSUID), e.g. "
            "US.13491208655302741918; sends to a contact without a phone go to it",
        },
        "firstName": NULLABLE_STRING,
        "lastName": NULLABLE_STRING,
        "timezone": {**NULLABLE_STRING, "description": "IANA name; null: the organization's"},
        "tags": {"type": "array", "items": {"type": "string"}},
        "attributes": ATTRIBUTES,
        "optedOutAt": NULLABLE_DATETIME,
        "optOutReason": NULLABLE_STRING,
        "createdAt": DATETIME,
        "updatedAt": DATETIME,
    },
}
CONTACT_INPUT_PROPERTIES = {
    "phone": {
        "type": "string",
        "nullable": True,
        "description": "any common format; without a country code it is read in the "
        "organization's default region. Stored as E.164. A contact needs a phone, a "
        "whatsappUserId, or both.",
    },
    "whatsappUserId": trimmed_text(
        WHATSAPP_USER_ID_MAX,
        nullable=True,
        description="Meta's business-scoped user id (BSUID): a two-letter country code, a "
        "dot, then letters and digits (US.13491208655302741918; a parent BSUID has ENT. "
        f"after the dot); at most {WHATSAPP_USER_ID_MAX} characters, not counting spaces "
        "around it",
    ),
    "firstName": trimmed_text(limits.CONTACT_NAME_MAX, nullable=True),
    "lastName": trimmed_text(limits.CONTACT_NAME_MAX, nullable=True),
    "timezone": {**NULLABLE_STRING, "description": "IANA name such as Europe/Paris"},
    "tags": {
        "type": "array",
        "items": trimmed_text(limits.TAG_MAX),
        "maxItems": limits.TAGS_PER_CONTACT_MAX,
        "nullable": True,
        "description": "replaces the contact's tags; null: none",
    },
    "attributes": {
        **ATTRIBUTES,
        "maxProperties": limits.ATTRIBUTES_MAX,
        "additionalProperties": {"nullable": True, "maxLength": limits.ATTRIBUTE_VALUE_MAX},
        "nullable": True,
        "description": "replaces the contact's attributes; null: none. Names of 1 to "
        f"{limits.ATTRIBUTE_KEY_MAX} characters (not counting spaces around them); text values "
        f"of at most {limits.ATTRIBUTE_VALUE_MAX:,} characters, numbers, true/false or null",
    },
    "optedOut": {"type": "boolean", "description": "opt the contact out (true) or back in"},
}
TIMELINE_ENTRY = {
    "type": "object",
    "properties": {
        "at": {**DATETIME, "description": "UTC; entries are newest first"},
        "kind": {
            "type": "string",
            "enum": list(TIMELINE_KINDS),
            "description": "enrolled, stopped, completed: an enrollment in a campaign; "
            "message: a step's message as it was claimed for sending; status: the message "
            "sent, delivered, read or failed at that time; reply: a message from the contact; "
            "click: a tracked link followed; opt_out: the contact opted out",
        },
        "campaignId": NULLABLE_INTEGER,
        "stepId": NULLABLE_INTEGER,
        "text": {
            **NULLABLE_STRING,
            "description": "in words: the reply's text, a message's template name or its "
            "step's text as written, a failure's error, a stop reason, the clicked URL",
        },
        "status": {
            **NULLABLE_STRING,
            "description": "message: its status now; status: the one reached at `at`; "
            "stopped: stopped, unsubscribed or failed; completed: completed",
        },
        "details": {
            "type": "object",
            "description": "by kind: campaignName, stepName, stepPosition; enrollmentId, "
            "enrollmentStatus, stopReason (the code; text has its words); messageLogId, "
            "templateName, category; errorCode, error (the code in words), errorMessage "
            "(Meta's); messageType; url; reason (an opt-out's)",
            "additionalProperties": True,
        },
    },
}
CONTACT_ID = path_id("contactId")
IMPORT_ID = path_id("importId")
ROW_ERRORS = {
    "type": "array",
    "description": "the first 1,000 bad rows; row 1 is the header",
    "items": {
        "type": "object",
        "properties": {"row": {"type": "integer"}, "message": {"type": "string"}},
    },
}
MAPPING_TARGETS = (
    "one of " + ", ".join(KNOWN_COLUMNS) + ", attribute:<name> (kept as that attribute) or ignore"
)
IMPORT_REPORT = {
    "errors": ROW_ERRORS,
    "warnings": {
        "type": "array",
        "description": "rows imported with a warning (a time zone that is not one: imported "
        "without it, so the contact follows the organization's zone), and rows repeating an "
        "earlier row's contact; the first 1,000 rows reported in all",
        "items": ROW_ERRORS["items"],
    },
    "duplicates": {
        "type": "array",
        "description": "contacts on several rows: the last row wins (its cells replace the "
        "earlier rows' values, its blank cells keep them, tags add up)",
        "items": {
            "type": "object",
            "properties": {
                "field": {"type": "string", "enum": ["phone", "whatsappUserId"]},
                "value": {"type": "string"},
                "rows": {"type": "array", "items": {"type": "integer"}},
                "winningRow": {"type": "integer", "description": "the last of rows"},
            },
        },
    },
    "duplicateRule": {"type": "string", "description": "the rule for repeated contacts, in words"},
    "mapping": {
        "type": "object",
        "nullable": True,
        "description": "the column mapping the import runs with: column name -> "
        + MAPPING_TARGETS
        + "; null while an import uploaded from the page waits for its columns",
        "additionalProperties": {"type": "string"},
    },
    "failedRowsUrl": {
        "type": "string",
        "description": "GET it: the refused rows and the rows with a warning as CSV",
    },
}
IMPORT_RESULT = {
    "type": "object",
    "properties": {
        "importId": {"type": "integer"},
        "status": {"type": "string", "enum": ["done"]},
        "totalRows": {"type": "integer"},
        "created": {"type": "integer"},
        "updated": {"type": "integer"},
        "errorCount": {"type": "integer"},
        **IMPORT_REPORT,
    },
}
IMPORT_QUEUED = {
    "type": "object",
    "properties": {
        "importId": {"type": "integer"},
        "status": {"type": "string", "enum": ["queued"]},
        "statusUrl": {"type": "string", "description": "GET it for the progress"},
    },
}
IMPORT = {
    "type": "object",
    "properties": {
        "id": {"type": "integer"},
        "filename": {"type": "string"},
        "status": {"type": "string", "enum": ["queued", "running", "done", "failed"]},
        "awaitingMapping": {
            "type": "boolean",
            "description": "uploaded from the page; runs once its columns are mapped there",
        },
        "totalRows": {"type": "integer"},
        "processedRows": {"type": "integer"},
        "created": {"type": "integer"},
        "updated": {"type": "integer"},
        "errorCount": {"type": "integer"},
        **IMPORT_REPORT,
        "lastError": NULLABLE_STRING,
        "createdAt": DATETIME,
        "startedAt": NULLABLE_DATETIME,
        "finishedAt": NULLABLE_DATETIME,
    },
}

OPENAPI = {
    "/api/contacts": {
        "get": {
            "summary": "List contacts, newest first, with search and filters",
            "parameters": [
                {
                    "name": "q",
                    "in": "query",
                    "description": "part of the name or of the WhatsApp user id, or digits "
                    "of the phone number",
                    "schema": {"type": "string"},
                },
                {
                    "name": "tag",
                    "in": "query",
                    "description": "only contacts with this tag",
                    "schema": {"type": "string"},
                },
                {
                    "name": "optedOut",
                    "in": "query",
                    "description": "true: opted-out contacts only; false: subscribed only; "
                    "any (or empty): both",
                    "allowEmptyValue": True,
                    "schema": {"type": "string", "enum": ["true", "false", "any"]},
                },
                *PAGING_PARAMETERS,
            ],
            "responses": {**list_response(CONTACT), **error_responses(401, 422)},
        },
        "post": {
            "summary": "Create a contact (fires the contact-created and tag-added triggers)",
            "requestBody": request_body(
                {
                    "type": "object",
                    "anyOf": [{"required": ["phone"]}, {"required": ["whatsappUserId"]}],
                    "properties": CONTACT_INPUT_PROPERTIES,
                    "example": {
                        "phone": "+1 202 555 0199",
                        "firstName": "Ana",
                        "lastName": "Silva",
                        "timezone": "America/Sao_Paulo",
                        "tags": ["vip"],
                        "attributes": {"plan": "pro", "seats": 5},
                    },
                }
            ),
            "responses": {
                **data_response(CONTACT, 201),
                **error_responses(400, 401, 409, 422),
            },
        },
    },
    "/api/contacts/{contactId}": {
        "get": {
            "summary": "One contact",
            "parameters": [CONTACT_ID],
            "responses": {**data_response(CONTACT), **error_responses(401, 404)},
        },
        "patch": {
            "summary": "Change a contact: only the fields sent; tags and attributes are replaced",
            "parameters": [CONTACT_ID],
            "requestBody": request_body(
                {
                    "type": "object",
                    "properties": CONTACT_INPUT_PROPERTIES,
                    "example": {"firstName": "Ana", "tags": ["vip", "newsletter"]},
                }
            ),
            "responses": {
                **data_response(CONTACT),
                **error_responses(400, 401, 404, 409, 422),
            },
        },
        "delete": {
            "summary": "Delete a contact with its tags, enrollments and messages",
            "parameters": [CONTACT_ID],
            "responses": {
                **data_response(
                    {
                        "type": "object",
                        "properties": {"id": {"type": "integer"}, "deleted": {"type": "boolean"}},
                    }
                ),
                **error_responses(401, 404),
            },
        },
    },
    "/api/contacts/{contactId}/timeline": {
        "get": {
            "summary": "What happened to a contact, newest first: enrollments, messages and "
            "their statuses, replies, clicks, the opt-out",
            "parameters": [CONTACT_ID, *PAGING_PARAMETERS],
            "responses": {**list_response(TIMELINE_ENTRY), **error_responses(401, 404, 422)},
        }
    },
    "/api/contacts/import": {
        "post": {
            "summary": "Import contacts from a CSV file; existing phones are updated",
            "description": (
                "Header row with phone and/or whatsapp_user_id (each row needs one of them; "
                "a row without a phone updates the contact with that WhatsApp user id) and "
                "optionally first_name, last_name, timezone, tags "
                "(';'-separated); other columns become attributes. Up to 5,000 rows are "
                "imported at once (200); larger files run in the background (202, poll "
                "statusUrl). Bad rows are reported with their row number; good rows go in. "
                "Columns are matched to fields by name, ignoring case, spaces and "
                "punctuation, with common names understood ('Phone Number' is phone, 'First "
                "Name' first_name, 'Surname' last_name); `mapping` says it for any column. A "
                "phone repeated in the file is one contact: the last row wins (warnings and "
                "duplicates list them). A time zone that is not one imports the row without "
                "it, with a warning."
            ),
            "requestBody": {
                "required": True,
                "content": {
                    "multipart/form-data": {
                        "schema": {
                            "type": "object",
                            "required": ["file"],
                            "properties": {
                                "file": {"type": "string", "format": "binary"},
                                "mapping": {
                                    "type": "string",
                                    "maxLength": MAPPING_TEXT_MAX,
                                    "description": "optional JSON object: column name (as in "
                                    "the header row) -> "
                                    + MAPPING_TARGETS
                                    + f". Columns left out are matched by name. At most "
                                    f"{HEADER_COLUMNS_MAX} columns of at most "
                                    f"{HEADER_NAME_MAX} characters; attribute names at most "
                                    f"{limits.ATTRIBUTE_KEY_MAX}. A mapping that cannot run "
                                    "(an unknown column or target, a field mapped twice, no "
                                    "phone and no whatsapp_user_id) is a 422 and nothing is "
                                    "imported.",
                                    "example": '{"Phone Number": "phone", "Plan": '
                                    '"attribute:plan", "Notes": "ignore"}',
                                },
                            },
                        }
                    }
                },
            },
            "responses": {
                **data_response(IMPORT_RESULT, 200, "imported"),
                **data_response(IMPORT_QUEUED, 202, "queued as a background job"),
                **error_responses(401, 413, 422),
            },
        }
    },
    "/api/contacts/imports/{importId}": {
        "get": {
            "summary": "Progress and row errors of a CSV import",
            "parameters": [IMPORT_ID],
            "responses": {**data_response(IMPORT), **error_responses(401, 404)},
        }
    },
    "/api/contacts/imports/{importId}/failed-rows": {
        "get": {
            "summary": "The rows an import refused or took with a warning, as CSV",
            "description": "The file's columns as uploaded, then `row` (its number; row 1 is "
            "the header) and `error` (a warning starts with 'Warning:'). Cells a spreadsheet "
            "would run as a formula start with a quote. The first 1,000 reported rows.",
            "parameters": [IMPORT_ID],
            "responses": {
                "200": {
                    "description": "CSV",
                    "content": {"text/csv": {"schema": {"type": "string"}}},
                },
                **error_responses(401, 404),
            },
        }
    },
}
