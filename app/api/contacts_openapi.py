"""The OpenAPI paths of app/api/contacts.py."""

from __future__ import annotations

from app.api.openapi import (
    DATETIME,
    NULLABLE_DATETIME,
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
from app.drip.contacts import WHATSAPP_USER_ID_MAX

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
IMPORT_RESULT = {
    "type": "object",
    "properties": {
        "importId": {"type": "integer"},
        "status": {"type": "string", "enum": ["done"]},
        "totalRows": {"type": "integer"},
        "created": {"type": "integer"},
        "updated": {"type": "integer"},
        "errorCount": {"type": "integer"},
        "errors": ROW_ERRORS,
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
        "totalRows": {"type": "integer"},
        "processedRows": {"type": "integer"},
        "created": {"type": "integer"},
        "updated": {"type": "integer"},
        "errorCount": {"type": "integer"},
        "errors": ROW_ERRORS,
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
    "/api/contacts/import": {
        "post": {
            "summary": "Import contacts from a CSV file; existing phones are updated",
            "description": (
                "Header row with phone and/or whatsapp_user_id (each row needs one of them; "
                "a row without a phone updates the contact with that WhatsApp user id) and "
                "optionally first_name, last_name, timezone, tags "
                "(';'-separated); other columns become attributes. Up to 5,000 rows are "
                "imported at once (200); larger files run in the background (202, poll "
                "statusUrl). Bad rows are reported with their row number; good rows go in."
            ),
            "requestBody": {
                "required": True,
                "content": {
                    "multipart/form-data": {
                        "schema": {
                            "type": "object",
                            "required": ["file"],
                            "properties": {"file": {"type": "string", "format": "binary"}},
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
}
