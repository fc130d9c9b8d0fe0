"""A campaign's funnel (per step: reached, sent, delivered, read, replied, clicked, failed,
conversion and drop-off with reasons) and its engagement (rates and delays). Rates are
percentages 0-100, unrounded, or None where there is nothing to divide by; sent, delivered,
read, replied and clicked rates are over messages sent, the failure rate over messages
attempted (DESIGN.md)."""

from __future__ import annotations

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from app.drip.analytics import activity, costs, enrollment_counts
from app.drip.analytics.by_cohort import cohorts, compare
from app.drip.analytics.by_day import overview, timeseries
from app.drip.analytics.query import AnalyticsQuery
from app.drip.analytics.rates import delay_summary, percent
from app.drip.scope import get_scoped
from app.models import DripCampaign, DripEnrollment

__all__ = [
    "cohorts",
    "compare",
    "engagement",
    "funnel",
    "overview",
    "report",
    "timeseries",
]


def funnel(session: Session, organization_id: int, campaign_id: int) -> dict:
    """The campaign's funnel in the DESIGN.md shape."""
    campaign = get_scoped(session, DripCampaign, organization_id, campaign_id)
    steps = activity.reported_steps(session, campaign.id)
    totals = activity.step_totals(session, [campaign.id])
    statuses = enrollment_counts.status_totals(session, [campaign.id]).get(campaign.id, {})
    drops = _marketing_cap(session, campaign.id, enrollment_counts.drop_offs(session, campaign.id))
    failures = activity.failures_by_code(session, campaign.id)
    spend = costs.step_spend(session, campaign.id)
    enrolled = sum(statuses.values())
    completed = statuses.get("completed", 0)
    rows, previous = [], enrolled
    for step in steps:
        counts = totals.get((campaign.id, step.id), activity.Counts())
        reasons = drops.get(step.id, _no_reasons())
        dropped = sum(reasons.values())
        rows.append(
            {
                "stepId": step.id,
                "position": step.position,
                "name": step.name,
                "deleted": step.deleted_at is not None,
                **{f"{m}Count": counts[m] for m in activity.METRICS},
                "conversionRate": percent(counts["reached"], previous),
                "dropOffCount": dropped,
                "dropOffRate": percent(dropped, counts["reached"]),
                "dropOffReasons": reasons,
                "failedByCode": failures.get(step.id, {}),
                **spend.get(step.id, costs.Spend()).fields(),
            }
        )
        previous = counts["reached"]
    before = drops.get(None, _no_reasons())
    return {
        "campaignId": campaign.id,
        "totalEnrolled": enrolled,
        "active": statuses.get("active", 0),
        "paused": statuses.get("paused", 0),
        "completed": completed,
        "stopped": statuses.get("stopped", 0),
        "unsubscribed": statuses.get("unsubscribed", 0),
        "failed": statuses.get("failed", 0),
        "overallCompletionRate": percent(completed, enrolled),
        "beforeFirstStep": {"dropOffCount": sum(before.values()), "dropOffReasons": before},
        **costs.total_spend(spend).fields(),
        "steps": rows,
    }


# Enrollments waiting at a step for a retry of a message Meta held back for its per-user
# marketing cap (131049): a drop-off reason of their own, taken out of "waiting" (the reasons
# still add up to the drop-off count). Exhausted retries show as failedByCode "131049".
MARKETING_CAP = "marketingCap"
MARKETING_CAP_WAIT = "marketing_cap"  # drip_enrollments.wait_reason (app.drip.sending)


def _no_reasons() -> dict[str, int]:
    return {**dict.fromkeys(enrollment_counts.DROP_OFF_REASONS, 0), MARKETING_CAP: 0}


def _marketing_cap(session: Session, campaign_id: int, drops: dict) -> dict:
    rows = session.execute(
        select(DripEnrollment.last_step_id, func.count())
        .where(
            DripEnrollment.campaign_id == campaign_id,
            DripEnrollment.status == "active",
            DripEnrollment.wait_reason == MARKETING_CAP_WAIT,
        )
        .group_by(DripEnrollment.last_step_id)
    )
    result = {step_id: {**_no_reasons(), **reasons} for step_id, reasons in drops.items()}
    for step_id, count in rows:
        reasons = result.setdefault(step_id, _no_reasons())
        moved = min(int(count), reasons["waiting"])
        reasons["waiting"] -= moved
        reasons[MARKETING_CAP] += moved
    return result


def engagement(session: Session, organization_id: int, campaign_id: int) -> dict:
    """Delivery, read, reply, click and failure rates, and the delays to read and to reply."""
    campaign = get_scoped(session, DripCampaign, organization_id, campaign_id)
    counts = activity.Counts()
    for step_counts in activity.step_totals(session, [campaign.id]).values():
        for metric in activity.METRICS:
            counts.add(metric, step_counts[metric])
    sent = counts["sent"]
    spend = costs.total_spend(costs.step_spend(session, campaign.id))
    return {
        "campaignId": campaign.id,
        "attempted": counts["reached"],
        **{m: counts[m] for m in activity.METRICS[1:]},
        "deliveryRate": percent(counts["delivered"], sent),
        "readRate": percent(counts["read"], sent),
        "replyRate": percent(counts["replied"], sent),
        "clickRate": percent(counts["clicked"], sent),
        "failureRate": percent(counts["failed"], counts["reached"]),
        "timeToRead": delay_summary(activity.delays(session, campaign.id, "read")),
        "timeToReply": delay_summary(activity.delays(session, campaign.id, "replied")),
        **spend.fields(),
        "costPerRead": costs.per(spend.cost, counts["read"]),
        "costPerReply": costs.per(spend.cost, counts["replied"]),
    }


def report(session: Session, organization_id: int, campaign_id: int, query: AnalyticsQuery):
    """The report a parsed analytics query asks for (one function for the API and the pages)."""
    if query.type == "funnel":
        return funnel(session, organization_id, campaign_id)
    if query.type == "engagement":
        return engagement(session, organization_id, campaign_id)
    if query.type == "timeseries":
        return timeseries(session, organization_id, campaign_id, query.start, query.end)
    if query.compare_a is not None:
        return compare(session, organization_id, campaign_id, query.compare_a, query.compare_b)
    return cohorts(session, organization_id, campaign_id, query.granularity, query.start, query.end)
