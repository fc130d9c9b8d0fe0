"""Goal conversions of a campaign's messaged enrollments for the funnel, engagement and the
daily series (issue 19): counted and summed in SQL on drip_conversions, per step (the step of
the last message sent before the conversion, attributed_step_id) and per local day of the
conversion. Holdout conversions are left out here: they are the lift's (analytics.lift).

A conversion may carry a value in any currency: revenue is summed per currency, and
`revenue` is the sum in the currency most conversions carry (`revenueByCurrency` lists them
all when there are several), like the costs."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal
from functools import lru_cache

from sqlalchemy import bindparam, func, select
from sqlalchemy.orm import Session

from app.drip import enrollment
from app.drip.analytics.local_days import LocalDays
from app.drip.analytics.shared import shared
from app.drip.sql import BUCKET_SECONDS, epoch_seconds
from app.models import DripConversion

_C = DripConversion
CONVERTED = enrollment.STOP_REASON_CONVERTED  # drip_enrollments.stop_reason


@dataclass
class Conversions:
    """How many conversions, and their values summed per currency."""

    count: int = 0
    sums: dict[str, Decimal] = field(default_factory=dict)
    valued: dict[str, int] = field(default_factory=dict)

    def add(self, currency: str | None, amount, count: int, valued: int) -> None:
        self.count += int(count)
        if currency is not None and valued:
            self.sums[currency] = self.sums.get(currency, Decimal(0)) + Decimal(amount or 0)
            self.valued[currency] = self.valued.get(currency, 0) + int(valued)

    def merge(self, other: Conversions) -> None:
        self.count += other.count
        for currency, amount in other.sums.items():
            self.add(currency, amount, 0, other.valued[currency])

    @property
    def currency(self) -> str | None:
        return max(self.valued, key=lambda c: (self.valued[c], c)) if self.valued else None

    @property
    def revenue(self) -> Decimal | None:
        """The sum in the main currency; None when no conversion carries a value."""
        return self.sums[self.currency] if self.currency else None

    def fields(self) -> dict:
        answer = {
            "conversions": self.count,
            "revenue": self.revenue,
            "revenueCurrency": self.currency,
        }
        if len(self.sums) > 1:
            answer["revenueByCurrency"] = dict(self.sums)
        return answer


def _columns():
    valued = func.count(_C.value)
    return _C.currency, func.count(), func.sum(_C.value), valued


def _messaged(campaign_id: int):
    return (_C.campaign_id == campaign_id, _C.enrollment_id.is_not(None))


# Built once (a page runs it every time): building a statement costs more than running it.
_STEP_CONVERSIONS = (
    select(_C.attributed_step_id, *_columns())
    .where(*_messaged(bindparam("campaign_id")))
    .group_by(_C.attributed_step_id, _C.currency)
)


@shared
def step_conversions(session: Session, campaign_id: int) -> dict[int | None, Conversions]:
    """attributed step id (None: before any message was sent) -> its conversions."""
    rows = session.execute(_STEP_CONVERSIONS, {"campaign_id": campaign_id})
    result: dict[int | None, Conversions] = defaultdict(Conversions)
    for step_id, currency, count, amount, valued in rows:
        result[step_id].add(currency, amount, count, valued)
    return dict(result)


def total(by_step: dict) -> Conversions:
    answer = Conversions()
    for conversions in by_step.values():
        answer.merge(conversions)
    return answer


# Once per LocalDays.shape: the zone's offsets are bound.
@lru_cache(maxsize=32)
def _day_conversions(shape: int):
    day = LocalDays.day_sql(epoch_seconds(_C.occurred_at) // BUCKET_SECONDS, shape).label("day")
    return (
        select(day, *_columns())
        .where(
            *_messaged(bindparam("campaign_id")),
            _C.occurred_at >= bindparam("start"),
            _C.occurred_at < bindparam("end"),
        )
        .group_by(day, _C.currency)
    )


def day_conversions(
    session: Session, campaign_id: int, start: datetime, end: datetime, days: LocalDays
) -> dict[date, Conversions]:
    """Local day of the conversion -> its conversions, for occurred_at in [start, end)."""
    params = {"campaign_id": campaign_id, "start": start, "end": end, **days.params()}
    rows = session.execute(_day_conversions(days.shape), params)
    result: dict[date, Conversions] = defaultdict(Conversions)
    for number, currency, count, amount, valued in rows:
        result[days.date(number)].add(currency, amount, count, valued)
    return dict(result)
