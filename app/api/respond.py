"""The API's answer shapes: {"data": ...}, paged lists, and the error envelope."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal

from flask import jsonify, request

from app.drip.errors import ValidationError

DEFAULT_PER_PAGE = 50
MAX_PER_PAGE = 500


def error_response(status: int, code: str, message: str, details=None):
    body = {"error": {"code": code, "message": message}}
    if details is not None:
        body["error"]["details"] = details
    response = jsonify(body)
    response.status_code = status
    return response


def ok(data, status: int = 200):
    response = jsonify({"data": to_json(data)})
    response.status_code = status
    return response


def paged(items: list, total: int, page: int, per_page: int):
    return jsonify(
        {"data": to_json(items), "meta": {"page": page, "perPage": per_page, "total": total}}
    )


def paging_args() -> tuple[int, int]:
    """?page= (from 1) and ?perPage= (default 50, at most 500), or a 422 naming the field."""
    page = _positive_int("page", 1)
    per_page = _positive_int("perPage", DEFAULT_PER_PAGE)
    if per_page > MAX_PER_PAGE:
        raise ValidationError(
            "perPage is too large.", {"perPage": f"At most {MAX_PER_PAGE} per page."}
        )
    return page, per_page


def _positive_int(name: str, default: int) -> int:
    raw = request.args.get(name)
    if raw is None or raw == "":
        return default
    if not raw.isdigit() or int(raw) < 1:
        raise ValidationError(
            f"{name} must be a whole number from 1.", {name: "Whole number >= 1."}
        )
    return int(raw)


def json_body() -> dict:
    """The request's JSON object, or a 400 saying what is wrong with it."""
    data = request.get_json(silent=True)
    if not isinstance(data, dict):
        raise BadJson("The body must be a JSON object (Content-Type: application/json).")
    return data


class BadJson(ValidationError):
    code = "bad_request"
    status = 400


def to_json(value):
    """Plain values for jsonify: ISO 8601 UTC times, numbers unrounded. Keys are left as the
    serializer wrote them (camelCase), so user data such as contact attributes is untouched."""
    if isinstance(value, dict):
        return {k: to_json(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [to_json(v) for v in value]
    if isinstance(value, datetime):
        return value.isoformat().replace("+00:00", "Z")
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, Decimal):
        return float(value)
    return value


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
