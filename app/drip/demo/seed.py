"""The demo organization's data, so that every page has something true to show:

- "New customer onboarding" (app.drip.demo.history): sixty days of sign-ups with their messages,
  replies, opt-outs, failures and clicks, a finished A/B test and a running one;
- "Welcome series": a live campaign with minute-long delays and no send window, whose
  contacts start one a minute, so that the embedded worker and the sandbox provider keep
  sending, delivering, reading and answering for a while after `make run` starts;
- "Cart recovery" (app.drip.demo.cart): a journey that branches (a click leads to checkout
  help, a reply ends it, silence to a reminder), with two weeks of contacts on each path.

Each part is made once: a part whose campaign already exists is left as it is.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from sqlalchemy import bindparam, select, update
from sqlalchemy.orm import Session

from app.drip import campaigns, sending, templates
from app.drip.audit import SYSTEM
from app.drip.demo import cart as demo_cart
from app.drip.demo import history as demo_history
from app.drip.demo import people as demo_people
from app.models import DripCampaign, DripEnrollment, utcnow

SEED = 2026
DEMO_CAMPAIGN = "Welcome series"
LIVE_CONTACTS = 60
LIVE_TAG = "customer"
STAGGER = timedelta(minutes=1)  # between two live contacts' first messages
ZONES = [
    "Europe/London",
    "Europe/Berlin",
    "America/New_York",
    "America/Sao_Paulo",
    "Asia/Kolkata",
    None,
]
LIVE_PLANS = ("free", "pro", "team")
WELCOME_STEPS = [
    {
        "name": "Welcome",
        "delay_amount": 0,
        "delay_unit": "minutes",
        "message_content": "Hi {{first_name|there}}, welcome to Demo Shop! Reply any time with "
        "a question.",
    },
    {
        "name": "Getting started",
        "delay_amount": 3,
        "delay_unit": "minutes",
        "message_content": "{{first_name|Hello}}, three tips to get the most out of your "
        "{{attributes.plan|free}} plan: https://demo-shop.example/start",
    },
    {
        "name": "First-order offer",
        "delay_amount": 10,
        "delay_unit": "minutes",
        "message_type": "template",
        "template": {
            "name": "drip_offer",
            "language": "en_US",
            "parameters": ["{{first_name|there}}", "10%", "WELCOME10"],
        },
    },
]


@dataclass
class DemoResult:
    """What seed_demo_data made: the parts created now, and row counts of the history."""

    created: list[str] = field(default_factory=list)
    existing: list[str] = field(default_factory=list)
    rows: dict[str, int] = field(default_factory=dict)


def seed_demo_data(
    session: Session, organization_id: int, *, now: datetime | None = None
) -> DemoResult:
    """Create each part of the demo that is not there yet (by campaign name) and refresh the
    campaign counters; what was created and what was already there."""
    now = now or utcnow()
    result = DemoResult()
    # The campaigns' later steps are templates of the built-in catalog.
    templates.ensure_sandbox_catalog(session, organization_id, now)
    if demo_history.exists(session, organization_id):
        result.existing.append(demo_history.NAME)
    else:
        result.rows = demo_history.seed_history(session, organization_id, now, SEED)
        result.created.append(demo_history.NAME)
    # After the history: the cart campaign's contacts are the history's.
    if demo_cart.exists(session, organization_id):
        result.existing.append(demo_cart.NAME)
    else:
        result.rows.update(demo_cart.seed_cart(session, organization_id, now, SEED))
        result.created.append(demo_cart.NAME)
    if _live_exists(session, organization_id):
        result.existing.append(DEMO_CAMPAIGN)
    else:
        _seed_live(session, organization_id, now)
        result.created.append(DEMO_CAMPAIGN)
    if result.created:
        # The campaign list's counters, as the refresh job would set them. The rollups are
        # left to the compaction job (the embedded worker runs it as it starts): the pages
        # read them exactly either way.
        sending.refresh_campaign_counters(session, now)
    return result


def _live_exists(session: Session, organization_id: int) -> bool:
    found = session.scalar(
        select(DripCampaign.id).where(
            DripCampaign.organization_id == organization_id, DripCampaign.name == DEMO_CAMPAIGN
        )
    )
    return found is not None


def _seed_live(session: Session, organization_id: int, now: datetime) -> None:
    """The live campaign: contacts enrolled now, first messages one a minute from now."""
    _live_contacts(session, organization_id, now)
    campaign = campaigns.create_campaign(
        session,
        SYSTEM,
        organization_id,
        {
            "name": DEMO_CAMPAIGN,
            "description": "Three messages over a new customer's first quarter of an hour, "
            "at any time of day: watch them go out, be delivered, read and answered.",
        },
    )
    for fields in WELCOME_STEPS:
        campaigns.add_step(session, SYSTEM, campaign, fields)
    campaigns.change_status(session, SYSTEM, campaign, "activate")
    campaigns.enroll_contacts(session, SYSTEM, campaign, {"tag": LIVE_TAG}, now=now)
    ids = session.scalars(
        select(DripEnrollment.id)
        .where(DripEnrollment.campaign_id == campaign.id)
        .order_by(DripEnrollment.contact_id)
    ).all()
    table = DripEnrollment.__table__
    session.execute(
        update(table).where(table.c.id == bindparam("b_id")).values(next_send_at=bindparam("b_at")),
        [{"b_id": i, "b_at": now + n * STAGGER} for n, i in enumerate(ids)],
    )


def _live_contacts(session: Session, organization_id: int, now: datetime) -> None:
    """The live campaign's customers: +1 202 555 0100 and on (the history never uses 202),
    tagged "customer"; numbers already taken are skipped."""
    rng = random.Random(7)
    taken = demo_people.taken_phones(session, organization_id)
    persons, tags = [], []
    for index in range(LIVE_CONTACTS):
        zone = rng.choice(ZONES)
        person = demo_people.Person(
            phone=f"+12025550{100 + index}",
            zone=zone or "UTC",
            known_zone=zone,
            first_name=demo_people.FIRST_NAMES[index % 20],
            last_name=rng.choice(demo_people.LAST_NAMES),
            plan=rng.choice(LIVE_PLANS),
            source="store",
        )
        if person.phone not in taken:
            persons.append(person)
            tags.append((LIVE_TAG, "newsletter") if index % 3 == 0 else (LIVE_TAG,))
    joined = [now - timedelta(minutes=5)] * len(persons)
    demo_people.insert_contacts(session, organization_id, persons, joined, tags, rng)
