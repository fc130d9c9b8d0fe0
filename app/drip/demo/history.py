"""The demo's finished campaign, "New customer onboarding": sixty days of sign-ups lived through
(app.drip.demo.simulation) and written as the rows the system would hold now
(app.drip.demo.rows), with its two A/B tests (app.drip.demo.ab).

The campaign stays active, as an evergreen onboarding campaign does: most enrollments are
long finished, the last week's are between steps and the processor sends their next
messages (through the sandbox) when they fall due.
"""

from __future__ import annotations

import random
from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from app.drip import campaigns
from app.drip.audit import SYSTEM
from app.drip.demo import ab as demo_ab
from app.drip.demo import people as demo_people
from app.drip.demo import rows as demo_rows
from app.drip.demo.simulation import (
    HISTORY_DAYS,
    Joiner,
    StepPlan,
    daily_signups,
    signup_time,
    simulate,
)
from app.drip.demo.story import CAMPAIGN, STEPS
from app.drip.engagement import find_urls
from app.drip.enrollment import campaign_window
from app.drip.zones import organization_zone_name, resolve_zone
from app.models import DripCampaign

NAME = CAMPAIGN["name"]


def seed_history(session: Session, organization_id: int, now: datetime, seed: int) -> dict:
    """Create the campaign with its history; how many rows of each kind were written."""
    rng = random.Random(seed)
    org_zone = organization_zone_name(session, organization_id)
    taken = demo_people.taken_phones(session, organization_id)
    joined, persons = _signups(rng, now, org_zone, taken)
    tags = demo_people.history_tags(rng, len(persons))
    contact_ids = demo_people.insert_contacts(session, organization_id, persons, joined, tags, rng)
    campaign, plans = _campaign(session, organization_id, joined[0])
    by_position = {plan.position: step for plan, step in plans}
    tests = demo_ab.create_tests(session, campaign, by_position, joined[0], now)
    window = campaign_window(campaign)
    joiners = [
        Joiner(i, contact_id, at, resolve_zone(person.known_zone, org_zone))
        for i, (contact_id, at, person) in enumerate(zip(contact_ids, joined, persons, strict=True))
    ]
    step_plans = [p for p, _ in plans]
    choose = tests.chooser()
    journeys = [simulate(j, step_plans, window, choose, now, seed) for j in joiners]
    decided = demo_ab.decision_time(tests, journeys, now - timedelta(days=2))
    if decided is not None:
        # Sends of the tips step after the decision got the winner's text: live them again.
        tests.tips_decided_at = decided
        journeys = [
            simulate(j.joiner, step_plans, window, choose, now, seed) if _after(j, decided) else j
            for j in journeys
        ]
    target = demo_rows.Target(
        organization_id=organization_id,
        campaign_id=campaign.id,
        seed=seed,
        urls=_tracked_urls(plans),
        variant_tests={v.id: t for t, vs in tests.variants.items() for v in vs},
    )
    counts = {"contacts": len(contact_ids), **demo_rows.write(session, target, journeys)}
    demo_ab.finish(session, tests, now)
    return counts


def _signups(rng: random.Random, now: datetime, org_zone: str | None, taken: set[str]):
    """Sign-up times in order and the people who signed up then (today's, so far)."""
    today = now.astimezone(resolve_zone(org_zone)).date()
    per_day = daily_signups(rng, today)
    persons = demo_people.people(rng, sum(per_day), taken)
    days_ago = [HISTORY_DAYS - 1 - day for day, n in enumerate(per_day) for _ in range(n)]
    times = [
        signup_time(rng, resolve_zone(p.zone), ago, now)
        for p, ago in zip(persons, days_ago, strict=True)
    ]
    signed = sorted((at, i) for i, at in enumerate(times) if at is not None)
    return [at for at, _ in signed], [persons[i] for _, i in signed]


def _campaign(session: Session, organization_id: int, first_signup: datetime):
    """The campaign and its steps, active since just before the first sign-up."""
    campaign = campaigns.create_campaign(session, SYSTEM, organization_id, dict(CAMPAIGN))
    rows = [campaigns.add_step(session, SYSTEM, campaign, dict(fields)) for fields in STEPS]
    campaigns.change_status(session, SYSTEM, campaign, "activate")
    campaign.activated_at = first_signup - timedelta(hours=2)
    campaign.created_at = campaign.activated_at - timedelta(days=2, hours=3)
    for row in rows:
        row.created_at = row.updated_at = campaign.created_at + timedelta(minutes=10)
    campaign.updated_at = campaign.activated_at
    plans = [(StepPlan(s.id, s.position, s.delay_amount, s.delay_unit), s) for s in rows]
    return campaign, plans


def _after(journey, decided: datetime) -> bool:
    return any(
        s.step.position == demo_ab.TIPS_POSITION and s.outcome.sent_at >= decided
        for s in journey.sends
    )


def _tracked_urls(plans) -> dict[int, str]:
    """step id -> the URL of its text message (the campaign tracks links)."""
    urls = {}
    for plan, step in plans:
        text = step.message_content if step.message_type == "text" else None
        spans = find_urls(text or "")
        if spans:
            start, end = spans[0]
            urls[plan.id] = text[start:end]
    return urls


def exists(session: Session, organization_id: int) -> bool:
    return (
        session.scalar(
            select(DripCampaign.id).where(
                DripCampaign.organization_id == organization_id, DripCampaign.name == NAME
            )
        )
        is not None
    )
