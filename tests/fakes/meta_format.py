"""Meta's formats as the fake Cloud API speaks them: error bodies, the HTTP status per error
code, request validation and the OK answer.

HTTP status per code (Meta answers most OAuthException codes with 400; the client classifies by
code, so the status only matters for bodies without one): 130429 -> 429; 190 -> 401;
368, 131031, 131005, 10 -> 403; 131000 -> 500; 2, 131016, 131057 -> 503; everything else -> 400.
"""

from __future__ import annotations

import json
import secrets
from typing import Any

STATUS_BY_CODE = {
    130429: 429,
    190: 401,
    368: 403,
    131031: 403,
    131005: 403,
    10: 403,
    131000: 500,
    2: 503,
    131016: 503,
    131057: 503,
}

# code -> (Meta's message, error_data.details)
TEXTS: dict[int, tuple[str, str | None]] = {
    130429: ("Rate limit hit", "Cloud API message throughput has been reached."),
    131056: (
        "(Business Account, Consumer Account) pair rate limit hit",
        "Too many messages sent from this phone number to the same phone number "
        "in a short period of time.",
    ),
    80007: ("Rate limit issues", "The WhatsApp Business Account has reached its rate limit."),
    4: ("Application request limit reached", "The app has reached its API call rate limit."),
    1: ("An unknown error occurred", "Invalid request or possible server error."),
    2: ("Service temporarily unavailable", "Temporary due to downtime or due to being overloaded."),
    131000: ("Something went wrong", "Message failed to send due to an unknown error."),
    131016: ("Service unavailable", "A service is temporarily unavailable."),
    131057: ("Business Account is in maintenance mode", "The account is in maintenance mode."),
    131047: (
        "Re-engagement message",
        "Message failed to send because more than 24 hours have passed since the customer "
        "last replied to this number.",
    ),
    131049: (
        "This message was not delivered to maintain healthy ecosystem engagement.",
        "In order to maintain a healthy ecosystem engagement, the message failed to be delivered.",
    ),
    131026: ("Message Undeliverable", "Unable to deliver message."),
    131050: (
        "Recipient has chosen to stop receiving marketing messages from this business.",
        "Recipient opted out of marketing messages.",
    ),
    131051: ("Unsupported message type", "Message type is not currently supported."),
    132000: (
        "Number of parameters does not match the expected number of params",
        "body: number of localizable_params does not match the expected number of params.",
    ),
    132001: ("Template name does not exist in the translation", "template name does not exist"),
    132015: ("Template is Paused", "Template is paused due to low quality."),
    132016: ("Template is Disabled", "Template has been disabled due to low quality."),
    100: ("Invalid parameter", "Invalid parameter."),
    190: ("Error validating access token: Session has expired.", None),
    368: ("Temporarily blocked for policies violations", "The account is temporarily blocked."),
    131031: ("Account has been locked", "The Business Account is locked."),
    131042: ("Business eligibility payment issue", "There is a payment method issue."),
}

INVALID_TOKEN = "Invalid OAuth access token - Cannot parse access token"
MESSAGE_TYPES = frozenset(
    {"text", "template", "image", "audio", "video", "document", "sticker", "location"}
    | {"contacts", "interactive", "reaction"}
)


def status_for(code: int) -> int:
    return STATUS_BY_CODE.get(code, 400)


def error_body(code: int, message: str | None = None, details: str | None = None) -> bytes:
    """Meta's error JSON: message '(#code) title' (190 has no prefix and no error_data)."""
    title, known_details = TEXTS.get(code, (f"Error {code}", None))
    text = message or (title if code == 190 else f"(#{code}) {title}")
    error: dict[str, Any] = {"message": text, "type": "OAuthException", "code": code}
    if details or known_details:
        error["error_data"] = {
            "messaging_product": "whatsapp",
            "details": details or known_details,
        }
    error["fbtrace_id"] = "A" + secrets.token_urlsafe(16)
    return json.dumps({"error": error}).encode()


def html_body(status: int) -> bytes:
    return (
        f"<html><head><title>{status}</title></head>"
        f"<body><h1>{status} Server Error</h1><p>upstream said no</p></body></html>"
    ).encode()


def ok_body(to: str, wamid: str, template: bool) -> bytes:
    message: dict[str, str] = {"id": wamid}
    if template:
        message["message_status"] = "accepted"
    answer = {
        "messaging_product": "whatsapp",
        "contacts": [{"input": to, "wa_id": to}],
        "messages": [message],
    }
    return json.dumps(answer).encode()


def invalid(payload: object) -> str | None:
    """Meta's message of the code-100 error for a malformed send, or None when it is fine."""
    if not isinstance(payload, dict):
        return "(#100) The request body must be a JSON object."
    problem = _invalid_envelope(payload)
    if problem:
        return problem
    check = {"text": _invalid_text, "template": _invalid_template}.get(payload["type"])
    return check(payload.get(payload["type"])) if check else None


def _invalid_envelope(payload: dict[str, Any]) -> str | None:
    if payload.get("messaging_product") != "whatsapp":
        return "(#100) The parameter messaging_product is required."
    for name in ("to", "type"):
        value = payload.get(name)
        if not isinstance(value, str) or not value:
            return f"(#100) The parameter {name} is required."
    callback = payload.get("biz_opaque_callback_data")
    if callback is not None and (not isinstance(callback, str) or len(callback) > 512):
        return "(#100) Param biz_opaque_callback_data must be at most 512 characters long."
    return None


def _invalid_text(text: object) -> str | None:
    if not isinstance(text, dict) or not isinstance(text.get("body"), str) or not text["body"]:
        return "(#100) The parameter text['body'] is required."
    if len(text["body"]) > 4096:
        return "(#100) Param text['body'] must be at most 4096 characters long."
    return None


def _invalid_template(template: object) -> str | None:
    if not isinstance(template, dict) or not template.get("name"):
        return "(#100) The parameter template['name'] is required."
    language = template.get("language")
    if not isinstance(language, dict) or not language.get("code"):
        return "(#100) The parameter template['language']['code'] is required."
    return None
