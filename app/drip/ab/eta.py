"""When a running test can decide: how many more sends each variant needs, the date that is
likely at the step's recent pace, and whether the step can get there at all.

The target is what the auto-winner rule needs (app.drip.ab.sequential): every variant with
min_sample_size sends past the outcome window. Once that is met and the difference is not
significant yet, the target becomes planned_n, the size the sequential boundary is tuned for
(it can decide before, but that is when it is likeliest to).

The pace is the step's sends in the last 7 days (all of them: assignment splits them by the
allocations), per day over those 7 days or over the span since the first of them when the
step is younger. The remaining audience is the campaign's active enrollments not yet past
the step. Both are counted in SQL, for many tests in a few queries.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta, tzinfo

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from app.drip.sql import as_utc
from app.models import DripAbTest, DripCampaign, DripCampaignStep, DripEnrollment, DripMessageLog

RECENT = timedelta(days=7)
LIVE = ("running", "paused")


@dataclass(frozen=True, slots=True)
class StepPace:
    """A tested step's recent sends and the contacts still to reach it."""

    recent: int = 0  # sends in the last 7 days
    days: float = 7.0  # the span they are counted over
    audience: int = 0  # active enrollments not yet past the step
    campaign_status: str = "active"

    @property
    def per_day(self) -> float:
        return self.recent / self.days if self.days > 0 else 0.0


@dataclass(frozen=True, slots=True)
class Eta:
    """What the page and the API say about the sends a decision still needs."""

    sends_needed: int | None  # more sends per variant (the variant furthest behind)
    sends_so_far: int | None  # sends of the variant furthest behind
    target: int | None  # sends per variant aimed at
    per_day: float | None  # the step's sends per day, recently
    expected_at: datetime | None
    reachable: bool | None
    note: str


def step_paces(session: Session, tests: Sequence[DripAbTest], now: datetime) -> dict[int, StepPace]:
    """{test id: pace} for the running and paused tests, in four queries."""
    live = [t for t in tests if t.status in LIVE]
    if not live:
        return {}
    step_ids = {t.step_id for t in live}
    campaign_ids = {t.campaign_id for t in live}
    log, since = DripMessageLog, now - RECENT
    recent = {
        step_id: (int(n), first)
        for step_id, n, first in session.execute(
            select(log.step_id, func.count(), func.min(log.sent_at))
            .where(
                log.campaign_id.in_(campaign_ids),
                log.step_id.in_(step_ids),
                log.sent_at >= since,
            )
            .group_by(log.step_id)
        )
    }
    positions = dict(
        session.execute(
            select(DripCampaignStep.id, DripCampaignStep.position).where(
                DripCampaignStep.id.in_(step_ids)
            )
        ).all()
    )
    e, s = DripEnrollment, DripCampaignStep
    waiting: dict[int, list[tuple[int, int]]] = {}
    for campaign_id, position, n in session.execute(
        select(e.campaign_id, s.position, func.count())
        .join(s, s.id == e.current_step_id)
        .where(e.campaign_id.in_(campaign_ids), e.status == "active")
        .group_by(e.campaign_id, s.position)
    ):
        waiting.setdefault(campaign_id, []).append((int(position), int(n)))
    statuses = dict(
        session.execute(
            select(DripCampaign.id, DripCampaign.status).where(DripCampaign.id.in_(campaign_ids))
        ).all()
    )
    paces = {}
    for test in live:
        n, first = recent.get(test.step_id, (0, None))
        days = RECENT.total_seconds()
        if first is not None:
            days = min(days, max((now - as_utc(first)).total_seconds(), 86_400.0))
        position = positions.get(test.step_id, 0)
        audience = sum(k for p, k in waiting.get(test.campaign_id, []) if p <= position)
        status = statuses.get(test.campaign_id, "active")
        paces[test.id] = StepPace(n, days / 86_400, audience, status)
    return paces


def day_text(at: datetime, zone: tzinfo, now: datetime) -> str:
    """ "14 December" (with the year when it is not this year's), on the zone's calendar."""
    local = at.astimezone(zone)
    text = f"{local.day} {local:%B}"
    return text if local.year == now.astimezone(zone).year else f"{text} {local.year}"


def estimate(
    test: DripAbTest,
    sends: Sequence[tuple[int, float]],
    code: str,
    planned_n: int,
    pace: StepPace | None,
    now: datetime,
    zone: tzinfo,
) -> Eta:
    """sends: (sends so far, allocation) per variant; code: the auto-winner decision's."""
    if test.status not in LIVE:
        note = "Starts counting when the test starts." if test.status == "draft" else "Decided."
        return Eta(None, None, None, None, None, None, note)
    pace = pace or StepPace()
    fewest = min((n for n, _ in sends), default=0)
    settled = _settled(test, code, fewest, planned_n, now, zone)
    if settled is not None:
        note, at, reachable = settled
        return Eta(0, fewest, None, pace.per_day, at, reachable, note)
    target = test.min_sample_size if fewest < test.min_sample_size else planned_n
    return _ahead(test, sends, target, pace, now, zone)


def _settled(test, code, fewest, planned_n, now, zone):
    """(note, date, reachable) when no more sends are needed or none would help."""
    minimum = test.min_sample_size
    if code == "too_few_variants":
        return "The test needs a variant besides the control.", None, False
    if code == "winner":
        return "The data point to a winner: Drip declares it at its next check.", None, True
    if code == "srm":
        return (
            "No date: the split of contacts does not follow the allocation (sample ratio "
            "mismatch), so no winner is declared until that is explained.",
            None,
            None,
        )
    if fewest >= minimum and code == "waiting":
        at = now + timedelta(hours=test.outcome_window_hours)
        return (
            f"Every variant has the {minimum:,} sends a decision needs; their outcomes are "
            f"known once the {test.outcome_window_hours}-hour outcome window has passed, by "
            f"{day_text(at, zone, now)} at the latest.",
            at,
            True,
        )
    if fewest >= max(minimum, planned_n):
        return (
            f"No significant difference after {planned_n:,} sends per variant, the size the "
            "test is tuned for: the variants may well perform alike.",
            None,
            True,
        )
    return None


def _ahead(test, sends, target, pace: StepPace, now, zone) -> Eta:
    required = target == test.min_sample_size
    total = sum(share for _, share in sends) or 1.0
    needed = max(max(0, target - n) for n, _ in sends)
    fewest = min(n for n, _ in sends)
    # The step's sends split by the allocations: the variant with the most to go for its
    # share sets how many sends of the step are needed in all.
    step_sends = math.ceil(
        max((max(0, target - n) * total / share for n, share in sends if share > 0), default=0)
    )
    what = f"about {needed:,} more sends per variant" + (
        "" if required else f" (the test is tuned for {target:,})"
    )
    note, reachable = _obstacle(test, what, step_sends, required, pace)
    at = None
    if note is None:
        at = now + timedelta(days=step_sends / pace.per_day, hours=test.outcome_window_hours)
        note = (
            f"Needs {what}: around {day_text(at, zone, now)} at the current rate of "
            f"{_per_day(pace.per_day)} sends a day on this step, with the "
            f"{test.outcome_window_hours}-hour outcome window."
        )
    return Eta(needed, fewest, target, pace.per_day, at, reachable, note)


def _obstacle(test, what: str, step_sends: int, required: bool, pace: StepPace):
    """(note, reachable) when no date can be given; (None, True) when one can."""
    if pace.audience < step_sends:
        tail = (
            ": the test cannot reach a decision unless more contacts are enrolled"
            if required
            else ""
        )
        left = f"only {pace.audience:,} contacts are still to reach this step"
        return f"Needs {what}, but {left}{tail}.", not required
    campaign = pace.campaign_status
    if campaign != "active" and pace.recent == 0:
        return (
            f"Needs {what}, but the campaign is {campaign} and the step sent nothing in the "
            "last 7 days: the test gets no more data until the campaign is active.",
            False,
        )
    if campaign != "active":
        return (
            f"Needs {what}; the campaign is {campaign}: nothing is sent until it is active.",
            True,
        )
    if test.status == "paused":
        return f"Needs {what}; the test is paused and counts no sends until it is resumed.", True
    if pace.recent == 0:
        return f"Needs {what}; the step sent nothing in the last 7 days, so no date yet.", True
    return None, True


def _per_day(value: float) -> str:
    return f"{value:,.0f}" if value >= 10 else f"{value:.1f}".removesuffix(".0")
