"""Meta's formats as the fake Cloud API speaks them: error bodies, the HTTP status per error
code, request validation and the OK answer.

HTTP status per code (Meta answers most OAuthException codes with 400; the client classifies by
code, so the status only matters for bodies without one): 130429 -> 429; 190 -> 401;
368, 131031, 131005, 10 -> 403; 132001 -> 404 (Meta's error-code table: "Template does not
exist", 404 Not Found); 131000 -> 500; 2, 131016, 131057 -> 503; everything else -> 400.

A send is addressed by `to` (a phone number) or `recipient` (a business-scoped user id); Meta
takes either and uses `to` when both are given. Template sends are checked against the fake's
catalog by tests/fakes/templates.py (132001, 132015, 132016, 132000); `template_problem` here
refuses malformed components as Meta does before any catalog look-up (100, 131008).
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
    132001: 404,
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
    # As ../shared/fixtures/whatsapp/send_error_template_paused.json (132016 by analogy).
    132015: (
        "Cannot send message as the template is paused",
        "Template is Paused due to low quality so it cannot be sent in a template message",
    ),
    132016: (
        "Cannot send message as the template is disabled",
        "Template is Disabled due to low quality so it cannot be sent in a template message",
    ),
    131008: ("Required parameter is missing", "Required parameter is missing."),
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


def ok_body(to: str, wamid: str, template: bool, *, user_id: str | None = None) -> bytes:
    """Meta's 200: `to` is the phone number sent to, or "" when the send named `user_id`."""
    message: dict[str, str] = {"id": wamid}
    if template:
        message["message_status"] = "accepted"
    contact = {"input": to, "wa_id": to} if to else {"input": user_id, "user_id": user_id}
    answer = {"messaging_product": "whatsapp", "contacts": [contact], "messages": [message]}
    return json.dumps(answer).encode()


def address(fields: dict[str, Any]) -> str | None:
    """Whom a send is for: `to` (Meta prefers it when both are given), else `recipient`."""
    for name in ("to", "recipient"):
        value = fields.get(name)
        if isinstance(value, str) and value:
            return value
    return None


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
    if not any(isinstance(payload.get(k), str) and payload[k] for k in ("to", "recipient")):
        return "(#100) The parameter to is required."
    if not isinstance(payload.get("type"), str) or not payload["type"]:
        return "(#100) The parameter type is required."
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
    components = template.get("components", [])
    if not isinstance(components, list) or not all(isinstance(c, dict) for c in components):
        return "(#100) Param template['components'] must be an array of objects."
    return None


MEDIA_TYPES = ("image", "video", "document")


def template_problem(template: dict[str, Any]) -> tuple[int, str] | None:
    """(code, details) for components Meta refuses whatever the template: a media parameter
    whose link is not an https URL (100), a text parameter without text (131008)."""
    for c_index, component in enumerate(template.get("components") or []):
        parameters = component.get("parameters") or []
        if not isinstance(parameters, list):
            return 100, f"Param template['components'][{c_index}]['parameters'] must be an array."
        for p_index, parameter in enumerate(parameters):
            where = f"template['components'][{c_index}]['parameters'][{p_index}]"
            kind = parameter.get("type") if isinstance(parameter, dict) else None
            if kind == "text":
                text = parameter.get("text")
                if not isinstance(text, str) or not text.strip():
                    return 131008, f"Parameter of type text is missing text value: {where}"
            elif kind in MEDIA_TYPES:
                media = parameter.get(kind)
                link = media.get("link") if isinstance(media, dict) else None
                if not isinstance(link, str) or not link.startswith("https://") or " " in link:
                    return 100, f"Param {where}['{kind}']['link'] must be a valid https URL."
    return None


def body_parameter_count(template: dict[str, Any]) -> int:
    """How many parameters the send gives the template's body."""
    for component in template.get("components") or []:
        if str(component.get("type", "")).lower() == "body":
            parameters = component.get("parameters")
            return len(parameters) if isinstance(parameters, list) else 0
    return 0
