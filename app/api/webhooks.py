"""/api/webhooks/whatsapp: Meta's verification handshake (GET) and deliveries (POST).

A POST is read whole (at most 1 MiB), routed by its metadata.phone_number_id values and, for
template changes, by its entry ids (WhatsApp Business Account ids), and accepted only when
X-Hub-Signature-256 verifies with the app secret of every routed account.
It is then recorded and committed before anything is applied, so a failure while applying
loses nothing: the answer is still 200 and the sweeper job applies it later.
"""

from __future__ import annotations

import logging

from flask import Blueprint, Response, current_app, request
from sqlalchemy import select
from werkzeug.exceptions import RequestEntityTooLarge

from app.api.openapi import data_response, error_responses
from app.api.respond import ok
from app.auth import public
from app.crypto import constant_time_equals, sha256_hex
from app.drip import engagement, templates
from app.envelope import error_response
from app.extensions import db
from app.models import WhatsAppAccount
from app.whatsapp import (
    SIGNATURE_HEADER,
    WebhookBatch,
    WebhookFormatError,
    business_account_ids,
    decode_delivery,
    parse_delivery,
    phone_number_ids,
    verify_signature,
)

log = logging.getLogger(__name__)

bp = Blueprint("webhooks", __name__, url_prefix="/api/webhooks")

MAX_BODY = 1024 * 1024


@bp.route("/whatsapp", methods=["GET", "POST"])
@public  # its own authentication: the verify token (GET), the app secret's signature (POST)
def whatsapp():
    if request.method == "GET":
        return _handshake()
    return _delivery()


def _handshake():
    mode = request.args.get("hub.mode")
    token = request.args.get("hub.verify_token") or ""
    challenge = request.args.get("hub.challenge") or ""
    if mode == "subscribe" and token and _verify_token_known(token):
        return Response(challenge, status=200, mimetype="text/plain")
    return error_response(403, "forbidden", "Unknown verify token, or hub.mode is not 'subscribe'.")


def _verify_token_known(token: str) -> bool:
    digest = sha256_hex(token)
    hashes = db.session.scalars(
        select(WhatsAppAccount.verify_token_hash).where(
            WhatsAppAccount.verify_token_hash.is_not(None)
        )
    ).all()
    db.session.rollback()
    # Compare with every stored hash, in constant time each.
    return any([constant_time_equals(digest, stored) for stored in hashes])


def _delivery():
    body = _read_body()
    signature = request.headers.get(SIGNATURE_HEADER)
    if not signature:
        return _unauthorized()
    try:
        payload = decode_delivery(body)
        phone_ids = phone_number_ids(payload)
        waba_ids = business_account_ids(payload)
    except WebhookFormatError as exc:
        return error_response(400, "bad_request", str(exc))
    session = db.session
    accounts = engagement.accounts_for(session, phone_ids)
    waba_accounts = templates.accounts_for_business(session, waba_ids)
    routed = {a.id: a for a in accounts.values()}
    routed.update({a.id: a for found in waba_accounts.values() for a in found})
    if not routed:
        log.info("webhook for unknown ids %s %s ignored", phone_ids, waba_ids)
        return ok({"statuses": 0, "messages": 0, "templates": 0, "ignored": True})
    if not all(_signed_by(body, signature, account) for account in routed.values()):
        return _unauthorized()
    # Authenticated: now the whole body is checked before it is recorded.
    try:
        batch = parse_delivery(payload)
    except WebhookFormatError as exc:
        return error_response(400, "bad_request", str(exc))
    return ok(_record_and_apply(body, batch, accounts, waba_accounts))


def _record_and_apply(body: bytes, batch: WebhookBatch, accounts: dict, waba_accounts: dict):
    """Record (committed), then apply; a failure to apply is recorded for the sweeper."""
    session = db.session
    # Plain values: the accounts expire at the commit below, and reloading them cost a query.
    routes = {pid: account.organization_id for pid, account in accounts.items()}
    waba_routes = {w: [a.organization_id for a in found] for w, found in waba_accounts.items()}
    org_ids = set(routes.values()).union(*waba_routes.values())
    org_id = org_ids.pop() if len(org_ids) == 1 else None
    event_id, applied = engagement.record_delivery(session, body, org_id)
    session.commit()
    if applied:
        return _counts(batch, routes, waba_routes)
    try:
        counts = templates.apply_delivery(
            session, event_id, org_id, batch, routes=routes, waba_routes=waba_routes
        )
        session.commit()
    except Exception as exc:
        session.rollback()
        log.exception("webhook event %s recorded, applying it failed", event_id)
        try:
            engagement.mark_failed(session, event_id, exc)
            session.commit()
        except Exception:
            session.rollback()
            log.exception("webhook event %s: could not record the failure", event_id)
        return {"statuses": 0, "messages": 0, "templates": 0, "deferred": True}
    return counts


def _read_body() -> bytes:
    """The raw body; 413 when it is over MAX_BODY (never reads more than MAX_BODY + 1)."""
    length = request.content_length
    if length is not None and length > MAX_BODY:
        raise RequestEntityTooLarge("A webhook body is at most 1 MiB.")
    body = request.stream.read(MAX_BODY + 1)
    if len(body) > MAX_BODY:
        raise RequestEntityTooLarge("A webhook body is at most 1 MiB.")
    return body


def _signed_by(body: bytes, signature: str, account) -> bool:
    """`account`: a WhatsAppAccount or its routing row (engagement.accounts_for)."""
    box = current_app.extensions["drip_secret_box"]
    try:
        secret = box.decrypt(account.app_secret_encrypted)
    except ValueError:
        log.error("app secret of WhatsApp account %s cannot be decrypted", account.id)
        return False
    return verify_signature(body, signature, secret)


def _counts(batch: WebhookBatch, accounts: dict, waba_routes: dict) -> dict:
    parts = [part for pid, part in batch.accounts.items() if pid in accounts]
    updates = [u for waba, found in batch.templates.items() if waba_routes.get(waba) for u in found]
    return {
        "statuses": sum(len(p.statuses) for p in parts),
        "messages": sum(len(p.messages) for p in parts),
        "templates": len(updates),
        "unknownStatuses": 0,  # a repeat: counted when it was first applied
    }


def _unauthorized():
    return error_response(
        401, "unauthorized", "Missing or invalid X-Hub-Signature-256 for this delivery."
    )


COUNTS_SCHEMA = {
    "type": "object",
    "properties": {
        "statuses": {"type": "integer"},
        "messages": {"type": "integer"},
        "templates": {"type": "integer", "description": "template updates applied"},
        "unknownStatuses": {"type": "integer", "description": "statuses of unknown messages"},
        "ignored": {
            "type": "boolean",
            "description": "no account has these phone number or WABA ids",
        },
        "deferred": {"type": "boolean", "description": "recorded; the sweeper applies it"},
    },
}
OPENAPI = {
    "/api/webhooks/whatsapp": {
        "get": {
            "summary": "Meta's verification handshake: echoes hub.challenge for a known token",
            "parameters": [
                {"name": "hub.mode", "in": "query", "schema": {"type": "string"}},
                {"name": "hub.verify_token", "in": "query", "schema": {"type": "string"}},
                {"name": "hub.challenge", "in": "query", "schema": {"type": "string"}},
            ],
            "responses": {
                "200": {
                    "description": "the challenge",
                    "content": {"text/plain": {"schema": {"type": "string"}}},
                },
                **error_responses(403),
            },
        },
        "post": {
            "summary": (
                "A WhatsApp Cloud API delivery (statuses, messages, template updates), "
                "signed by Meta"
            ),
            "parameters": [
                {
                    "name": "X-Hub-Signature-256",
                    "in": "header",
                    "required": True,
                    "schema": {"type": "string"},
                }
            ],
            "responses": {
                **data_response(COUNTS_SCHEMA),
                **error_responses(400, 401, 413),
            },
        },
    }
}
