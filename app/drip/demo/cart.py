"""The demo's branched campaign, "Cart recovery": "Your cart" waits a day for the contact to
click its link (-> "Checkout help", step 3) or to reply (the journey ends there); otherwise
the "Reminder" (step 2) goes out, and "Checkout help" after it in order.

Two weeks of history among the history's contacts, written as the rows the processor and the
webhooks leave (each message log with the path it arrived by, via_step_id and via): contacts
who clicked, replied, timed out to the Reminder, and the last day's still waiting on the
branch, so that the funnel's rows per path have something to show. Nothing it leaves is due
before now: the processor takes it from there (timeouts, the next messages).
"""

from __future__ import annotations

import random
from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from app.drip import campaigns
from app.drip.audit import SYSTEM
from app.drip.demo.bulk import insert_rows
from app.models import Contact, DripCampaign, DripEnrollment, DripMessageLog

NAME = "Cart recovery"
CONTACTS = 160
DAYS = 14
WAIT = timedelta(days=1)
HELP_DELAY = timedelta(hours=2)
CLAIM = timedelta(minutes=1)  # from due to sent: the next pass
CAMPAIGN = {
    "name": NAME,
    "description": "A journey that branches: a cart reminder waits a day for a click on the "
    "cart link (then checkout help) or a reply (then it ends); without either, a reminder.",
    "stop_on_reply": False,  # a reply is a branch here, not a stop
    "track_links": True,
}
STEPS = (
    {
        "name": "Your cart",
        "delay_amount": 0,
        "delay_unit": "minutes",
        "message_content": "{{first_name|Hi}}, your cart is waiting: "
        "https://demo-shop.example/cart",
    },
    {
        "name": "Reminder",
        "delay_amount": 0,
        "delay_unit": "minutes",
        "message_type": "template",
        "template": {
            "name": "drip_offer",
            "language": "en_US",
            "parameters": ["{{first_name|there}}", "10%", "CART10"],
        },
    },
    {
        "name": "Checkout help",
        "delay_amount": 2,
        "delay_unit": "hours",
        "message_content": "Thanks {{first_name|there}}! Anything we can help with at checkout? "
        "Reply here.",
        "fallback_template": {
            "name": "onboarding_tips",
            "language": "en_US",
            "parameters": ["{{first_name|there}}"],
        },
    },
)


def exists(session: Session, organization_id: int) -> bool:
    found = session.scalar(
        select(DripCampaign.id).where(
            DripCampaign.organization_id == organization_id, DripCampaign.name == NAME
        )
    )
    return found is not None


def seed_cart(session: Session, organization_id: int, now: datetime, seed: int) -> dict:
    """The campaign, its branch and its history; how many rows of each kind were written."""
    campaign = campaigns.create_campaign(session, SYSTEM, organization_id, dict(CAMPAIGN))
    cart, reminder, help_step = (
        campaigns.add_step(session, SYSTEM, campaign, dict(fields)) for fields in STEPS
    )
    branch = {
        "waitAmount": 1,
        "waitUnit": "days",
        "conditions": [
            {"event": "clicked", "goTo": help_step.id},
            {"event": "replied", "goTo": "end"},
        ],
        "onTimeout": "next",
    }
    campaigns.update_step(session, SYSTEM, campaign, cart, {"branch": branch})
    campaigns.change_status(session, SYSTEM, campaign, "activate")
    campaign.activated_at = now - timedelta(days=DAYS, hours=1)
    contacts = session.scalars(
        select(Contact.id)
        .where(
            Contact.organization_id == organization_id,
            Contact.opted_out_at.is_(None),
            Contact.undeliverable_at.is_(None),
        )
        .order_by(Contact.id)
        .limit(CONTACTS)
    ).all()
    rng = random.Random(seed)
    steps = (cart.id, reminder.id, help_step.id)
    journeys = [_journey(rng, steps, now) for _ in contacts]
    base = {"organization_id": organization_id, "campaign_id": campaign.id}
    insert_rows(
        session,
        DripEnrollment,
        [
            {**base, "contact_id": c, **j["enrollment"]}
            for c, j in zip(contacts, journeys, strict=True)
        ],
    )
    ids = dict(
        session.execute(
            select(DripEnrollment.contact_id, DripEnrollment.id).where(
                DripEnrollment.campaign_id == campaign.id
            )
        ).all()
    )
    logs = [
        {
            **base,
            "enrollment_id": ids[c],
            "contact_id": c,
            "wamid": f"wamid.DEMO.CART.{seed}.{ids[c]}.{log['step_id']}",
            **log,
        }
        for c, j in zip(contacts, journeys, strict=True)
        for log in j["logs"]
    ]
    insert_rows(session, DripMessageLog, logs)
    return {"cart_enrollments": len(journeys), "cart_message_logs": len(logs)}


def _log(step_id: int, sent_at: datetime, via_step_id, via, **times) -> dict:
    read_at = times.get("read_at")
    done = [t for t in (sent_at, read_at, *times.values()) if t is not None]
    return {
        "step_id": step_id,
        "status": "read" if read_at else "delivered",
        "attempts": 1,
        "sent_at": sent_at,
        "delivered_at": sent_at + timedelta(seconds=4),
        "read_at": read_at,
        "replied_at": times.get("replied_at"),
        "clicked_at": times.get("clicked_at"),
        "via_step_id": via_step_id,
        "via": via,
        "created_at": sent_at - timedelta(seconds=1),
        "updated_at": max(done),
    }


def _journey(rng: random.Random, steps: tuple[int, int, int], now: datetime) -> dict:
    """One contact's way through the campaign, up to now."""
    cart, reminder, help_step = steps
    enrolled = now - timedelta(minutes=rng.randint(30, DAYS * 24 * 60))
    sent = enrolled + CLAIM
    state = {
        "status": "active",
        "current_step_id": cart,
        "last_step_id": cart,
        "next_send_at": sent + WAIT,
        "last_sent_at": sent,
        "wait_reason": "branch",  # waiting on the branch, until an event or the deadline
        "via_step_id": None,
        "via": None,
        "retry_count": 0,
        "enrolled_at": enrolled,
        "completed_at": None,
    }
    draw = rng.random()
    event_at = sent + timedelta(minutes=rng.randint(5, 20 * 60))
    logs = []

    def then_help(anchor: datetime, via_step_id: int, via: str) -> None:
        """Checkout help, due HELP_DELAY after `anchor`: sent and completed, or waiting."""
        due = anchor + HELP_DELAY
        moved = {"current_step_id": help_step, "via_step_id": via_step_id, "via": via}
        state.update(moved, wait_reason=None, last_sent_at=anchor, next_send_at=due)
        if due + CLAIM > now:
            return
        at = due + CLAIM
        read = at + timedelta(minutes=rng.randint(2, 90)) if rng.random() < 0.6 else None
        logs.append(
            _log(help_step, at, via_step_id, via, read_at=read if read and read < now else None)
        )
        state.update(status="completed", last_step_id=help_step, next_send_at=None)
        state.update(completed_at=at, last_sent_at=at)

    if draw < 0.35 and event_at < now:  # clicked the cart link: checkout help
        logs.append(
            _log(
                cart, sent, None, None, read_at=event_at - timedelta(minutes=1), clicked_at=event_at
            )
        )
        then_help(event_at, cart, "clicked")
    elif draw < 0.5 and event_at + CLAIM < now:  # replied: the branch ends the journey
        logs.append(
            _log(
                cart, sent, None, None, read_at=event_at - timedelta(minutes=1), replied_at=event_at
            )
        )
        state.update(status="completed", via_step_id=cart, via="replied", wait_reason=None)
        state.update(next_send_at=None, last_sent_at=event_at, completed_at=event_at + CLAIM)
    else:
        read = event_at if draw < 0.7 and event_at < now else None
        logs.append(_log(cart, sent, None, None, read_at=read))
        if sent + WAIT + CLAIM < now:  # the wait ran out: the Reminder
            at = sent + WAIT + CLAIM
            logs.append(_log(reminder, at, cart, "timeout"))
            state.update(last_step_id=reminder, current_step_id=reminder, last_sent_at=at)
            then_help(at, reminder, "next")
    state["updated_at"] = max(
        t for t in (enrolled, state["completed_at"], state["last_sent_at"]) if t is not None
    )
    return {"enrollment": state, "logs": logs}
