"""What a campaign's messages cost: SUM(drip_message_logs.cost), set from Meta's pricing
webhooks and the rate card (app.drip.engagement.costs). Per step (through the index on
(campaign_id, step_id)) and per local day of sent_at. A card may hold several currencies:
each sum is kept per currency, and `cost` is the one with the most priced messages."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal
from functools import lru_cache

from sqlalchemy import bindparam, func, select
from sqlalchemy.orm import Session

from app.drip.analytics.local_days import LocalDays
from app.drip.analytics.shared import shared
from app.drip.sql import BUCKET_SECONDS, epoch_seconds
from app.models import DripMessageLog

_L = DripMessageLog


@dataclass
class Spend:
    """Sums per currency, and how many priced messages each has."""

    sums: dict[str, Decimal] = field(default_factory=dict)
    priced: dict[str, int] = field(default_factory=dict)

    def add(self, currency: str, amount, count: int) -> None:
        self.sums[currency] = self.sums.get(currency, Decimal(0)) + Decimal(amount or 0)
        self.priced[currency] = self.priced.get(currency, 0) + int(count)

    def merge(self, other: Spend) -> None:
        for currency, amount in other.sums.items():
            self.add(currency, amount, other.priced[currency])

    @property
    def currency(self) -> str | None:
        return max(self.priced, key=lambda c: (self.priced[c], c)) if self.priced else None

    @property
    def cost(self) -> Decimal | None:
        """The sum in the main currency; None when no message is priced yet."""
        return self.sums[self.currency] if self.currency else None

    def fields(self) -> dict:
        answer = {"cost": self.cost, "currency": self.currency}
        if len(self.sums) > 1:
            answer["costByCurrency"] = dict(self.sums)
        return answer


# Built once (a page runs it every time): building a statement costs more than running it.
_STEP_SPEND = (
    select(_L.step_id, _L.currency, func.sum(_L.cost), func.count(_L.cost))
    .where(
        _L.campaign_id == bindparam("campaign_id"),
        _L.cost.is_not(None),
        _L.currency.is_not(None),
    )
    .group_by(_L.step_id, _L.currency)
)


@shared
def step_spend(session: Session, campaign_id: int) -> dict[int, Spend]:
    """step id -> what its messages cost."""
    rows = session.execute(_STEP_SPEND, {"campaign_id": campaign_id})
    spend: dict[int, Spend] = defaultdict(Spend)
    for step_id, currency, amount, count in rows:
        spend[step_id].add(currency, amount, count)
    return dict(spend)


def total_spend(by_step: dict[int, Spend]) -> Spend:
    total = Spend()
    for spend in by_step.values():
        total.merge(spend)
    return total


# Once per LocalDays.shape: the zone's offsets are bound.
@lru_cache(maxsize=32)
def _day_spend(shape: int):
    day = LocalDays.day_sql(epoch_seconds(_L.sent_at) // BUCKET_SECONDS, shape).label("day")
    return (
        select(day, _L.currency, func.sum(_L.cost), func.count(_L.cost))
        .where(
            _L.campaign_id == bindparam("campaign_id"),
            _L.sent_at >= bindparam("start"),
            _L.sent_at < bindparam("end"),
            _L.cost.is_not(None),
            _L.currency.is_not(None),
        )
        .group_by(day, _L.currency)
    )


def day_spend(
    session: Session, campaign_id: int, start: datetime, end: datetime, days: LocalDays
) -> dict[date, Spend]:
    """Local day of sent_at -> what the messages sent that day cost, for sent_at in [start, end)."""
    params = {"campaign_id": campaign_id, "start": start, "end": end, **days.params()}
    rows = session.execute(_day_spend(days.shape), params)
    spend: dict[date, Spend] = defaultdict(Spend)
    for number, currency, amount, count in rows:
        spend[days.date(number)].add(currency, amount, count)
    return dict(spend)


def per(cost: Decimal | None, count: int) -> Decimal | None:
    """Cost per one of `count` (per read, per reply); None without a cost or a count."""
    return None if cost is None or not count else cost / count
