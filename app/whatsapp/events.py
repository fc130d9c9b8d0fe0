"""What Meta's webhook reports, as the adapter's own types: a message's status and a
contact's message. The domain applies them; parsing Meta's JSON into them is webhook.py's."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime


@dataclass(frozen=True)
class StatusUpdate:
    wamid: str
    status: str  # sent | delivered | read | failed
    timestamp: datetime
    recipient: str | None = None  # recipient_id: the phone, only when the send went to one
    callback_data: str | None = None  # "log=<message log id>" as the processor sent it
    errors: list[dict] = field(default_factory=list)  # [{"code": int, "title": str, ...}]
    recipient_user_id: str | None = None  # the recipient's business-scoped user id (BSUID)
    # Meta's pricing object as clean values: {"billable": bool | None, "pricing_model": str,
    # "type": str, "category": str} (strings None when absent); None when the status has none.
    pricing: dict | None = None


@dataclass(frozen=True)
class InboundMessageEvent:
    message_id: str
    # Digits as Meta sends them (no '+'); None for a user with a username whose phone number
    # Meta does not share: such a message carries only the sender's BSUID (from_user_id).
    from_phone: str | None
    timestamp: datetime
    message_type: str  # text | button | interactive | ...
    text: str | None = None
    button_payload: str | None = None  # button.payload, or interactive button_reply.id
    context_wamid: str | None = None
    profile_name: str | None = None
    button_title: str | None = None  # button.text, or interactive button_reply/list_reply title
    from_user_id: str | None = None  # the sender's business-scoped user id ("US.1349...")


@dataclass(frozen=True)
class TemplateUpdate:
    """A change Meta reports about a template of a WhatsApp Business Account: its status
    (message_template_status_update), quality score (message_template_quality_update) or
    category (template_category_update, completed changes only)."""

    business_account_id: str  # the entry's id: the WABA, not a phone number
    kind: str  # status | quality | category
    occurred_at: datetime  # the entry's `time`: which of two updates is the newer
    name: str
    language: str
    template_id: str | None = None  # message_template_id (a number in Meta's JSON)
    value: str | None = None  # the status event, the new quality score or the new category
    reason: str | None = None  # status updates: why (REJECTED, PAUSED...); "NONE" is None
    category: str | None = None  # message_template_category (status), new_category (category)


@dataclass(frozen=True)
class LimitUpdate:
    """The business's messaging limit as Meta reports it on the WhatsApp Business Account
    (phone_number_quality_update: `max_daily_conversations_per_business`, or the older
    `current_limit`): a tier label such as TIER_2K, or a number."""

    business_account_id: str  # the entry's id
    occurred_at: datetime
    label: str
    display_phone_number: str | None = None
