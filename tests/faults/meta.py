"""Webhook deliveries in Meta's format (as /work/shared/fixtures/whatsapp/ shows them), signed
and posted through the real endpoint."""

from __future__ import annotations

import json
from datetime import datetime

from app.whatsapp.webhook import signature_for

URL = "/api/webhooks/whatsapp"


def status(wamid: str, name: str, at: int, *, code: int | None = None, cb: str | None = None):
    item = {"id": wamid, "status": name, "timestamp": str(at), "recipient_id": "1"}
    if cb is not None:
        item["biz_opaque_callback_data"] = cb
    if name == "failed":
        item["errors"] = [{"code": code or 131026, "title": f"Error {code}"}]
    return item


def text_message(message_id: str, from_digits: str, at: int, body: str, context=None) -> dict:
    item = {
        "from": from_digits,
        "id": message_id,
        "timestamp": str(at),
        "type": "text",
        "text": {"body": body},
    }
    if context:
        item["context"] = {"from": "15550001111", "id": context}
    return item


def delivery(phone_number_id: str, statuses=(), messages=(), opt_outs=()) -> bytes:
    """One delivery: a `messages` change with the statuses and messages, and a
    `user_preferences` change per opt-out ((wa_id, unix time))."""
    value = {
        "messaging_product": "whatsapp",
        "metadata": {"display_phone_number": "15550001111", "phone_number_id": phone_number_id},
    }
    changes = []
    if statuses or messages:
        body = dict(value)
        if statuses:
            body["statuses"] = list(statuses)
        if messages:
            body["messages"] = list(messages)
        changes.append({"field": "messages", "value": body})
    for wa_id, at in opt_outs:
        preference = {"wa_id": wa_id, "category": "marketing_messages", "value": "stop"}
        preference |= {"detail": "User requested to stop marketing messages", "timestamp": at}
        changes.append(
            {"field": "user_preferences", "value": {**value, "user_preferences": [preference]}}
        )
    payload = {"object": "whatsapp_business_account", "entry": [{"id": "1", "changes": changes}]}
    return json.dumps(payload).encode()


def post(client, body: bytes, secret: str):
    headers = {
        "Content-Type": "application/json",
        "X-Hub-Signature-256": signature_for(body, secret),
    }
    return client.post(URL, data=body, headers=headers)


def unix(at: datetime) -> int:
    return int(at.timestamp())
