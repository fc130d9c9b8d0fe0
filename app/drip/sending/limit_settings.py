"""The organization's sending limits, as the settings page and PATCH /api/settings change
them (one domain function, audited): the WhatsApp account's messaging limit, the frequency
cap on marketing messages and how many times a per-user marketing cap (131049) is retried."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from app.drip import audit
from app.drip.audit import Actor
from app.drip.errors import ValidationError
from app.models import Organization, WhatsAppAccount

UNSET = object()
MESSAGING_LIMIT_MAX = 1_000_000_000
CAP_MESSAGES_MAX = 1_000
CAP_DAYS_MAX = 365
CAP_RETRIES_MAX = 10
# Meta's tiers (DESIGN "WhatsApp as it is in 2026"); any positive number may be typed.
MESSAGING_TIERS = (250, 2_000, 10_000, 100_000)


def _whole(value, field: str, low: int, high: int, errors: dict) -> int | None:
    if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
        errors[field] = f"A whole number from {low:,} to {high:,}."
        return None
    return value


def update_sending_limits(
    session: Session,
    actor: Actor,
    organization_id: int,
    *,
    messaging_limit=UNSET,
    frequency_cap=UNSET,
    marketing_cap_retries=UNSET,
) -> Organization:
    """Set what is given: messaging_limit (None: no limit), frequency_cap ((messages, days),
    or None: no cap), marketing_cap_retries; ValidationError names each bad field."""
    org = session.get(Organization, organization_id)
    account = session.scalar(
        select(WhatsAppAccount).where(WhatsAppAccount.organization_id == organization_id)
    )
    errors: dict[str, str] = {}
    values: dict[tuple, object] = {}
    if messaging_limit is not UNSET:
        if account is None:
            errors["messaging_limit"] = "Connect a WhatsApp account first: the limit is its own."
        elif messaging_limit is None:
            values[(account, "messaging_limit")] = None
        else:
            limit = _whole(messaging_limit, "messaging_limit", 1, MESSAGING_LIMIT_MAX, errors)
            values[(account, "messaging_limit")] = limit
    if frequency_cap is not UNSET:
        messages, days = frequency_cap if frequency_cap is not None else (None, None)
        if (messages is None) != (days is None):
            field = "frequency_cap_days" if days is None else "frequency_cap_messages"
            errors[field] = "Give both the number of messages and the days, or neither."
        elif messages is not None:
            messages = _whole(messages, "frequency_cap_messages", 1, CAP_MESSAGES_MAX, errors)
            days = _whole(days, "frequency_cap_days", 1, CAP_DAYS_MAX, errors)
        values[(org, "frequency_cap_messages")] = messages
        values[(org, "frequency_cap_days")] = days
    if marketing_cap_retries is not UNSET:
        retries = _whole(marketing_cap_retries, "marketing_cap_retries", 0, CAP_RETRIES_MAX, errors)
        values[(org, "marketing_cap_retries")] = retries
    if errors:
        raise ValidationError("The sending limits need attention.", errors)
    changes = {}
    for (row, name), value in values.items():
        if getattr(row, name) != value:
            changes[name] = [getattr(row, name), value]
            setattr(row, name, value)
    if changes:
        audit.record_for_organization(
            session, actor, organization_id, "settings.sending_limits_changed", changes=changes
        )
    session.flush()
    return org
