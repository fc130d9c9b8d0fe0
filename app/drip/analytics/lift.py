"""The holdout lift: goal conversion of the messaged against the holdout (analytics?type=lift).

Both groups are counted the same way: every enrollment (messaged) or holdout row of the
campaign, and those with a goal conversion. The interval and p are always-valid (the A/B tests'
normal mixture, app.drip.ab), so the panel may be read every day without inflating false
claims; the planned size they are tuned for is the A/B tests' default.
"""

from __future__ import annotations

from sqlalchemy import bindparam, func, select
from sqlalchemy.orm import Session

from app.drip import ab
from app.drip.analytics.shared import campaign as shared_campaign
from app.models import DripConversion, DripEnrollment, DripHoldout

CONFIDENCE = 0.95


def lift(session: Session, organization_id: int, campaign_id: int) -> dict:
    campaign = shared_campaign(session, organization_id, campaign_id)
    counts = session.execute(_COUNTS, {"campaign_id": campaign.id}).one()
    messaged_n, holdout_n, converted_n, holdout_c = counts
    messaged_c = converted_n - holdout_c
    alpha = 1.0 - CONFIDENCE
    planned = ab.DEFAULT_PLANNED_N
    z, _ = ab.two_proportion_z(holdout_c, holdout_n, messaged_c, messaged_n)
    p_value = (
        ab.sequential_p_value(z, ab.effective_n(holdout_n, messaged_n), planned, alpha)
        if holdout_n and messaged_n
        else None
    )
    interval = ab.lift_interval(holdout_c, holdout_n, messaged_c, messaged_n, planned, alpha)
    answer = {
        "campaignId": campaign.id,
        "goal": {"event": campaign.goal_event, "withinDays": campaign.goal_within_days},
        "holdoutPercent": campaign.holdout_percent or 0,
        "messaged": _group(messaged_n, messaged_c),
        "holdout": _group(holdout_n, holdout_c),
        "confidence": CONFIDENCE,
        "difference": interval.difference if interval else None,
        "differenceLow": interval.difference_low if interval else None,
        "differenceHigh": interval.difference_high if interval else None,
        "lift": interval.lift if interval else None,
        "ciLow": interval.lift_low if interval else None,
        "ciHigh": interval.lift_high if interval else None,
        "pValue": p_value,
    }
    answer["sentence"] = sentence(answer)
    return answer


def _counts():
    """Enrollments, holdout rows, conversions and holdout conversions: one round trip."""
    campaign_id = bindparam("campaign_id")
    conversions = DripConversion.campaign_id == campaign_id
    return select(
        select(func.count()).where(DripEnrollment.campaign_id == campaign_id).scalar_subquery(),
        select(func.count()).where(DripHoldout.campaign_id == campaign_id).scalar_subquery(),
        select(func.count()).where(conversions).scalar_subquery(),
        select(func.count(DripConversion.holdout_id)).where(conversions).scalar_subquery(),
    )


_COUNTS = _counts()  # built once: building a statement costs more than running it


def _group(n: int, conversions: int) -> dict:
    return {"n": n, "conversions": conversions, "rate": conversions / n if n else None}


def sentence(answer: dict) -> str:
    """The panel's plain sentence."""
    messaged, holdout = answer["messaged"], answer["holdout"]
    if not answer["goal"]["event"]:
        return "This campaign has no goal: set one to measure conversions."
    if not holdout["n"]:
        return (
            "No holdout yet: set a holdout share so that some new enrollments are not"
            " messaged, and their conversions show what the campaign adds."
        )
    if not messaged["n"]:
        return "No messaged enrollments yet."
    rates = (
        f"Messaged contacts converted {messaged['rate']:.1%} ({messaged['conversions']:,} of"
        f" {messaged['n']:,}); the holdout {holdout['rate']:.1%} ({holdout['conversions']:,}"
        f" of {holdout['n']:,})."
    )
    if answer["lift"] is None:
        return (
            f"{rates} The holdout has no conversions yet, so no relative lift is claimed: the"
            f" difference is {answer['difference'] * 100:+.1f} points (always-valid 95% interval"
            f" {answer['differenceLow'] * 100:+.1f} to {answer['differenceHigh'] * 100:+.1f})."
        )
    low, high = answer["ciLow"], answer["ciHigh"]
    if low > 0:
        verdict = "The campaign adds conversions"
    elif high < 0:
        verdict = "The messaged convert less than the holdout"
    else:
        verdict = "No difference can be claimed yet"
    return (
        f"{rates} {verdict}: lift {lift_words(answer['lift'])} (always-valid 95% interval"
        f" {lift_words(low)} to {lift_words(high)}, p = {answer['pValue']:.3f})."
    )


# Past ten times the holdout's rate a bound says only that the sample is small: "+28,776,748%"
# would read as a finding.
LIFT_SHOWN_MAX = 10.0


def lift_words(value: float) -> str:
    """A relative lift as a signed percentage, capped for reading ("over +1,000%")."""
    if value > LIFT_SHOWN_MAX:
        return f"over {LIFT_SHOWN_MAX:+,.0%}"
    return f"{value:+,.0%}"
