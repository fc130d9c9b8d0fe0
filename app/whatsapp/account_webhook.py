"""Business-account changes that carry the messaging limit, read into LimitUpdate. Pure.

`phone_number_quality_update` arrives on the WhatsApp Business Account (entry.id is the WABA
id, no metadata): `{display_phone_number, event, old_limit, current_limit,
max_daily_conversations_per_business}` (developers.facebook.com, "phone_number_quality_update
webhook reference"; `current_limit` is being replaced by `max_daily_conversations_per_business`,
read first). An event without a limit label changes nothing."""

from __future__ import annotations

from app.whatsapp.events import LimitUpdate
from app.whatsapp.fields import _id, _optional_str, _timestamp

LIMIT_FIELDS = ("phone_number_quality_update",)
_LABEL_KEYS = ("max_daily_conversations_per_business", "current_limit")
_MAX_LABEL = 32  # whatsapp_accounts.messaging_tier


def limit_update(item: dict) -> LimitUpdate | None:
    path, value, entry = item["path"], item["value"], item["entry"]
    label = None
    for key in _LABEL_KEYS:
        raw = value.get(key)
        if isinstance(raw, int) and not isinstance(raw, bool):
            raw = str(raw)
        if isinstance(raw, str) and raw.strip():
            label = raw.strip()[:_MAX_LABEL]
            break
    if label is None:
        return None
    return LimitUpdate(
        business_account_id=_id(entry, "id", item["entry_path"]),
        occurred_at=_timestamp(entry, item["entry_path"], "time"),
        label=label,
        display_phone_number=_optional_str(value, "display_phone_number", path),
    )
