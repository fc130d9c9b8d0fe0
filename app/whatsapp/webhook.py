"""Meta's webhook deliveries: the signature check and parsing the JSON into the engagement
dataclasses. Pure: no Flask, no database.

- verify_signature(body, header, app_secret) -> bool (HMAC-SHA256 of the raw bytes)
- decode_delivery(body) -> the JSON object, or WebhookFormatError
- phone_number_ids(payload) -> the metadata.phone_number_id values (for routing only)
- business_account_ids(payload) -> the entry ids of template changes (WABA ids, for routing)
- parse_delivery(payload) -> WebhookBatch: per phone number id, its statuses, messages and
  opt-outs; per WABA id, its template updates (status, quality, category)

Every shape problem raises WebhookFormatError with a message naming the path at fault;
nothing else escapes, whatever the JSON.
"""

from __future__ import annotations

import hashlib
import hmac
import json
from dataclasses import dataclass, field
from datetime import datetime

from app.whatsapp.account_webhook import LIMIT_FIELDS, limit_update
from app.whatsapp.events import InboundMessageEvent, LimitUpdate, StatusUpdate, TemplateUpdate
from app.whatsapp.fields import (
    MAX_ID_LENGTH,
    WebhookFormatError,
    _clean,
    _id,
    _list,
    _object,
    _optional_str,
    _required_str,
    _short,
    _timestamp,
)
from app.whatsapp.template_webhook import TEMPLATE_FIELDS, template_update

# Changes that arrive by phone number (metadata.phone_number_id); None: a change without a
# field name, read as messages.
PHONE_FIELDS = (None, "messages", "user_preferences")

SIGNATURE_HEADER = "X-Hub-Signature-256"
_SIGNATURE_PREFIX = "sha256="
# The longest message type kept: the column that holds it (String(32)).
MAX_TYPE_LENGTH = 32
# A business-scoped user id: "US.13491208655302741918" (an ISO country code, a dot, up to 128
# alphanumerics), a parent one "US.ENT.1181..."; the column holding it is String(160).
MAX_USER_ID_LENGTH = 160
# Meta's error codes have at most 6 digits; messages store them in String(16).
_MAX_ERROR_CODE = 10**9


@dataclass(frozen=True)
class MarketingOptOut:
    """A user_preferences "stop": the contact turned off marketing messages. wa_id is None
    for a user whose phone number Meta does not share (then user_id, their BSUID, is set)."""

    wa_id: str | None
    timestamp: datetime
    user_id: str | None = None


@dataclass
class AccountBatch:
    """What one phone number id's changes in a delivery carry."""

    phone_number_id: str
    statuses: list[StatusUpdate] = field(default_factory=list)
    messages: list[InboundMessageEvent] = field(default_factory=list)
    opt_outs: list[MarketingOptOut] = field(default_factory=list)


@dataclass
class WebhookBatch:
    accounts: dict[str, AccountBatch] = field(default_factory=dict)
    templates: dict[str, list[TemplateUpdate]] = field(default_factory=dict)  # by WABA id
    limits: dict[str, list[LimitUpdate]] = field(default_factory=dict)  # by WABA id

    def for_account(self, phone_number_id: str) -> AccountBatch:
        if phone_number_id not in self.accounts:
            self.accounts[phone_number_id] = AccountBatch(phone_number_id)
        return self.accounts[phone_number_id]


# --- signature ------------------------------------------------------------------------------


def signature_for(body: bytes, app_secret: str) -> str:
    """The header value Meta sends for this body: "sha256=<hex>"."""
    digest = hmac.new(app_secret.encode(), body, hashlib.sha256).hexdigest()
    return _SIGNATURE_PREFIX + digest


def verify_signature(body: bytes, header: str | None, app_secret: str) -> bool:
    """Whether `header` is the HMAC-SHA256 of the raw body with the app secret (constant time)."""
    if not header or not app_secret:
        return False
    header = header.strip()
    if not header.lower().startswith(_SIGNATURE_PREFIX):
        return False
    given = header[len(_SIGNATURE_PREFIX) :].lower().encode("ascii", "replace")
    expected = signature_for(body, app_secret)[len(_SIGNATURE_PREFIX) :].encode()
    return hmac.compare_digest(given, expected)


# --- decoding and routing -------------------------------------------------------------------


def decode_delivery(body: bytes) -> dict:
    """The body as a JSON object with an `entry` list, or WebhookFormatError."""
    try:
        payload = json.loads(body)
    except (ValueError, RecursionError) as exc:
        raise WebhookFormatError(f"The body is not valid JSON: {_short(exc)}") from None
    if not isinstance(payload, dict):
        raise WebhookFormatError("The body must be a JSON object.")
    if not isinstance(payload.get("entry"), list):
        raise WebhookFormatError("The body must have an 'entry' list.")
    return payload


def phone_number_ids(payload: dict) -> list[str]:
    """The distinct metadata.phone_number_id values, in order of appearance (for routing)."""
    seen: dict[str, None] = {}
    for change_field, value in _changes(payload):
        if _on_phone_number(change_field, value["value"]):
            seen[_phone_number_id(value["path"], value["value"])] = None
    return list(seen)


def business_account_ids(payload: dict) -> list[str]:
    """The distinct entry ids (WABA ids) that carry template or limit changes, in order (for
    routing)."""
    seen: dict[str, None] = {}
    for change_field, value in _changes(payload):
        if change_field in TEMPLATE_FIELDS or change_field in LIMIT_FIELDS:
            seen[_id(value["entry"], "id", value["entry_path"])] = None
    return list(seen)


def _on_phone_number(change_field: str | None, value: dict) -> bool:
    """Messages, statuses and preferences arrive by phone number (metadata.phone_number_id);
    the other fields Meta may send a subscribed app (account_update, business_capability_update,
    ...) arrive on the business account and, but for the ones Drip reads, are ignored rather
    than refused: a 400 would make Meta retry them for days."""
    if change_field in PHONE_FIELDS:
        return True
    if change_field in TEMPLATE_FIELDS or change_field in LIMIT_FIELDS:
        return False
    return "metadata" in value


# --- parsing --------------------------------------------------------------------------------


def parse_delivery(payload: dict) -> WebhookBatch:
    """Every status, message and marketing opt-out of the delivery, by phone number id."""
    batch = WebhookBatch()
    for change_field, item in _changes(payload):
        path, value = item["path"], item["value"]
        if change_field in TEMPLATE_FIELDS:
            update = template_update(TEMPLATE_FIELDS[change_field], item)
            if update is not None:
                batch.templates.setdefault(update.business_account_id, []).append(update)
            continue
        if change_field in LIMIT_FIELDS:
            limit = limit_update(item)
            if limit is not None:
                batch.limits.setdefault(limit.business_account_id, []).append(limit)
            continue
        if not _on_phone_number(change_field, value):
            continue  # a business-account field Drip does not read
        account = batch.for_account(_phone_number_id(path, value))
        if change_field == "user_preferences":
            account.opt_outs.extend(_opt_outs(path, value))
            continue
        senders = _senders(path, value)
        for i, status in enumerate(_list(value, "statuses", path)):
            account.statuses.append(_status(f"{path}.statuses[{i}]", status))
        for i, message in enumerate(_list(value, "messages", path)):
            account.messages.append(_message(f"{path}.messages[{i}]", message, senders))
    return batch


def _changes(payload: dict):
    """(field, {"path", "value"}) for each change of each entry."""
    if not isinstance(payload, dict) or not isinstance(payload.get("entry"), list):
        raise WebhookFormatError("The body must be a JSON object with an 'entry' list.")
    for i, entry in enumerate(payload["entry"]):
        entry_path = f"entry[{i}]"
        if not isinstance(entry, dict):
            raise WebhookFormatError(f"{entry_path} must be an object.")
        for j, change in enumerate(_list(entry, "changes", entry_path)):
            path = f"{entry_path}.changes[{j}]"
            if not isinstance(change, dict):
                raise WebhookFormatError(f"{path} must be an object.")
            change_field = _optional_str(change, "field", path)
            value = change.get("value")
            if not isinstance(value, dict):
                raise WebhookFormatError(f"{path}.value must be an object.")
            item = {"path": f"{path}.value", "value": value}
            yield change_field, {**item, "entry": entry, "entry_path": entry_path}


def _phone_number_id(path: str, value: dict) -> str:
    metadata = value.get("metadata")
    if not isinstance(metadata, dict):
        raise WebhookFormatError(f"{path}.metadata must be an object.")
    return _id(metadata, "phone_number_id", f"{path}.metadata")


@dataclass(frozen=True)
class _Sender:
    """One entry of a change's `contacts`: the phone (wa_id, absent for a user with a username
    whose number Meta does not share), the BSUID (user_id) and the profile name."""

    wa_id: str | None
    user_id: str | None
    name: str | None


def _senders(path: str, value: dict) -> list[_Sender]:
    senders = []
    for i, contact in enumerate(_list(value, "contacts", path)):
        contact_path = f"{path}.contacts[{i}]"
        if not isinstance(contact, dict):
            raise WebhookFormatError(f"{contact_path} must be an object.")
        wa_id = _optional_str(contact, "wa_id", contact_path)
        user_id = _user_id(contact, "user_id", contact_path)
        profile = contact.get("profile")
        name = None
        if profile is not None:
            if not isinstance(profile, dict):
                raise WebhookFormatError(f"{contact_path}.profile must be an object.")
            name = _optional_str(profile, "name", f"{contact_path}.profile")
        senders.append(_Sender(wa_id, user_id, name))
    return senders


def _user_id(container: dict, key: str, path: str) -> str | None:
    """An optional BSUID; one longer than any Meta makes is dropped (nothing stores it)."""
    value = _optional_str(container, key, path)
    if value is None or not value.strip() or len(value) > MAX_USER_ID_LENGTH:
        return None
    return value.strip()


def _sender_of(phone: str | None, user_id: str | None, senders: list[_Sender]) -> _Sender | None:
    """The `contacts` entry of a message's sender: the one with its phone or its BSUID, else
    the only one (a change carries one message, and its sender)."""
    for sender in senders:
        if (phone and sender.wa_id == phone) or (user_id and sender.user_id == user_id):
            return sender
    return senders[0] if len(senders) == 1 and not (phone and senders[0].wa_id) else None


def _status(path: str, item) -> StatusUpdate:
    if not isinstance(item, dict):
        raise WebhookFormatError(f"{path} must be an object.")
    errors = _list(item, "errors", path)
    for i, error in enumerate(errors):
        if not isinstance(error, dict):
            raise WebhookFormatError(f"{path}.errors[{i}] must be an object.")
    return StatusUpdate(
        wamid=_id(item, "id", path),
        status=_required_str(item, "status", path),
        timestamp=_timestamp(item, path),
        recipient=_optional_str(item, "recipient_id", path),
        callback_data=_optional_str(item, "biz_opaque_callback_data", path),
        errors=[_error(error) for error in errors],
        recipient_user_id=_user_id(item, "recipient_user_id", path),
        pricing=_pricing(item.get("pricing")),
    )


def _pricing(value) -> dict | None:
    """A status's pricing {billable, pricing_model, type, category} as clean values (short
    text, a bool or None), or None when it has none. Never refuses the delivery over it."""
    if not isinstance(value, dict):
        return None
    billable = value.get("billable")
    clean: dict = {"billable": billable if isinstance(billable, bool) else None}
    for key, limit in (("pricing_model", 16), ("type", 32), ("category", 32)):
        item = value.get(key)
        clean[key] = (_clean(item)[:limit] or None) if isinstance(item, str) else None
    return clean


def _error(error: dict) -> dict:
    """The parts of a status error that are read (app.whatsapp.errors.SendError), as clean
    values: text that a database can store, and a code only when it is a plausible number.
    Applying a delivery failed on every try with a 24-digit code (PostgreSQL's String(16)) or
    "²" (isdigit() but not int()): found by the fuzz of tests/unit/test_fuzz_webhooks.py."""
    code = error.get("code")
    if isinstance(code, str) and code.strip().isascii() and code.strip().isdigit():
        code = int(code.strip()) if len(code.strip()) < 10 else None
    if isinstance(code, bool) or not isinstance(code, int) or not 0 <= code < _MAX_ERROR_CODE:
        code = None
    data = error.get("error_data")
    details = data.get("details") if isinstance(data, dict) else None
    clean = {"code": code}
    for key in ("title", "message", "error_user_msg"):
        if isinstance(error.get(key), str):
            clean[key] = _clean(error[key])
    if isinstance(details, str):
        clean["error_data"] = {"details": _clean(details)}
    return clean


def _message(path: str, item, senders: list[_Sender]) -> InboundMessageEvent:
    """One message. `from` (the phone) is there only when Meta shares the sender's number;
    the sender's BSUID is the message's `from_user_id`, or its `contacts` entry's `user_id`."""
    if not isinstance(item, dict):
        raise WebhookFormatError(f"{path} must be an object.")
    from_phone = _id(item, "from", path) if item.get("from") is not None else None
    user_id = _user_id(item, "from_user_id", path)
    sender = _sender_of(from_phone, user_id, senders)
    if sender is not None:
        from_phone = from_phone or sender.wa_id
        user_id = user_id or sender.user_id
    if from_phone is None and user_id is None:
        raise WebhookFormatError(
            f"{path} names no sender: it needs 'from' or 'from_user_id' "
            "(or a contacts entry with wa_id or user_id)."
        )
    message_type = _optional_str(item, "type", path) or "unknown"
    if len(message_type) > MAX_TYPE_LENGTH:
        raise WebhookFormatError(f"{path}.type is longer than {MAX_TYPE_LENGTH} characters.")
    text = payload = title = None
    if message_type == "text":
        text = _optional_str(_object(item, "text", path), "body", f"{path}.text")
    elif message_type == "button":
        button = _object(item, "button", path)
        payload = _optional_str(button, "payload", f"{path}.button")
        title = _optional_str(button, "text", f"{path}.button")
    elif message_type == "interactive":
        interactive = _object(item, "interactive", path)
        for kind in ("button_reply", "list_reply"):
            if kind in interactive and interactive[kind] is not None:
                reply = _object(interactive, kind, f"{path}.interactive")
                payload = _optional_str(reply, "id", f"{path}.interactive.{kind}")
                title = _optional_str(reply, "title", f"{path}.interactive.{kind}")
                break
    context = item.get("context")
    if context is not None and not isinstance(context, dict):
        raise WebhookFormatError(f"{path}.context must be an object.")
    context_id = _optional_str(context, "id", f"{path}.context") if context else None
    if context_id is not None and len(context_id) > MAX_ID_LENGTH:
        context_id = None  # no message of ours has such an id: a reply to nothing we sent
    return InboundMessageEvent(
        message_id=_id(item, "id", path),
        from_phone=from_phone,
        timestamp=_timestamp(item, path),
        message_type=message_type,
        text=text,
        button_payload=payload,
        context_wamid=context_id,
        profile_name=sender.name if sender is not None else None,
        button_title=title,
        from_user_id=user_id,
    )


def _opt_outs(path: str, value: dict) -> list[MarketingOptOut]:
    found = []
    for i, item in enumerate(_list(value, "user_preferences", path)):
        item_path = f"{path}.user_preferences[{i}]"
        if not isinstance(item, dict):
            raise WebhookFormatError(f"{item_path} must be an object.")
        user_id = _user_id(item, "user_id", item_path)
        wa_id = _id(item, "wa_id", item_path) if user_id is None or item.get("wa_id") else None
        preference = _optional_str(item, "value", item_path)
        category = _optional_str(item, "category", item_path)
        at = _timestamp(item, item_path)
        if preference == "stop" and category in (None, "marketing_messages"):
            found.append(MarketingOptOut(wa_id, at, user_id))
    return found
