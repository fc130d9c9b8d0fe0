"""Day-by-day metrics of a campaign on its own clock, and the organization's overview of all
campaigns with a sparkline of sends.

A series starts at the campaign's first day (its activation or first enrollment, whichever
came first): the days before it existed are not a run of zeros. Today is still under way,
so the series names it (`partialDay`): its counts are so far, not a collapse.

Each day also has the goal conversions of the messaged that occurred on it (campaign clock)
and their revenue in the series' revenue currency (`revenueCurrency`, the one most
conversions of the range carry; the others are in `revenueByCurrency` of the totals)."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy.orm import Session

from app.drip.analytics import activity, costs, enrollment_counts
from app.drip.analytics import conversions as goal
from app.drip.analytics.local_days import LocalDays
from app.drip.analytics.query import check_range
from app.drip.analytics.rates import percent
from app.drip.analytics.shared import campaign as shared_campaign
from app.drip.analytics.shared import shared
from app.drip.scope import scoped
from app.drip.sql import as_utc, day_range_utc
from app.drip.zones import organization_zone
from app.models import DripCampaign, utcnow

DAY_METRICS = ("enrolled", "sent", "delivered", "read", "replied", "clicked", "failed", "completed")


@shared
def report_zone(session: Session, campaign: DripCampaign) -> ZoneInfo:
    """The clock a campaign's days are counted on: its send-window zone, or the
    organization's when the window follows each contact's own zone."""
    return organization_zone(session, campaign.organization_id, campaign.window_timezone)


def timeseries(
    session: Session,
    organization_id: int,
    campaign_id: int,
    start: date,
    end: date,
    now: datetime | None = None,
) -> dict:
    """Every day from start to end (inclusive, campaign clock) with its counts, zeros for quiet
    days, from the campaign's first day on; `now` (default: the clock) says which day is
    still under way."""
    check_range(start, end, "from")
    campaign = shared_campaign(session, organization_id, campaign_id)
    zone = report_zone(session, campaign)
    first = first_days(session, [campaign], zone)[campaign.id]
    today = (now or utcnow()).astimezone(zone).date()
    start = min(max(start, first), end)
    days, spend, converted = {}, {}, {}
    if first <= end:
        days = _daily(session, [campaign.id], start, end, zone, DAY_METRICS)[campaign.id]
        spend = _day_spend(session, campaign.id, start, end, zone)
        utc_start, utc_end = day_range_utc(start, end, zone)
        converted = goal.day_conversions(
            session, campaign.id, utc_start, utc_end, LocalDays.between(zone, utc_start, utc_end)
        )
    total = costs.Spend()
    for day_spend in spend.values():
        total.merge(day_spend)
    currency = total.currency
    conversions = goal.total(converted)
    return {
        "campaignId": campaign.id,
        "timezone": zone.key,
        "from": start,
        "to": end,
        "firstDay": first,
        "partialDay": today if today in days else None,
        "cost": total.cost,
        "currency": currency,
        **conversions.fields(),
        "days": [
            {
                "date": day,
                **counts,
                "cost": _in(spend.get(day), currency),
                **_day_conversions(converted.get(day), conversions.currency),
            }
            for day, counts in days.items()
        ],
    }


def first_days(session: Session, campaigns: list[DripCampaign], zone: ZoneInfo) -> dict:
    """campaign id -> its first local day: activation or first enrollment, whichever came
    first (a draft may enroll before it sends), else its creation."""
    enrolled = enrollment_counts.first_enrolled(session, [c.id for c in campaigns])
    result = {}
    for campaign in campaigns:
        starts = [as_utc(t) for t in (campaign.activated_at, enrolled.get(campaign.id)) if t]
        first = min(starts) if starts else as_utc(campaign.created_at)
        result[campaign.id] = first.astimezone(zone).date()
    return result


def _day_spend(session: Session, campaign_id: int, start: date, end: date, zone: ZoneInfo):
    """Local day -> what the messages sent that day cost (sent_at on the campaign's clock)."""
    utc_start, utc_end = day_range_utc(start, end, zone)
    days = LocalDays.between(zone, utc_start, utc_end)
    return costs.day_spend(session, campaign_id, utc_start, utc_end, days)


def _in(spend, currency: str | None):
    """A day's cost in the series' currency: 0 on a day with nothing priced in it."""
    if spend is None or currency is None:
        return 0
    return spend.sums.get(currency, 0)


def _day_conversions(day, currency: str | None) -> dict:
    """A day's conversions and revenue in the series' revenue currency (0 when none)."""
    if day is None:
        return {"conversions": 0, "revenue": 0}
    return {"conversions": day.count, "revenue": day.sums.get(currency, 0) if currency else 0}


def _daily(
    session: Session,
    campaign_ids: list[int],
    start: date,
    end: date,
    zone: ZoneInfo,
    metrics: tuple[str, ...],
) -> dict[int, dict[date, dict[str, int]]]:
    """campaign id -> local day -> metric -> count, every day present."""
    utc_start, utc_end = day_range_utc(start, end, zone)
    days = LocalDays.between(zone, utc_start, utc_end)
    span = (end - start).days + 1
    result = {
        cid: {start + timedelta(days=i): dict.fromkeys(metrics, 0) for i in range(span)}
        for cid in campaign_ids
    }
    message_metrics = tuple(m for m in metrics if m in activity.METRICS)
    rows = activity.event_days(session, campaign_ids, utc_start, utc_end, days, message_metrics)
    if {"enrolled", "completed"} & set(metrics):
        rows += enrollment_counts.enrollment_days(session, campaign_ids, utc_start, utc_end, days)
    for campaign_id, metric, day, count in rows:
        if metric in metrics:
            result[campaign_id][day][metric] += count
    return result


def overview(session: Session, organization_id: int, days: int = 30) -> list[dict]:
    """Every campaign of the organization, newest first: totals, rates and daily sends over the
    last `days` days on the organization's clock."""
    campaigns = list(
        session.scalars(
            scoped(DripCampaign, organization_id).order_by(
                DripCampaign.created_at.desc(), DripCampaign.id.desc()
            )
        )
    )
    if not campaigns:
        return []
    ids = [c.id for c in campaigns]
    zone = organization_zone(session, organization_id)
    today = datetime.now(zone).date()
    daily = _daily(session, ids, today - timedelta(days=days - 1), today, zone, ("sent",))
    statuses = enrollment_counts.status_totals(session, ids)
    messages: dict[int, activity.Counts] = {cid: activity.Counts() for cid in ids}
    for (campaign_id, _), counts in activity.step_totals(session, ids).items():
        for metric in activity.METRICS:
            messages[campaign_id].add(metric, counts[metric])
    rows = []
    for campaign in campaigns:
        by_status, counts = statuses.get(campaign.id, {}), messages[campaign.id]
        enrolled, completed = sum(by_status.values()), by_status.get("completed", 0)
        rows.append(
            {
                "campaignId": campaign.id,
                "name": campaign.name,
                "status": campaign.status,
                "enrolled": enrolled,
                "active": by_status.get("active", 0),
                "completed": completed,
                "completionRate": percent(completed, enrolled),
                "sent": counts["sent"],
                "replied": counts["replied"],
                "replyRate": percent(counts["replied"], counts["sent"]),
                "timezone": zone.key,
                "sparkline": [
                    {"date": day, "sent": c["sent"]} for day, c in daily[campaign.id].items()
                ],
            }
        )
    return rows
