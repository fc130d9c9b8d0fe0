"""Cohorts of a campaign's enrollments by the day, week or month they enrolled (campaign
clock): how far each got, how many completed, read and replied; and two date ranges of
enrollments compared side by side with a two-proportion test.

A cohort younger than the time a rate needs (the steps' delays up to that step, and a day's
grace for send windows and processing passes) is still maturing for that rate: its low share
is the contacts on their way, not a drop. Each such rate is flagged so that charts can draw it
apart."""

from __future__ import annotations

from datetime import date, datetime, timedelta

from sqlalchemy.orm import Session

from app.drip import ab
from app.drip.analytics import activity, enrollment_counts
from app.drip.analytics.by_day import report_zone
from app.drip.analytics.local_days import LocalDays
from app.drip.analytics.query import check_range
from app.drip.analytics.rates import percent
from app.drip.analytics.shared import campaign as shared_campaign
from app.drip.sql import day_range_utc
from app.models import utcnow

SIGNIFICANCE = 0.05
DAY = timedelta(days=1)
# Send windows, quiet days and the processing pass put a send later than its nominal delay.
MATURING_GRACE = DAY
COMPARED = (
    ("completionRate", "completed", "size"),
    ("readRate", "read", "sent"),
    ("replyRate", "replied", "sent"),
)


def period_of(day: date, granularity: str) -> tuple[date, date]:
    """The first and last day of the day, ISO week (Monday first) or month holding `day`."""
    if granularity == "day":
        return day, day
    if granularity == "week":
        first = day - timedelta(days=day.weekday())
        return first, first + timedelta(days=6)
    first = day.replace(day=1)
    following = (first + timedelta(days=32)).replace(day=1)
    return first, following - timedelta(days=1)


def period_label(first: date, granularity: str) -> str:
    if granularity == "day":
        return first.strftime("%a %d %b %Y")
    if granularity == "week":
        return first.strftime("Week of %d %b %Y")
    return first.strftime("%b %Y")


def cohorts(
    session: Session,
    organization_id: int,
    campaign_id: int,
    granularity: str = "week",
    start: date | None = None,
    end: date | None = None,
    now: datetime | None = None,
) -> dict:
    """One row per cohort with enrollments, oldest first; `now` (default: the clock) decides
    which are still maturing."""
    campaign = shared_campaign(session, organization_id, campaign_id)
    zone = report_zone(session, campaign)
    steps = activity.reported_steps(session, campaign.id)
    groups = _grouped(session, campaign, zone, start, end, lambda d: period_of(d, granularity))
    needs, now = _needs(steps), now or utcnow()
    rows = []
    for (first, last), group in sorted(groups.items()):
        reached = [group["steps"].get(step.id, 0) for step in steps]
        # The last enrollment of the cohort may be as late as the end of its last day.
        youngest = day_range_utc(last, last, zone)[1]
        maturing = [now < youngest + need for need in needs]
        completing = now < youngest + (needs[-1] if needs else MATURING_GRACE)
        rows.append(
            {
                "start": first,
                "end": last,
                "label": period_label(first, granularity),
                **_summary(group),
                "reached": reached,
                "reachedRates": [percent(n, group["size"]) for n in reached],
                "reachedMaturing": maturing,
                "completionMaturing": completing,
                "maturing": completing or any(maturing),
            }
        )
    return {
        "campaignId": campaign.id,
        "granularity": granularity,
        "timezone": zone.key,
        "steps": [{"stepId": s.id, "position": s.position, "name": s.name} for s in steps],
        "cohorts": rows,
    }


def compare(
    session: Session,
    organization_id: int,
    campaign_id: int,
    a: tuple[date, date],
    b: tuple[date, date],
) -> dict:
    """Enrollments of range a against range b: completion, read and reply rates, their
    difference (b - a, in points) and a pooled two-proportion z-test of each."""
    campaign = shared_campaign(session, organization_id, campaign_id)
    zone = report_zone(session, campaign)
    sides = {}
    for name, (first, last) in (("a", a), ("b", b)):
        check_range(first, last, name)
        groups = _grouped(session, campaign, zone, first, last, lambda _d: "all")
        group = groups.get("all") or _empty_group()
        sides[name] = {"from": first, "to": last, **_summary(group)}
    metrics = []
    for metric, successes, trials in COMPARED:
        z, p_value = ab.two_proportion_z(
            sides["a"][successes], sides["a"][trials], sides["b"][successes], sides["b"][trials]
        )
        rate_a, rate_b = sides["a"][metric], sides["b"][metric]
        metrics.append(
            {
                "metric": metric,
                "a": rate_a,
                "b": rate_b,
                "difference": None if rate_a is None or rate_b is None else rate_b - rate_a,
                "zScore": z,
                "pValue": p_value,
                "significant": z is not None and p_value < SIGNIFICANCE,
            }
        )
    return {"campaignId": campaign.id, "timezone": zone.key, **sides, "metrics": metrics}


def _needs(steps) -> list[timedelta]:
    """Per step, how long after enrolling a contact reaches it at the earliest, with grace."""
    needs, total = [], timedelta()
    for step in steps:
        total += timedelta(**{step.delay_unit: step.delay_amount or 0})
        needs.append(total + MATURING_GRACE)
    return needs


def _empty_group() -> dict:
    return {"size": 0, "completed": 0, "messages": activity.Counts(), "steps": {}}


def _grouped(session, campaign, zone, start, end, key) -> dict:
    """Enrollments and their messages by `key(local day of enrollment)`: size, completed,
    message counts and per-step reach."""
    utc_start = day_range_utc(start, start, zone)[0] if start else None
    utc_end = day_range_utc(end, end, zone)[1] if end else None
    # Nobody enrolled before the campaign existed: its life bounds the zone's offsets.
    days = LocalDays.between(
        zone, utc_start or campaign.created_at - DAY, utc_end or utcnow() + DAY
    )
    groups: dict = {}
    of_day: dict = {}  # day -> its group: a cohort's rows are hundreds for a handful of days

    def group_of(day: date) -> dict:
        group = of_day.get(day)
        if group is None:
            group = of_day[day] = groups.setdefault(key(day), _empty_group())
        return group

    sizes = enrollment_counts.cohort_sizes(session, campaign.id, utc_start, utc_end, days)
    for day, (size, completed) in sizes.items():
        group = group_of(day)
        group["size"] += size
        group["completed"] += completed
    rows = activity.cohort_days(session, campaign.id, utc_start, utc_end, days)
    for step_id, day, metric, count in rows:
        group = group_of(day)
        if metric == "reached":
            group["steps"][step_id] = group["steps"].get(step_id, 0) + count
        group["messages"].add(metric, count)
    return groups


def _summary(group: dict) -> dict:
    messages = group["messages"]
    return {
        "size": group["size"],
        "completed": group["completed"],
        "completionRate": percent(group["completed"], group["size"]),
        **{m: messages[m] for m in ("sent", "delivered", "read", "replied")},
        "readRate": percent(messages["read"], messages["sent"]),
        "replyRate": percent(messages["replied"], messages["sent"]),
    }
