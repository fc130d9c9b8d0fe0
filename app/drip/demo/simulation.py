"""The demo history as the system would have lived it, without a database: when people
signed up, and each one's way through the campaign: every send at the time the scheduler
would have chosen (app.drip.enrollment.schedule), its outcome (app.drip.demo.story), and how the
enrollment ended, as the processor, the webhook and the stop-on-reply and opt-out rules
would have left it. Nothing after `now` has happened: later events are left out.
"""

from __future__ import annotations

import random
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

from app.drip.demo.story import DRAWS_PER_SEND, Outcome, Response, between, outcome
from app.drip.engagement import ENROLLMENT_ENDING, REASON_KEYWORD, REASON_META_OPT_OUT
from app.drip.enrollment import (
    ALL_WEEKDAYS,
    STOP_REASON_OPTED_OUT,
    STOP_REASON_REPLIED,
    SendWindow,
    add_delay,
    in_window,
    local_to_utc,
    next_send_time,
)

HISTORY_DAYS = 60
# Sign-ups per local hour of the day, relative.
HOUR_WEIGHTS = (
    1, 0.5, 0.3, 0.2, 0.2, 0.4, 1, 2.5, 4, 5, 5.5, 6,
    7, 6.5, 5.5, 5, 5, 5.5, 6.5, 7.5, 8, 7, 4.5, 2.5,
)  # fmt: skip
WEEKDAY_FACTORS = (1.0, 1.05, 1.0, 1.0, 0.95, 0.8, 0.7)  # Monday first
PROMOTION = {40: 2.1, 41: 1.4}  # day index -> factor: a spring sale 19-20 days ago
MANUAL_STOP = 0.006  # enrollments a marketer stopped by hand
PAUSED = 0.006  # ... paused by hand (and still paused if it happened lately)
PAUSE_MEMORY = timedelta(days=10)

# (position, sent_at, contact id) -> (variant id or None, how people respond to it)
Chooser = Callable[[int, datetime, int], tuple[int | None, Response]]


@dataclass(frozen=True)
class StepPlan:
    id: int
    position: int
    delay_amount: int
    delay_unit: str


@dataclass(frozen=True)
class Joiner:
    """One sign-up: the contact, when they enrolled, the clock of their send window."""

    index: int
    contact_id: int
    enrolled_at: datetime
    zone: ZoneInfo


@dataclass(frozen=True)
class Send:
    step: StepPlan
    variant_id: int | None
    outcome: Outcome


@dataclass
class Journey:
    """One enrollment as it stands now, and what its messages did."""

    joiner: Joiner
    status: str = "active"
    current_step_id: int | None = None
    last_step_id: int | None = None
    next_send_at: datetime | None = None
    last_sent_at: datetime | None = None
    paused_at: datetime | None = None
    completed_at: datetime | None = None
    stopped_at: datetime | None = None
    stop_reason: str | None = None
    sends: list[Send] = field(default_factory=list)

    @property
    def updated_at(self) -> datetime:
        times = (self.completed_at, self.stopped_at, self.paused_at, self.last_sent_at)
        return max((t for t in times if t is not None), default=self.joiner.enrolled_at)


def daily_signups(rng: random.Random, today: date) -> list[int]:
    """Sign-ups per day, oldest first, the last one today: growing, quieter at weekends, a
    promotion."""
    counts = []
    for day in range(HISTORY_DAYS):
        weekday = (today - timedelta(days=HISTORY_DAYS - 1 - day)).weekday()
        base = 52 + 40 * day / (HISTORY_DAYS - 1)
        factor = WEEKDAY_FACTORS[weekday] * PROMOTION.get(day, 1.0)
        counts.append(max(0, round(base * factor * rng.gauss(1.0, 0.1))))
    return counts


def signup_time(
    rng: random.Random, zone: ZoneInfo, days_ago: int, now: datetime
) -> datetime | None:
    """A time on the local day `days_ago` days before today, at a likely hour; None when
    that time has not come yet (today's later sign-ups)."""
    day = now.astimezone(zone).date() - timedelta(days=days_ago)
    hour = rng.choices(range(24), weights=HOUR_WEIGHTS)[0]
    local = datetime(day.year, day.month, day.day, hour, tzinfo=zone) + timedelta(
        seconds=rng.uniform(0, 3600)
    )
    at = local.astimezone(now.tzinfo)
    return at if at < now else None


def cut(result: Outcome, now: datetime) -> Outcome:
    """The outcome as known at `now`: what happens later has not happened."""
    later = {
        name: None
        for name in ("delivered_at", "read_at", "clicked_at", "replied_at", "opted_out_at")
        if getattr(result, name) is not None and getattr(result, name) > now
    }
    if "replied_at" in later:
        later["reply_text"] = None
    if result.failed_at is not None and result.failed_at > now:
        later.update(failed_at=None, failure=None)
    return replace(result, **later) if later else result


def ending_of(result: Outcome) -> tuple[datetime, str, str] | None:
    """(when, status, stop reason) if this message ends a live enrollment."""
    if result.failure is not None:
        code = result.failure.code
        if code == "131050":
            return result.failed_at, "unsubscribed", STOP_REASON_OPTED_OUT
        if code in ENROLLMENT_ENDING:
            return result.failed_at, "failed", ENROLLMENT_ENDING[code]
        return None
    if result.replied_at is not None:
        return result.replied_at, "stopped", STOP_REASON_REPLIED
    if result.opted_out_at is not None:
        return result.opted_out_at, "unsubscribed", STOP_REASON_OPTED_OUT
    return None


def opt_out_of(result: Outcome) -> tuple[datetime, str] | None:
    """(when, reason) if this message's contact opted out (everywhere) because of it."""
    if result.failure is not None and result.failure.code == "131050":
        return result.failed_at, REASON_META_OPT_OUT
    if result.opted_out_at is not None:
        return result.opted_out_at, REASON_KEYWORD
    return None


def _due(anchor: datetime, step: StepPlan, window: SendWindow, zone: ZoneInfo) -> datetime:
    """next_send_time for a window open every day: the delayed time, or else the window's
    next opening, checked; anything unusual (a clock change at the opening) is left to
    next_send_time itself, which is exact but slower."""
    earliest = add_delay(anchor, step.delay_amount, step.delay_unit, zone)
    if in_window(earliest, window, zone):
        return earliest
    if window.weekdays == ALL_WEEKDAYS and not window.any_time and not window.crosses_midnight:
        local = earliest.astimezone(zone)
        day = local.date() if local.time() < window.start else local.date() + timedelta(days=1)
        opening = local_to_utc(datetime.combine(day, window.start), zone)
        if opening >= earliest and in_window(opening, window, zone):
            return opening
    return next_send_time(anchor, step.delay_amount, step.delay_unit, window, zone)


def _by_hand(joiner: Joiner, u: list[float], now: datetime):
    """A marketer's stop (an ending) and pause (a time) of this enrollment, if any."""
    at = joiner.enrolled_at + between(3600, 6 * 86400, u[1])
    if at > now:
        return None, None
    if u[0] < MANUAL_STOP:
        return (at, "stopped", "manual"), None
    if u[0] < MANUAL_STOP + PAUSED and at > now - PAUSE_MEMORY:
        return None, at
    return None, None


def simulate(
    joiner: Joiner,
    steps: list[StepPlan],
    window: SendWindow,
    choose: Chooser,
    now: datetime,
    seed: int,
) -> Journey:
    """One enrollment's way through the steps up to now."""
    rng = random.Random(seed * 1_000_003 + joiner.index)
    u = [rng.random() for _ in range(2 + DRAWS_PER_SEND * len(steps))]
    journey = Journey(joiner, current_step_id=steps[0].id)
    ending, paused = _by_hand(joiner, u, now)
    anchor = joiner.enrolled_at
    for i, step in enumerate(steps):
        draws = u[2 + i * DRAWS_PER_SEND : 2 + (i + 1) * DRAWS_PER_SEND]
        due = _due(anchor, step, window, joiner.zone)
        sent_at = due + timedelta(seconds=3 + 42 * draws[0])
        journey.current_step_id = step.id
        if ending is not None and ending[0] <= min(sent_at, now):
            return _ended(journey, *ending)
        if paused is not None and paused <= sent_at:
            # A reply or an opt-out still ends a paused enrollment.
            return _ended(journey, *ending) if ending else _ended(journey, paused, "paused", None)
        if sent_at > now:
            journey.next_send_at = due
            return journey
        variant_id, response = choose(step.position, sent_at, joiner.contact_id)
        result = cut(outcome(step.position, response, sent_at, draws), now)
        journey.sends.append(Send(step, variant_id, result))
        journey.last_step_id, journey.last_sent_at, anchor = step.id, sent_at, sent_at
        own = ending_of(result)
        if own is not None and (ending is None or own[0] < ending[0]):
            ending = own
    journey.status = "completed"
    journey.completed_at = journey.last_sent_at + timedelta(milliseconds=400)
    return journey


def _ended(journey: Journey, at: datetime, status: str, reason: str | None) -> Journey:
    journey.status = status
    if status == "paused":
        journey.paused_at = at
    else:
        journey.stopped_at, journey.stop_reason = at, reason
    return journey
