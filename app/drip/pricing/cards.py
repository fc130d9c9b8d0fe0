"""Rate cards: what a delivered message costs by market, category and date. An organization's
own rows (rate_card_entries) when it has any, else the default card shipped with the app
(default_rate_card.csv: its header comment says where the figures come from and whether they
are a sample)."""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from functools import cache
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.orm import Session

from app.models import RateCardEntry

CATEGORIES = ("MARKETING", "UTILITY", "AUTHENTICATION", "AUTHENTICATION_INTERNATIONAL", "SERVICE")
DEFAULT_CARD = Path(__file__).with_name("default_rate_card.csv")
DEFAULT_SOURCE = "default"
OWN_SOURCE = "organization"


@dataclass(frozen=True)
class Price:
    amount: Decimal
    currency: str


@dataclass(frozen=True)
class Row:
    market: str
    category: str
    price: Decimal
    currency: str
    effective_from: date

    def as_dict(self) -> dict:
        return {
            "market": self.market,
            "category": self.category,
            "price": self.price,
            "currency": self.currency,
            "effectiveFrom": self.effective_from,
        }


@dataclass
class RateCard:
    """A card's rows, looked up by (market, category) and date. `source` is "organization"
    (its own rows) or "default"; `sample` says the default's figures are a sample; `note` is
    the default card's header comment (where its figures come from)."""

    rows: list[Row]
    source: str
    sample: bool = False
    note: str = ""
    _index: dict[tuple[str, str], list[Row]] = field(default_factory=dict, repr=False)

    def __post_init__(self) -> None:
        for row in sorted(self.rows, key=lambda r: r.effective_from, reverse=True):
            self._index.setdefault((row.market.casefold(), row.category), []).append(row)

    @property
    def effective_date(self) -> date | None:
        """The newest date a row of the card takes effect on."""
        return max((r.effective_from for r in self.rows), default=None)

    @property
    def currencies(self) -> list[str]:
        return sorted({r.currency for r in self.rows})

    def price(self, market: str | None, category: str | None, on: date) -> Price | None:
        """The price of one delivered message: the row with the latest effective_from on or
        before `on`; None when the card has no such row (or no market/category)."""
        if not market or not category:
            return None
        for row in self._index.get((market.casefold(), category.upper()), ()):
            if row.effective_from <= on:
                return Price(row.price, row.currency)
        return None

    def cost_of(
        self, market: str | None, category: str | None, on: date, *, billable: bool = True
    ) -> Price | None:
        """What one message cost: 0 when Meta said it is not billable (in the card's currency
        for that market, when known), else price()."""
        price = self.price(market, category, on)
        if billable:
            return price
        currency = price.currency if price else (self.currencies or [None])[0]
        return Price(Decimal(0), currency) if currency else None


def rate_card(session: Session, organization_id: int) -> RateCard:
    """The organization's card: its own rows if it has any, else the default card."""
    entries = session.scalars(
        select(RateCardEntry).where(RateCardEntry.organization_id == organization_id)
    ).all()
    if not entries:
        return default_card()
    rows = [
        Row(e.market, e.category, Decimal(e.price), e.currency, e.effective_from) for e in entries
    ]
    return RateCard(rows, OWN_SOURCE)


@cache
def _default_rows() -> tuple[tuple[Row, ...], str]:
    text = DEFAULT_CARD.read_text(encoding="utf-8")
    note = " ".join(line.lstrip("# ").strip() for line in text.splitlines() if line.startswith("#"))
    body = "\n".join(line for line in text.splitlines() if not line.startswith("#"))
    rows = tuple(
        Row(
            r["market"],
            r["category"],
            Decimal(r["price"]),
            r["currency"],
            date.fromisoformat(r["effective_from"]),
        )
        for r in csv.DictReader(io.StringIO(body))
    )
    return rows, note


def default_card() -> RateCard:
    rows, note = _default_rows()
    return RateCard(list(rows), DEFAULT_SOURCE, sample=note.startswith("SAMPLE"), note=note)
