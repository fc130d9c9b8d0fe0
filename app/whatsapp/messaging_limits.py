"""Meta's messaging limit labels as numbers: unique people a business portfolio may reach
outside their 24-hour window in a moving 24 hours.

Meta reports the limit as a tier label: `whatsapp_business_manager_messaging_limit` of
`GET /{phone-number-id}` (the older `messaging_limit_tier` is deprecated), `current_limit` of
the `phone_number_quality_update` webhook (being replaced by
`max_daily_conversations_per_business`). Labels are TIER_50 .. TIER_UNLIMITED; a bare number
("2000") is read as itself. TIER_NOT_SET (never sent yet) says nothing."""

from __future__ import annotations

TIERS = {
    "TIER_50": 50,
    "TIER_250": 250,
    "TIER_1K": 1_000,
    "TIER_2K": 2_000,
    "TIER_10K": 10_000,
    "TIER_100K": 100_000,
    "TIER_UNLIMITED": None,
    "UNLIMITED": None,
}
UNKNOWN_LIMIT = object()  # the label says nothing: keep the stored limit


def messaging_limit_of(label: object):
    """The limit a label names (None: unlimited), or UNKNOWN_LIMIT."""
    if isinstance(label, int) and not isinstance(label, bool) and label > 0:
        return label
    if not isinstance(label, str):
        return UNKNOWN_LIMIT
    text = label.strip().upper().replace(",", "")
    if text in TIERS:
        return TIERS[text]
    if text.isdigit() and 0 < int(text) <= 1_000_000_000:
        return int(text)
    return UNKNOWN_LIMIT
