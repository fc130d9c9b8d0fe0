"""The demo history's campaign, "New customer onboarding", as data: its steps, the messages its
A/B tests compare, how people respond to each message, and what happens to one message sent
(pure: a send time and a handful of uniform draws in, an outcome out).

Rates are shares of messages sent, as the analytics report them: a message is read by
`read` of the people it is sent to. A failure comes back from Meta seconds after the send
(a failed status webhook), with the codes and shares a marketing sender sees: 131026 for
numbers that cannot get WhatsApp messages (mostly at the first message), 131049 when Meta
holds back a marketing message, 131050 when the contact has turned off marketing messages.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from app.drip.engagement import Failure

SITE = "https://demo-shop.example"
CAMPAIGN = {
    "name": "New customer onboarding",
    "description": "Four messages over a new sign-up's first week: welcome and tips inside "
    "the 24-hour window their first message opens, then an offer and a last call as approved "
    "templates.",
    "trigger_type": "tag_added",
    "trigger_value": "new-signup",
    "stop_on_reply": True,
    "track_links": True,
    "window_start": "09:00",
    "window_end": "20:00",
    "window_timezone": "contact",
}
WELCOME = (
    "Hi {{first_name|there}}, welcome to Demo Shop! Your starter kit is on its "
    "way. Reply here any time with a question."
)
TIPS = (
    "{{first_name|Hello}}, three quick tips for your first order: sizes, delivery and "
    f"returns, all on one page: {SITE}/start"
)
# Sign-ups join by writing to the shop on WhatsApp (the site's "chat with us" link), which
# opens their 24-hour window: the welcome and the tips an hour later are free text inside it;
# the offer and the last call, days later, are approved templates from the catalog.
STEPS = (
    {"name": "Welcome", "delay_amount": 0, "delay_unit": "minutes", "message_content": WELCOME},
    {
        "name": "Getting started",
        "delay_amount": 1,
        "delay_unit": "hours",
        "message_content": TIPS,
        # The send window can push the tips to the next morning: still inside the 24 hours,
        # but should the window have closed, the approved tips template goes instead.
        "fallback_template": {
            "name": "onboarding_tips",
            "language": "en_US",
            "parameters": ["{{first_name|there}}"],
        },
    },
    {
        "name": "Offer",
        "delay_amount": 2,
        "delay_unit": "days",
        "message_type": "template",
        "template": {
            "name": "drip_offer",
            "language": "en_US",
            "parameters": ["{{first_name|there}}", "15%", "WELCOME15"],
        },
    },
    {
        "name": "Last call",
        "delay_amount": 3,
        "delay_unit": "days",
        "message_type": "template",
        "template": {
            "name": "onboarding_last_call",
            "language": "en_US",
            "parameters": ["{{first_name|there}}", "WELCOME15"],
            "buttons": ["WELCOME15"],
        },
    },
)
# The finished test: step 2, decided on clicks.
TIPS_TEST = {
    "name": "Tips: link first",
    "winning_metric": "click_rate",
    "min_sample_size": 400,
    "outcome_window_hours": 24,
    "control_allocation": 50,
}
TIPS_VARIANTS = (
    {
        "name": "Link first",
        "message_content": f"Start here: {SITE}/start\n"
        "{{first_name|Hello}}, that page has three quick tips for your first order: sizes, "
        "delivery and returns.",
        "traffic_allocation": 50,
    },
)
# The running test: step 1, decided on reads, planned for 1,000 sends per variant.
WELCOME_TEST = {
    "name": "Welcome opener",
    "winning_metric": "read_rate",
    "min_sample_size": 1000,
    "outcome_window_hours": 72,
    "control_allocation": 34,
}
WELCOME_VARIANTS = (
    {
        "name": "Question opener",
        "message_content": "{{first_name|Hi}}, what are you shopping for? Welcome to Demo "
        "Shop: tell us and we'll help you find it.",
        "traffic_allocation": 33,
    },
    {
        "name": "Short",
        "message_content": "Welcome to Demo Shop, {{first_name|there}}!",
        "traffic_allocation": 33,
    },
)


@dataclass(frozen=True)
class Response:
    """How people respond to one message, as shares: read of sent; click, reply and opt-out
    (answering STOP) of read."""

    read: float
    click: float = 0.0
    reply: float = 0.0
    opt_out: float = 0.0


# Keyed by (step position, variant name or None for the step's own message).
RESPONSES = {
    (1, None): Response(read=0.42, reply=0.09, opt_out=0.008),
    (1, "Question opener"): Response(read=0.51, reply=0.12, opt_out=0.008),
    (1, "Short"): Response(read=0.44, reply=0.05, opt_out=0.008),
    (2, None): Response(read=0.58, click=0.13, reply=0.04, opt_out=0.012),
    (2, "Link first"): Response(read=0.58, click=0.21, reply=0.04, opt_out=0.012),
    (3, None): Response(read=0.55, reply=0.08, opt_out=0.015),
    (4, None): Response(read=0.47, reply=0.04, opt_out=0.02),
}
# Per step position: (Meta error code, share of messages sent).
# No 131047 (free text outside the 24-hour window): Drip never sends it.
FAILURES = {
    1: (("131026", 0.016),),
    2: (("131049", 0.012), ("131050", 0.003), ("131026", 0.003)),
    3: (("131049", 0.014), ("131050", 0.003), ("131026", 0.002)),
    4: (("131049", 0.015), ("131050", 0.004), ("131026", 0.002)),
}
TITLES = {
    "131026": "Message undeliverable.",
    "131049": "This message was not delivered to maintain healthy ecosystem engagement.",
    "131050": "Unable to deliver the message. This recipient has chosen to stop receiving "
    "marketing messages on WhatsApp from your business.",
}
NO_RECEIPT = 0.02  # sent, and nothing more heard (a phone that stays off)
LATE_DELIVERY = 0.04  # delivered hours later (a phone switched back on)
REPLIES = (
    "Thanks!",
    "Do you ship to my area?",
    "How long does delivery take?",
    "Can I change my size after ordering?",
    "Great, thank you 👍",
    "Is the starter kit free?",
    "Does the code work on sale items?",
)
DRAWS_PER_SEND = 12  # uniforms one send uses, whatever happens to it


@dataclass(frozen=True)
class Outcome:
    """What happened to one message; None for what did not happen (yet)."""

    sent_at: datetime
    delivered_at: datetime | None = None
    read_at: datetime | None = None
    clicked_at: datetime | None = None
    replied_at: datetime | None = None
    reply_text: str | None = None
    opted_out_at: datetime | None = None  # answered STOP
    failed_at: datetime | None = None
    failure: Failure | None = None


def between(low: float, high: float, u: float) -> timedelta:
    """A delay in seconds drawn log-uniformly from [low, high]: most soon, a long tail."""
    return timedelta(seconds=low * (high / low) ** u)


def failure_of(position: int, u: float) -> str | None:
    """The error code of a failed message, or None (the usual case)."""
    edge = 0.0
    for code, share in FAILURES[position]:
        edge += share
        if u < edge:
            return code
    return None


def outcome(position: int, response: Response, sent_at: datetime, u: Sequence[float]) -> Outcome:
    """The fate of one message sent at sent_at, from DRAWS_PER_SEND uniforms u[0..11] (u[0]
    is the caller's: the send time)."""
    code = failure_of(position, u[1])
    if code is not None:
        failed_at = sent_at + between(1, 40, u[2])
        failure = Failure.from_errors([{"code": int(code), "title": TITLES[code]}])
        return Outcome(sent_at, failed_at=failed_at, failure=failure)
    if u[3] < NO_RECEIPT:
        return Outcome(sent_at)
    late = u[4] >= 1 - LATE_DELIVERY
    delivered = sent_at + (between(600, 36_000, u[4]) if late else between(2, 90, u[4]))
    delivered_share = (1 - NO_RECEIPT) * (1 - sum(s for _, s in FAILURES[position]))
    if u[5] >= min(response.read / delivered_share, 1.0):
        return Outcome(sent_at, delivered_at=delivered)
    read = delivered + between(40, 9 * 3600, u[6])
    clicked = read + between(5, 1800, u[8]) if u[7] < response.click else None
    replied = opted_out = text = None
    if u[9] < response.reply:
        replied = read + between(30, 5 * 3600, u[10])
        text = REPLIES[int(u[11] * len(REPLIES))]
    elif u[9] < response.reply + response.opt_out:
        opted_out = read + between(20, 2 * 3600, u[10])
    return Outcome(sent_at, delivered, read, clicked, replied, text, opted_out)
