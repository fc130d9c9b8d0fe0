"""A campaign's funnel (per step: reached, sent, delivered, read, replied, clicked, failed,
conversion and drop-off with reasons) and its engagement (rates and delays). Rates are
percentages 0-100, unrounded, or None where there is nothing to divide by; sent, delivered,
read, replied and clicked rates are over messages sent, the failure rate over messages
attempted (DESIGN.md).

Contacts still waiting at a step (active or paused, or waiting for a marketing-cap retry) are
not drop-off: a fresh campaign whose contacts wait for their next message must not read as a
failure. dropOffCount is those who stopped there (replied, unsubscribed, failed, stopped),
waitingCount those still on their way; both rates are over the contacts whose fate at the
step is settled (reached it and no longer waiting there: `settledCount`).

Goal conversions (issue 19) are those of the messaged (holdouts are the lift's): each step
has the conversions attributed to it (the last message sent before the conversion) and
their revenue; the total's `conversionRate` is over enrolled. A step's `conversionRate` is
older and stays what it was: the share reaching the step. Enrollments the goal ended
(stop_reason "converted") are the drop-off reason `converted`, taken out of `stopped`.

Journeys that branch (issue 20): each step's `paths` split its reached count by the step the
contacts came from and the way they took (app.drip.analytics.arrivals). A step's
conversionRate is then over those who had their chance to reach it: settled at the steps
that lead there, not only at the one before in order (whom a branch may have skipped).
An enrollment waiting on a branch waits at its step; a journey a branch ended is completed."""

from __future__ import annotations

from sqlalchemy import bindparam, case, func, select
from sqlalchemy.orm import Session

from app.drip.analytics import activity, arrivals, costs, enrollment_counts
from app.drip.analytics import conversions as goal
from app.drip.analytics.by_cohort import cohorts, compare
from app.drip.analytics.by_day import overview, timeseries
from app.drip.analytics.lift import lift
from app.drip.analytics.query import AnalyticsQuery
from app.drip.analytics.rates import percent
from app.drip.analytics.shared import campaign as shared_campaign
from app.models import DripEnrollment

__all__ = [
    "cohorts",
    "compare",
    "engagement",
    "funnel",
    "lift",
    "overview",
    "report",
    "step_figures",
    "timeseries",
]


def funnel(session: Session, organization_id: int, campaign_id: int) -> dict:
    """The campaign's funnel in the DESIGN.md shape."""
    campaign = shared_campaign(session, organization_id, campaign_id)
    steps = activity.reported_steps(session, campaign.id)
    totals = activity.step_totals(session, [campaign.id])
    statuses = enrollment_counts.status_totals(session, [campaign.id]).get(campaign.id, {})
    held, ended = _held_and_converted(session, campaign.id)
    drops = _marketing_cap(held, enrollment_counts.drop_offs(session, campaign.id))
    drops = _converted(ended, drops)
    converted = goal.step_conversions(session, campaign.id)
    failures = activity.failures_by_code(session, campaign.id)
    spend = costs.step_spend(session, campaign.id)
    enrolled = sum(statuses.values())
    completed = statuses.get("completed", 0)
    before = drops.get(None, _no_reasons())
    found = arrivals.step_paths(session, campaign.id, steps)
    order = [None, *(step.id for step in steps)]
    settled_at = {None: enrolled - waiting_of(before)}
    moved = {(p["fromStepId"], step_id): p["reached"] for step_id, ps in found.items() for p in ps}
    rows = []
    for index, step in enumerate(steps, start=1):
        counts = totals.get((campaign.id, step.id), activity.Counts())
        reasons = drops.get(step.id, _no_reasons())
        waiting = waiting_of(reasons)
        dropped = sum(reasons.values()) - waiting
        settled = max(counts["reached"] - waiting, 0)
        codes = failures.get(step.id, {})
        paths = arrivals.complete(found.get(step.id, []), counts["reached"])
        previous = arrivals.conversion_base(order, index, paths, settled_at, moved)
        rows.append(
            {
                "stepId": step.id,
                "position": step.position,
                "name": step.name,
                "deleted": step.deleted_at is not None,
                **{f"{m}Count": counts[m] for m in activity.METRICS},
                # Of those settled at the stage before (or, with branches, at the steps
                # that lead here): the ones still waiting there have not had their chance to
                # reach this step yet.
                "conversionRate": percent(counts["reached"], previous),
                "paths": paths,
                "dropOffCount": dropped,
                "dropOffRate": percent(dropped, settled),
                "dropOffReasons": reasons,
                "waitingCount": waiting,
                "waitingRate": percent(waiting, counts["reached"]),
                "settledCount": settled,
                "failedByCode": codes,
                # Every failed message is filed under a code by the same trigger that counts
                # it; a gap would be a rollup fault, shown labelled rather than hidden.
                "failedByCodeGap": counts["failed"] - sum(codes.values()),
                **spend.get(step.id, costs.Spend()).fields(),
                **converted.get(step.id, goal.Conversions()).fields(),
            }
        )
        settled_at[step.id] = settled
    conversions = goal.total(converted)
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
        "waitingCount": sum(waiting_of(r) for r in drops.values()),
        "beforeFirstStep": {
            "dropOffCount": sum(before.values()) - waiting_of(before),
            "dropOffReasons": before,
            "waitingCount": waiting_of(before),
            **converted.get(None, goal.Conversions()).fields(),
        },
        **costs.total_spend(spend).fields(),
        **conversions.fields(),
        "conversionRate": percent(conversions.count, enrolled),
        "steps": rows,
    }


def step_figures(session: Session, campaign_id: int, step_ids: list[int]) -> dict[int, dict]:
    """step id -> the funnel's sentCount, readCount, repliedCount and dropOffCount of each
    step, as the campaign page's flow shows them ("sent", "read", "replied", "dropped"), from
    two of the funnel's eleven reads (issue 21: the whole funnel was a fifth of the page's
    CPU). The funnel moves marketing-cap holds out of waiting and goal conversions out of
    stopped: either stays on its side of waiting / dropped, so its drop-off is the rollups'."""
    totals = activity.step_totals(session, [campaign_id])
    drops = enrollment_counts.drop_offs(session, campaign_id)
    figures = {}
    for step_id in step_ids:
        counts = totals.get((campaign_id, step_id), activity.Counts())
        reasons = drops.get(step_id, enrollment_counts.no_reasons())
        figures[step_id] = {
            "sent": counts["sent"],
            "read": counts["read"],
            "replied": counts["replied"],
            "dropped": sum(reasons.values()) - reasons["waiting"],
        }
    return figures


# Enrollments waiting at a step for a retry of a message Meta held back for its per-user
# marketing cap (131049): a reason of their own, taken out of "waiting" (the two add up to
# waitingCount). Exhausted retries show as failedByCode "131049".
MARKETING_CAP = "marketingCap"
MARKETING_CAP_WAIT = "marketing_cap"  # drip_enrollments.wait_reason (app.drip.sending)
WAITING_REASONS = ("waiting", MARKETING_CAP)
CONVERTED = "converted"


def waiting_of(reasons: dict[str, int]) -> int:
    """How many of a step's enrollments are still on their way (not drop-off)."""
    return sum(reasons.get(r, 0) for r in WAITING_REASONS)


def _no_reasons() -> dict[str, int]:
    return {**dict.fromkeys(enrollment_counts.DROP_OFF_REASONS, 0), CONVERTED: 0, MARKETING_CAP: 0}


def _held_or_ended():
    e = DripEnrollment
    held = (e.status == "active") & (e.wait_reason == MARKETING_CAP_WAIT)
    ended = (e.status == "stopped") & (e.stop_reason == goal.CONVERTED)
    return (
        select(e.last_step_id, func.count(case((held, 1))), func.count(case((ended, 1))))
        .where(
            e.campaign_id == bindparam("campaign_id"),
            e.status.in_(("active", "stopped")),
            held | ended,
        )
        .group_by(e.last_step_id)
    )


_HELD_OR_ENDED = _held_or_ended()  # built once: the dashboard and campaign page run it often


def _held_and_converted(session: Session, campaign_id: int) -> tuple[dict, dict]:
    """last step id -> enrollments waiting for a marketing-cap retry, and -> enrollments the
    goal ended (None: before the first message): one pass over the campaign's enrollments."""
    rows = session.execute(_HELD_OR_ENDED, {"campaign_id": campaign_id}).all()
    return (
        {step_id: int(n) for step_id, n, _ in rows if n},
        {step_id: int(n) for step_id, _, n in rows if n},
    )


def _marketing_cap(held: dict, drops: dict) -> dict:
    result = {step_id: {**_no_reasons(), **reasons} for step_id, reasons in drops.items()}
    for step_id, count in held.items():
        reasons = result.setdefault(step_id, _no_reasons())
        moved = min(int(count), reasons["waiting"])
        reasons["waiting"] -= moved
        reasons[MARKETING_CAP] += moved
    return result


def _converted(ended: dict, drops: dict) -> dict:
    """Enrollments the goal ended, out of "stopped" (the rollups know the status, not the
    stop reason): the reasons still add up the same."""
    for step_id, count in ended.items():
        reasons = drops.setdefault(step_id, _no_reasons())
        moved = min(count, reasons["stopped"])
        reasons["stopped"] -= moved
        reasons[CONVERTED] += moved
    return drops


def engagement(session: Session, organization_id: int, campaign_id: int) -> dict:
    """Delivery, read, reply, click and failure rates, and the delays to read and to reply."""
    campaign = shared_campaign(session, organization_id, campaign_id)
    counts = activity.Counts()
    for step_counts in activity.step_totals(session, [campaign.id]).values():
        for metric in activity.METRICS:
            counts.add(metric, step_counts[metric])
    sent = counts["sent"]
    spend = costs.total_spend(costs.step_spend(session, campaign.id))
    conversions = goal.total(goal.step_conversions(session, campaign.id))
    statuses = enrollment_counts.status_totals(session, [campaign.id]).get(campaign.id, {})
    enrolled = sum(statuses.values())
    delays = activity.delay_summaries(session, campaign.id, ("read", "replied"))
    return {
        "campaignId": campaign.id,
        "attempted": counts["reached"],
        **{m: counts[m] for m in activity.METRICS[1:]},
        "deliveryRate": percent(counts["delivered"], sent),
        "readRate": percent(counts["read"], sent),
        "replyRate": percent(counts["replied"], sent),
        "clickRate": percent(counts["clicked"], sent),
        "failureRate": percent(counts["failed"], counts["reached"]),
        "timeToRead": delays["read"],
        "timeToReply": delays["replied"],
        **spend.fields(),
        "costPerRead": costs.per(spend.cost, counts["read"]),
        "costPerReply": costs.per(spend.cost, counts["replied"]),
        "enrolled": enrolled,
        **conversions.fields(),
        "conversionRate": percent(conversions.count, enrolled),
        "costPerConversion": costs.per(spend.cost, conversions.count),
    }


def report(session: Session, organization_id: int, campaign_id: int, query: AnalyticsQuery):
    """The report a parsed analytics query asks for (one function for the API and the pages)."""
    if query.type == "funnel":
        return funnel(session, organization_id, campaign_id)
    if query.type == "engagement":
        return engagement(session, organization_id, campaign_id)
    if query.type == "lift":
        return lift(session, organization_id, campaign_id)
    if query.type == "timeseries":
        return timeseries(session, organization_id, campaign_id, query.start, query.end)
    if query.compare_a is not None:
        return compare(session, organization_id, campaign_id, query.compare_a, query.compare_b)
    return cohorts(session, organization_id, campaign_id, query.granularity, query.start, query.end)
