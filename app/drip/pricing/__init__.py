"""What messages cost: the recipient's market (from the phone number's country, Meta's regions),
the organization's rate card (its own rows, or the default card shipped with the app), and the
cost of a delivered message by market, category and date."""

from app.drip.pricing.cards import (
    CATEGORIES,
    DEFAULT_SOURCE,
    OWN_SOURCE,
    Price,
    RateCard,
    Row,
    default_card,
    rate_card,
)
from app.drip.pricing.changes import parse_csv, replace_rate_card, validate_rows
from app.drip.pricing.costs import card_category, contact_markets, priced_values
from app.drip.pricing.markets import OTHER, market_for_country, market_for_phone, markets

__all__ = [
    "CATEGORIES",
    "DEFAULT_SOURCE",
    "OTHER",
    "OWN_SOURCE",
    "Price",
    "RateCard",
    "Row",
    "card_category",
    "contact_markets",
    "default_card",
    "market_for_country",
    "market_for_phone",
    "markets",
    "parse_csv",
    "priced_values",
    "rate_card",
    "replace_rate_card",
    "validate_rows",
]
