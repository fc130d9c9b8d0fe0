"""A/B tests of step messages: what the sending pipeline and the jobs call, and what the
results pages read.

- variants_for_batch / variant_for_send: the processor's hook (app.drip.ab.assignment);
- check_for_winners: the recurring job's auto-winner pass;
- report: everything a results page shows (the API's test, plus the daily timeline);
- timeline: per variant, cumulative sends and successes per local day (the viewer's or the
  organization's zone) of the current phase.

The lifecycle (create, variants, start, pause, declare, delete) is app.drip.ab.lifecycle and
app.drip.ab.variants; counts and analyses app.drip.ab.results; dictionaries app.drip.ab.shapes.
Engagement reaches the assignments through database triggers (migration 0007), so nothing
here runs per status or reply.
"""

from __future__ import annotations

from datetime import datetime, timedelta, tzinfo

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from app.drip import audit
from app.drip.ab import lifecycle as ab_lifecycle
from app.drip.ab import results as ab_results
from app.drip.ab import shapes as ab_report
from app.drip.ab.assignment import variants_for_batch
from app.drip.ab.days import day_number, day_of, offset_changes
from app.drip.ab.variants import variants_of
from app.drip.sql import as_utc, epoch_seconds
from app.drip.zones import organization_zone
from app.models import DripAbTest, DripCampaign, DripVariantAssignment

__all__ = ["check_for_winners", "report", "timeline", "variant_for_send", "variants_for_batch"]

AUTO_WINNER = audit.Actor("Drip (automatic decision)")
MAX_DURATION = "max_duration"


def variant_for_send(session: Session, step_id: int, contact_id: int) -> tuple[int, str] | None:
    """(variant id, message text) when the step's test assigns this contact, else None (send
    the step). One contact at a time: the processor uses variants_for_batch."""
    return variants_for_batch(session, [(step_id, contact_id)]).get((step_id, contact_id))


def check_for_winners(session: Session, now: datetime) -> int:
    """Decide the running tests: declare the winner the auto-winner rule (matured sends of the
    current phase, no SRM, adjusted sequential p below 1 - confidence) picks, else end a test
    past its maximum duration with no difference found, else keep the running minimum of its
    sequential p-values (this pass is a look); how many tests ended."""
    tests = session.scalars(
        select(DripAbTest)
        .where(DripAbTest.status == "running")
        .order_by(DripAbTest.id)
        # FOR NO KEY UPDATE: the processor's assignment inserts (FK KEY SHARE) go on; a test
        # an API call is changing is skipped until the next pass.
        .with_for_update(skip_locked=True, key_share=True)
    ).all()
    ended = 0
    for results in ab_results.results_for(session, tests, now, eta=False).values():
        test = results.test
        campaign = session.get(DripCampaign, test.campaign_id)
        index = results.decision.winner_index
        if index is not None:
            winner = results.variants[index]
            decision = ab_report.decision_dict(results.decision, winner.id)
            ab_lifecycle.complete(session, results, winner, "auto", now, decision)
            audit.record_ab_test(
                session, AUTO_WINNER, campaign, "ab_test.winner_declared", test, variant=winner
            )
            ended += 1
        elif past_max_duration(test, now):
            decision = {"code": MAX_DURATION, "reason": max_duration_reason(test)}
            decision["winnerId"] = None
            ab_lifecycle.complete(session, results, None, MAX_DURATION, now, decision)
            audit.record_ab_test(session, AUTO_WINNER, campaign, "ab_test.ended", test)
            ended += 1
        else:
            minimum = ab_report.next_running_minimum(results)
            # A new dict: the JSON column sees a reassignment, not an in-place change.
            test.decision_snapshot = {**(test.decision_snapshot or {}), "runningMinimum": minimum}
    session.flush()
    return ended


def past_max_duration(test: DripAbTest, now: datetime) -> bool:
    """True when the test has run its maximum duration (from its start; pauses count)."""
    if not test.max_duration_days or test.started_at is None:
        return False
    return as_utc(test.started_at) + timedelta(days=test.max_duration_days) <= now


def max_duration_reason(test: DripAbTest) -> str:
    return (
        f"no difference found within the maximum duration of {test.max_duration_days} days:"
        " the step keeps its message"
    )


def report(
    session: Session,
    organization_id: int,
    campaign_id: int,
    test_id: int,
    now: datetime,
    zone: tzinfo | None = None,
) -> dict:
    """A results page's data: the test as the API shows it plus "timeline" (days on `zone`,
    else the organization's) and "timelineZone"."""
    zone = zone or organization_zone(session, organization_id)
    test = ab_lifecycle.get_test(session, organization_id, campaign_id, test_id)
    results = ab_results.test_results(session, test, now, zone)
    return {
        **ab_report.test_dict(results),
        "timeline": timeline(session, test, zone),
        "timelineZone": getattr(zone, "key", str(zone)),
    }


def timeline(session: Session, test: DripAbTest, zone: tzinfo) -> list[dict]:
    """Per variant (id order), one point per local day (on `zone`) with sends in the current
    phase: cumulative sends (n) and successes of the winning metric up to that day, and the
    rate in percent. A success counts on its send's day, so each point is the rate, as known
    now, of the messages sent up to then. Every variant has a point on every day."""
    a = DripVariantAssignment
    phase = (a.test_id == test.id, a.phase == test.phase, a.sent_at.is_not(None))
    first, last = session.execute(
        select(func.min(a.sent_at), func.max(a.sent_at)).where(*phase)
    ).one()
    rows = []
    if first is not None:
        flag = ab_results.success_at(test)
        changes = offset_changes(zone, as_utc(first), as_utc(last))
        day = day_number(epoch_seconds(a.sent_at), changes)
        rows = session.execute(
            select(a.variant_id, day, func.count(), func.count(flag))
            .where(*phase)
            .group_by(a.variant_id, day)
        ).all()
    days = sorted({int(r[1]) for r in rows})
    daily = {(r[0], int(r[1])): (int(r[2]), int(r[3])) for r in rows}
    series = []
    for variant in variants_of(session, test):
        n = successes = 0
        points = []
        for number in days:
            sent, won = daily.get((variant.id, number), (0, 0))
            n, successes = n + sent, successes + won
            points.append(
                {
                    "date": day_of(number).isoformat(),
                    "n": n,
                    "successes": successes,
                    "rate": ab_report.percent(successes / n if n else None),
                }
            )
        series.append(
            {
                "variantId": variant.id,
                "name": variant.name,
                "isControl": variant.is_control,
                "points": points,
            }
        )
    return series
