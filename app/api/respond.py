"""The API's answer shapes: {"data": ...}, paged lists, and the error envelope."""

from __future__ import annotations

import math
from datetime import date, datetime
from decimal import Decimal

from flask import jsonify, request
from werkzeug.exceptions import RequestEntityTooLarge

from app.drip.errors import NotFound, ValidationError
from app.drip.limits import JSON_BODY_MAX
from app.drip.paging import MAX_PAGE
from app.envelope import camel_case

DEFAULT_PER_PAGE = 50
MAX_PER_PAGE = 500
# MAX_PAGE (app.drip.paging, the pages' clamp too): past it the offset would overflow the
# databases' 64-bit integers (a 500); the API answers a larger page with a 422 like a page of 0.
# Ids are 64-bit (BIGINT; SQLite's INTEGER): a larger number names no row, but reaches the
# driver as an overflow (a 500) unless it is stopped first.
MAX_ID = 2**63 - 1


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
    if page > MAX_PAGE:
        raise ValidationError("page is too large.", {"page": f"At most {MAX_PAGE}."})
    if per_page > MAX_PER_PAGE:
        raise ValidationError(
            "perPage is too large.", {"perPage": f"At most {MAX_PER_PAGE} per page."}
        )
    return page, per_page


def _positive_int(name: str, default: int) -> int:
    raw = request.args.get(name)
    if raw is None or raw == "":
        return default
    # isascii: str.isdigit() is also true for "²" and "١", which int() refuses or reads.
    if not (raw.isascii() and raw.isdigit()) or not raw.strip("0"):
        raise ValidationError(
            f"{name} must be a whole number from 1.", {name: "Whole number >= 1."}
        )
    # int() refuses over 4,300 digits (a 500); a number this long is past every maximum anyway.
    return int(raw) if len(raw) <= 18 else MAX_ID


def ids_in_range(endpoint: str | None, values: dict | None) -> None:
    """The app's url_value_preprocessor (pages and API alike): a path id beyond MAX_ID is a
    404, as a non-numeric one is, instead of an overflow in the database driver (a 500)."""
    for name, value in (values or {}).items():
        if isinstance(value, int) and value > MAX_ID:
            raise NotFound(f"{camel_case(name)} {value} does not exist.")


def is_id(value) -> bool:
    """A JSON value that can be a row id: an integer (not a bool) from 1 to MAX_ID."""
    return isinstance(value, int) and not isinstance(value, bool) and 1 <= value <= MAX_ID


def json_body() -> dict:
    """The request's JSON object, or a 400 saying what is wrong with it (413 over 1 MiB)."""
    _read_at_most(JSON_BODY_MAX)
    try:
        data = request.get_json(silent=True)
    except RecursionError:  # nested thousands deep: silent=True only covers ValueError
        data = None
    if not isinstance(data, dict):
        raise BadJson("The body must be a JSON object (Content-Type: application/json).")
    problem = value_problem(data)
    if problem:
        raise BadJson(problem)
    return data


def _read_at_most(limit: int) -> None:
    """Read the body into the request's cache, or a 413 (the error envelope) past `limit`
    bytes. The app's MAX_CONTENT_LENGTH is larger, for the CSV import: a JSON body of tens of
    megabytes held a worker for seconds and its parsed copy several times that in memory."""
    message = f"A JSON body is at most {limit // (1024 * 1024)} MiB."
    if request.content_length is not None and request.content_length > limit:
        raise RequestEntityTooLarge(message)
    # A body without a Content-Length (chunked) is cut one byte past the limit as it is read
    # (so that too long shows), unless something opened the stream before (the CSRF check
    # does): then the length check below is the guard, within MAX_CONTENT_LENGTH.
    request.max_content_length = limit + 1
    try:
        size = len(request.get_data(cache=True))
    except RequestEntityTooLarge:
        size = limit + 1
    if size > limit:
        raise RequestEntityTooLarge(message)


def value_problem(data) -> str | None:
    """What no column can hold among the values of a parsed JSON body, if anything.

    Every integer the API stores or looks up is 64-bit (ids are BIGINT): the document says
    format int64, and a larger one was an overflow in the driver (a 500, found by schemathesis
    in contactIds and stepId). PostgreSQL text cannot hold NUL (a 500, found by schemathesis),
    and an unpaired surrogate (JSON's lone \ud800) cannot be written as UTF-8 at all. Python's
    parser also accepts NaN and Infinity, which JSON does not have.
    """
    stack = [data]
    while stack:
        value = stack.pop()
        if isinstance(value, str):
            if problem := text_problem(value):
                return problem
        elif isinstance(value, dict):
            stack.extend(value.keys())
            stack.extend(value.values())
        elif isinstance(value, list):
            stack.extend(value)
        elif isinstance(value, bool):
            continue
        elif isinstance(value, int) and not -MAX_ID - 1 <= value <= MAX_ID:
            return f"Integers are 64-bit: from {-MAX_ID - 1} to {MAX_ID}."
        elif isinstance(value, float) and not math.isfinite(value):
            return "NaN and Infinity are not JSON numbers."
    return None


def text_problem(text: str) -> str | None:
    if "\x00" in text:
        return "Text cannot contain the NUL character (\\u0000)."
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return "Text cannot contain an unpaired surrogate (\\ud800-\\udfff)."
    return None


def text_arg(name: str) -> str | None:
    """A query-string text parameter, or a 422 when the database could not compare it."""
    value = request.args.get(name)
    problem = text_problem(value) if value else None
    if problem:
        raise ValidationError(f"{name}: {problem}", {name: problem})
    return value


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
