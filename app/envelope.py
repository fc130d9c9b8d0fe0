"""The JSON error envelope {"error": {"code", "message", "details"}} and the API's
spelling of field names in it: shared by the API, authentication and the error pages."""

from __future__ import annotations

from flask import jsonify


def error_response(status: int, code: str, message: str, details=None):
    body = {"error": {"code": code, "message": message}}
    if details is not None:
        body["error"]["details"] = details
    response = jsonify(body)
    response.status_code = status
    return response


# Domain field names whose API spelling is not simply camelCase.
API_FIELD_NAMES = {
    "trigger_type": "trigger.type",
    "trigger_value": "trigger.value",
    "window_start": "sendWindow.start",
    "window_end": "sendWindow.end",
    "window_weekdays": "sendWindow.weekdays",
    "window_timezone": "sendWindow.timezone",
}


def api_field_name(name: str) -> str:
    """How the API spells a domain field name in error details (template.name stays dotted)."""
    return API_FIELD_NAMES.get(name) or ".".join(camel_case(part) for part in name.split("."))


def camel_case(name: str) -> str:
    """contact_id -> contactId: the API's spelling of a Python name."""
    head, *rest = name.split("_")
    return head + "".join(part.capitalize() for part in rest)
