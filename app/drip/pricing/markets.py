"""The recipient's pricing market: the country of the phone number's calling code, in Meta's
grouping (named markets, regions such as "Rest of Western Europe", and "Other" for the rest).
The grouping is data (markets.json, its source stated there)."""

from __future__ import annotations

import json
from functools import cache
from pathlib import Path

import phonenumbers

OTHER = "Other"
_DATA = Path(__file__).with_name("markets.json")


@cache
def _table() -> tuple[dict[str, str], tuple[str, ...]]:
    data = json.loads(_DATA.read_text(encoding="utf-8"))
    by_country = {
        country: market for market, countries in data["markets"].items() for country in countries
    }
    return by_country, (*data["markets"], data.get("other", OTHER))


def markets() -> tuple[str, ...]:
    """Every market Meta prices, "Other" last."""
    return _table()[1]


def market_for_country(region_code: str | None) -> str | None:
    """The market of an ISO 3166 country code ("GB" -> "United Kingdom"), "Other" for a
    country in no listed market, None without a code."""
    if not region_code or region_code == "ZZ":
        return None
    return _table()[0].get(region_code.upper(), OTHER)


def market_for_phone(phone: str | None) -> str | None:
    """The market of a phone number (E.164, "+" optional), None when it has no country (no
    number, not a number, or a calling code shared by no country)."""
    if not phone:
        return None
    text = phone.strip()
    try:
        number = phonenumbers.parse(text if text.startswith("+") else f"+{text}", None)
    except phonenumbers.NumberParseException:
        return None
    # A number outside the plan of any country sharing its calling code (+44 7700 900...,
    # Ofcom's drama range) has no region of its own: its calling code's main country then.
    region = phonenumbers.region_code_for_number(number)
    return market_for_country(
        region or phonenumbers.region_code_for_country_code(number.country_code)
    )
