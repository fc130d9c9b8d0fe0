"""The demo organization's data: contacts and a three-step welcome campaign."""

from __future__ import annotations

import random

from sqlalchemy import select
from sqlalchemy.orm import Session

from app.drip import campaigns, enrollment, steps
from app.drip.contact_changes import create_contact
from app.models import Contact, DripCampaign

DEMO_CAMPAIGN = "Welcome series"
FIRST_NAMES = [
    "Ana",
    "Ben",
    "Chloé",
    "Dev",
    "Emma",
    "Farid",
    "Grace",
    "Hiro",
    "Ines",
    "Jonas",
    "Kemi",
    "Liam",
    "Maya",
    "Noah",
    "Olga",
    "Priya",
    "Quinn",
    "Rosa",
    "Sam",
    "Tariq",
]
LAST_NAMES = [
    "Souza",
    "Okafor",
    "Martin",
    "Patel",
    "Schmidt",
    "Haddad",
    "Kim",
    "Tanaka",
    "García",
    "Berg",
    None,
]
ZONES = [
    "Europe/London",
    "Europe/Berlin",
    "America/New_York",
    "America/Sao_Paulo",
    "Asia/Kolkata",
    None,
]
PLANS = ["free", "pro", "team"]
# Fictional but valid numbers: +1 NXX 555 01xx.
AREA_CODES = [202, 212, 312, 415, 617]
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
        "delay_amount": 2,
        "delay_unit": "days",
        "message_content": "{{first_name|Hello}}, three tips to get the most out of your "
        "{{attributes.plan|free}} plan: https://example.com/start",
    },
    {
        "name": "First-order offer",
        "delay_amount": 5,
        "delay_unit": "days",
        "message_type": "template",
        "template": {
            "name": "welcome_offer",
            "language": "en_US",
            "parameters": ["{{first_name|there}}", "WELCOME10"],
        },
    },
]


def seed_demo_data(session: Session, organization_id: int, *, contacts: int = 60) -> bool:
    """Create the demo contacts and campaign once; False when they are already there."""
    exists = session.scalar(
        select(DripCampaign.id).where(
            DripCampaign.organization_id == organization_id, DripCampaign.name == DEMO_CAMPAIGN
        )
    )
    if exists:
        return False
    rng = random.Random(7)
    for index in range(contacts):
        phone = f"+1{AREA_CODES[index // 100 % len(AREA_CODES)]}5550{100 + index % 100}"
        if session.scalar(
            select(Contact.id).where(
                Contact.organization_id == organization_id, Contact.phone == phone
            )
        ):
            continue
        create_contact(
            session,
            organization_id,
            phone=phone,
            first_name=FIRST_NAMES[index % len(FIRST_NAMES)],
            last_name=rng.choice(LAST_NAMES),
            timezone=rng.choice(ZONES),
            tags=["customer"] + (["newsletter"] if index % 3 == 0 else []),
            attributes={"plan": rng.choice(PLANS)},
        )
    campaign = campaigns.create_campaign(
        session,
        organization_id,
        {
            "name": DEMO_CAMPAIGN,
            "description": "Three messages over a new customer's first week.",
            "window_start": "09:00",
            "window_end": "20:00",
            "window_timezone": "contact",
        },
    )
    for fields in WELCOME_STEPS:
        steps.add_step(session, campaign, fields)
    campaigns.change_status(session, campaign, "activate")
    enrollment.enroll(session, campaign, tag="customer")
    return True
