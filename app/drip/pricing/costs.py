"""The cost of delivered messages, from what Meta's status webhooks say (pricing {billable,
pricing_model, type, category}), the recipient's market and the rate card on the message's
date. Set-based: the caller loads the card once and the recipients' markets in one query."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from app.drip.pricing.cards import RateCard
from app.drip.pricing.markets import market_for_phone
from app.models import Contact

# Meta's pricing categories (lower case in webhooks) as the card's categories.
_CATEGORY = {
    "marketing": "MARKETING",
    "marketing_lite": "MARKETING",
    "utility": "UTILITY",
    "authentication": "AUTHENTICATION",
    "authentication_international": "AUTHENTICATION_INTERNATIONAL",
    "authentication-international": "AUTHENTICATION_INTERNATIONAL",
    "service": "SERVICE",
    "referral_conversion": "SERVICE",
}


def card_category(pricing_category: str | None) -> str | None:
    """The rate card's category of Meta's pricing category ("marketing" -> "MARKETING")."""
    if not pricing_category:
        return None
    key = pricing_category.strip().lower()
    return _CATEGORY.get(key, key.upper()[:32])


def contact_markets(session: Session, contact_ids) -> dict[int, str | None]:
    """contact id -> market of its phone (None without a phone), in one query."""
    ids = sorted({i for i in contact_ids if i is not None})
    if not ids:
        return {}
    rows = session.execute(select(Contact.id, Contact.phone).where(Contact.id.in_(ids)))
    return {cid: market_for_phone(phone) for cid, phone in rows}


def priced_values(
    card: RateCard, market: str | None, pricing: dict, at: datetime
) -> dict[str, object]:
    """The message log's pricing columns for a status's pricing object: Meta's fields as sent,
    the market, and the cost on `at`'s date (0 when not billable; None when the card has no
    price for the market and category)."""
    billable = pricing.get("billable")
    category = card_category(pricing.get("category"))
    price = card.cost_of(market, category, at.date(), billable=billable is not False)
    return {
        "pricing_billable": billable if isinstance(billable, bool) else None,
        "pricing_model": pricing.get("pricing_model"),
        "pricing_type": pricing.get("type"),
        "pricing_category": category,
        "market": market,
        "cost": price.amount if price else None,
        "currency": price.currency if price else None,
    }
