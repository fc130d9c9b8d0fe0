"""Error pages and the API error envelope: no stack trace ever reaches a user."""

from __future__ import annotations

import logging

from flask import Flask, render_template, request
from flask_wtf.csrf import CSRFError
from werkzeug.exceptions import HTTPException

from app.auth import is_api_request
from app.drip.errors import DripError
from app.envelope import api_field_name, error_response
from app.extensions import db

log = logging.getLogger(__name__)

HTTP_CODES = {
    400: "bad_request",
    401: "unauthorized",
    403: "forbidden",
    404: "not_found",
    405: "method_not_allowed",
    409: "conflict",
    413: "payload_too_large",
    415: "unsupported_media_type",
    422: "validation_error",
    429: "too_many_requests",
}


def register_error_handlers(app: Flask) -> None:
    app.register_error_handler(CSRFError, _csrf_error)
    app.register_error_handler(HTTPException, _http_error)
    app.register_error_handler(DripError, _drip_error)
    app.register_error_handler(Exception, _unexpected_error)


def _csrf_error(exc: CSRFError):
    if is_api_request():
        return error_response(400, "csrf_failed", "Missing or invalid CSRF token (X-CSRFToken).")
    # A page, not a redirect: nothing was changed, and a request forged from another site
    # must not be bounced back to where it came from.
    message = "Your form expired or was sent from another site. Reload the page and try again."
    return render_template("errors/generic.html", status=400, message=message), 400


def _http_error(exc: HTTPException):
    status = exc.code or 500
    if is_api_request():
        response = error_response(status, HTTP_CODES.get(status, "error"), exc.description)
        if status == 405 and exc.get_response().headers.get("Allow"):
            response.headers["Allow"] = exc.get_response().headers["Allow"]
        return response
    template = "errors/404.html" if status == 404 else "errors/generic.html"
    return render_template(template, status=status, message=exc.description), status


def _drip_error(exc: DripError):
    db.session.rollback()
    if is_api_request():
        details = exc.details
        if isinstance(details, dict) and isinstance(details.get("fields"), dict):
            fields = {api_field_name(k): v for k, v in details["fields"].items()}
            details = {**details, "fields": fields}
        return error_response(exc.status, exc.code, exc.message, details)
    template = "errors/404.html" if exc.status == 404 else "errors/generic.html"
    return render_template(template, status=exc.status, message=exc.message), exc.status


def _unexpected_error(exc: Exception):
    log.exception("unhandled error on %s %s", request.method, request.path)
    db.session.rollback()
    message = "Something went wrong on our side. It has been logged; please try again."
    if is_api_request():
        return error_response(500, "internal_error", message)
    return render_template("errors/generic.html", status=500, message=message), 500
