"""The forecast's audience as cohorts: contacts that share their first step, how many of the
following steps reach them inside their 24-hour window, their market and their send dates.

- A new enrollment (a tag, or contact ids) starts everyone at the first step at the same time:
  it is grouped in SQL, one row per (phone prefix, steps inside the window), never per contact.
  The number's first digits (the calling code and what follows) decide the market.
- The live enrollments start at their own next send: they are streamed as plain rows
  (yield_per), never ORM objects, and counted in Python by the same key.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from sqlalchemy import Select, case, exists, func, select
from sqlalchemy.orm import Session

from app.drip.engagement import SERVICE_WINDOW, window_open
from app.drip.enrollment import LIVE_STATUSES, contact_filter
from app.drip.sql import as_utc
from app.models import Contact, DripCampaign, DripEnrollment

STREAM_ROWS = 2_000
# "+" and six digits: the calling code and the leading digits that tell its countries apart (+1
# and an area code, +44 7624 the Isle of Man, +7 7 Kazakhstan): one market per prefix.
PREFIX_CHARS = 7


@dataclass(frozen=True)
class Cohort:
    first: int  # index of the step each of them gets next
    inside: int  # steps first..inside-1 reach them inside their window, the rest outside
    market: str | None
    dates: tuple[date, ...]  # estimated send date of every step (from `first` on)


def offsets(steps) -> list[timedelta]:
    """How long after the first step each step goes out (the delays, added up)."""
    result, total = [], timedelta(0)
    for i, step in enumerate(steps):
        if i:
            total += timedelta(**{step.delay_unit: step.delay_amount})
        result.append(total)
    return result


def new_enrollment_target(
    campaign: DripCampaign,
    *,
    tag: str | None = None,
    contact_ids: list[int] | None = None,
    search: dict | None = None,
) -> Select:
    """SELECT Contact.id of those an enrollment would add: the chosen contacts but the opted
    out, the ones live in this campaign and (without re-enrollment) the ones who completed it,
    as enroll() skips them."""
    if search is not None:
        target = contact_filter(campaign.organization_id, q=search["q"], tag=search["tag"])
    elif tag is not None:
        target = contact_filter(campaign.organization_id, tag=tag)
    else:
        target = select(Contact.id).where(
            Contact.organization_id == campaign.organization_id, Contact.id.in_(contact_ids)
        )
    enrolled = select(DripEnrollment.id).where(
        DripEnrollment.campaign_id == campaign.id, DripEnrollment.contact_id == Contact.id
    )
    skipped = enrolled.where(DripEnrollment.status.in_(LIVE_STATUSES))
    if not campaign.allow_reenrollment:
        skipped = enrolled.where(DripEnrollment.status.in_((*LIVE_STATUSES, "completed")))
    return target.where(Contact.opted_out_at.is_(None), ~exists(skipped))


def new_enrollment_cohorts(
    session: Session, target: Select, start: datetime, steps, market: Callable
) -> Counter:
    """Cohorts of a new enrollment whose first step goes out at `start`, grouped in SQL."""
    shifts = offsets(steps)
    dates = tuple((start + shift).date() for shift in shifts)
    # Inside at step i when last_inbound_at > send time - 24 h (engagement.window_open); the
    # thresholds grow with i, so the steps inside the window are always the first ones.
    limits = [start + shift - SERVICE_WINDOW for shift in shifts]
    inside = case(
        *[(Contact.last_inbound_at > limits[i], i + 1) for i in reversed(range(len(limits)))],
        else_=0,
    )
    rows = target.with_only_columns(
        func.substr(Contact.phone, 1, PREFIX_CHARS).label("prefix"),
        inside.label("inside"),
        Contact.phone.label("phone"),
    ).subquery()
    grouped = select(rows.c.prefix, rows.c.inside, func.min(rows.c.phone), func.count()).group_by(
        rows.c.prefix, rows.c.inside
    )
    cohorts: Counter = Counter()
    for _prefix, inside_steps, phone, count in session.execute(grouped):
        cohorts[Cohort(0, int(inside_steps), market(phone), dates)] += count
    return cohorts


def live_cohorts(
    session: Session, campaign: DripCampaign, now: datetime, steps, market: Callable
) -> Counter:
    """Cohorts of the campaign's live (active or paused) enrollments, each from its current
    step at its next send (now if that has passed)."""
    index = {step.id: i for i, step in enumerate(steps)}
    shifts = offsets(steps)
    markets: dict[str | None, str | None] = {}
    rows = session.execute(
        select(
            DripEnrollment.current_step_id,
            DripEnrollment.next_send_at,
            Contact.last_inbound_at,
            Contact.phone,
        )
        .join(Contact, Contact.id == DripEnrollment.contact_id)
        .where(
            DripEnrollment.campaign_id == campaign.id,
            DripEnrollment.status.in_(LIVE_STATUSES),
        )
        .execution_options(yield_per=STREAM_ROWS)
    )
    cohorts: Counter = Counter()
    for step_id, next_send_at, last_inbound_at, phone in rows:
        first = index.get(step_id)
        if first is None:
            continue
        start = max(as_utc(next_send_at) if next_send_at else now, now)
        at = [start + shifts[i] - shifts[first] for i in range(first, len(steps))]
        inside = first
        while inside < len(steps) and window_open(last_inbound_at, at[inside - first]):
            inside += 1
        prefix = phone[:PREFIX_CHARS] if phone else None
        if prefix not in markets:
            markets[prefix] = market(phone)
        cohorts[Cohort(first, inside, markets[prefix], tuple(a.date() for a in at))] += 1
    return cohorts
