"""Template changes that arrive on the WhatsApp Business Account (entry.id is the WABA id,
there is no metadata.phone_number_id), read into TemplateUpdate. Pure.

Field names as Meta documents them (developers.facebook.com, WhatsApp webhooks reference:
message_template_status_update, message_template_quality_update, template_category_update).
"""

from __future__ import annotations

from app.whatsapp.events import TemplateUpdate
from app.whatsapp.fields import WebhookFormatError, _id, _optional_str, _required_str, _timestamp

# Changes that arrive on the WhatsApp Business Account (entry.id is the WABA id, there is no
# metadata.phone_number_id), by the kind of TemplateUpdate they make.
TEMPLATE_FIELDS = {
    "message_template_status_update": "status",
    "message_template_quality_update": "quality",
    "template_category_update": "category",
}
# The catalog's columns (app.models.WhatsAppTemplate): longer values are not Meta's.
_TEMPLATE_LIMITS = {"name": 512, "language": 16, "id": 64, "value": 32}


def template_update(kind: str, item: dict) -> TemplateUpdate | None:
    """The update a template change makes, or None when it changes nothing yet: an impending
    category change (it carries correct_category; its new_category is still the current one)."""
    path, value, entry = item["path"], item["value"], item["entry"]
    common = {
        "business_account_id": _id(entry, "id", item["entry_path"]),
        "kind": kind,
        "occurred_at": _timestamp(entry, item["entry_path"], "time"),
        "name": _bounded(value, "message_template_name", path, "name", required=True),
        "language": _bounded(value, "message_template_language", path, "language", required=True),
        "template_id": _template_id(value, path),
    }
    if kind == "status":
        reason = _optional_str(value, "reason", path)
        return TemplateUpdate(
            **common,
            value=_bounded(value, "event", path, "value", required=True),
            reason=None if reason in (None, "", "NONE") else reason,
            category=_bounded(value, "message_template_category", path, "value"),
        )
    if kind == "quality":
        score = _bounded(value, "new_quality_score", path, "value", required=True)
        return TemplateUpdate(**common, value=score)
    if value.get("correct_category") is not None:
        return None
    category = _bounded(value, "new_category", path, "value", required=True)
    return TemplateUpdate(**common, value=category, category=category)


def _template_id(value: dict, path: str) -> str | None:
    """message_template_id: a number in Meta's JSON; a string of digits is taken too."""
    raw = value.get("message_template_id")
    if raw is None:
        return None
    if isinstance(raw, int) and not isinstance(raw, bool) and raw >= 0:
        raw = str(raw)
    if not isinstance(raw, str) or not raw.strip().isascii() or not raw.strip().isdigit():
        raise WebhookFormatError(f"{path}.message_template_id must be a number.")
    if len(raw.strip()) > _TEMPLATE_LIMITS["id"]:
        raise WebhookFormatError(f"{path}.message_template_id is too long.")
    return raw.strip()


def _bounded(value: dict, key: str, path: str, limit: str, required: bool = False) -> str | None:
    text = _required_str(value, key, path) if required else _optional_str(value, key, path)
    if text is not None and len(text) > _TEMPLATE_LIMITS[limit]:
        raise WebhookFormatError(
            f"{path}.{key} is longer than {_TEMPLATE_LIMITS[limit]} characters."
        )
    return text
