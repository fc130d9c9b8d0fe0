"""Webhook deliveries replayed, duplicated, shuffled and re-batched (hypothesis), through the
real signed endpoint, on SQLite and PostgreSQL: the end state is the one that applying every
event once, one delivery each, in time order gives.

Each example builds two identical organizations. One gets the events in time order, one per
delivery; the other gets them with repeats, shuffled, in batches of a few (mixing statuses,
replies and opt-outs), some deliveries posted twice byte for byte. Compared: every message
log (status, its times, replied, error), every enrollment (status, reason, step), every
contact (opt-out, last inbound, undeliverable), the status events and inbound messages kept,
and the campaign analytics answered by the API (funnel, engagement, time series).

The histories are causal, as Meta's are: a message is sent before it is delivered, delivered
before it is read (or read with no delivered), failed and never delivered; a reply quotes
only a message that arrived and comes after it.

Two events that each end something for the same contact are generated too: a contact sends
up to three messages (replies, STOP) or opt-outs, whatever happened to their messages, and
any of their messages may fail with a code that ends its enrollment (131026, 131047) or opts
them out (131050). The earliest event wins whatever order they arrive in: a reply is judged
against the enrollment and message states at its own time (an enrollment ended later was
live; a message that failed later had not failed), and an enrollment ends (a contact is
opted out or marked undeliverable) at the time of the earliest such event. The regression
cases of KNOWN_ORDER_DEPENDENCE at the end pin the pairs that used to depend on the order.

Both enrollments of each contact wait on a branch (STOP_BRANCH, keep_branch): a read or a
reply moves them on in the webhook's transaction, and an earlier ending arriving later undoes
a branch taken after it. Each enrollment's step, the step and event it came by (via_step_id,
via) and the anchor of its next step (last_sent_at) are compared too.
"""

from __future__ import annotations

import itertools
import random
from dataclasses import dataclass, field, replace
from datetime import timedelta

import hypothesis
import pytest
from hypothesis import HealthCheck, given, note, settings
from hypothesis import strategies as st
from sqlalchemy import select

from app.drip import accounts
from app.models import (
    Contact,
    DripCampaign,
    DripCampaignStep,
    DripEnrollment,
    DripMessageLog,
    InboundMessage,
    WhatsAppStatusEvent,
)
from tests.faults import meta
from tests.integration.enrollment_world import NOW, live_steps, make_campaign
from tests.integration.test_engagement import enrollment_row, log_row
from tests.integration.test_webhook import set_account

pytestmark = pytest.mark.slow  # registered for the fault tests; CI runs them all

SECRET = "replay_app_secret"
PHONES = ("+447700900123", "+447700900456", "+447700900789")
# Each contact has three sent messages: steps 1 and 2 of a campaign that stops on reply (now
# waiting on step 2's branch), step 1 of one that does not (waiting on step 1's branch).
MESSAGES = 3
T0 = meta.unix(NOW)
FATES = ("silent", "sent", "delivered", "read", "read_only", "failed", "sent_failed")
# Failures that change only the message, and those that also end its enrollment (131026,
# 131047) or opt the contact out (131050).
QUIET_FAILURES = (131049, 131000)
ENDING_FAILURES = (131026, 131047, 131050)
_worlds = itertools.count(1)


@dataclass(frozen=True)
class Event:
    """One thing Meta reports: a message's status, a contact's message, or an opt-out."""

    at: int
    kind: str  # status | message | opt_out
    contact: int
    message: int | None = None  # the status's message; the quoted message of a reply
    status: str | None = None
    code: int | None = None
    text: str | None = None
    key: int = 0  # tells contacts' messages apart


def sent_at(contact: int, message: int) -> int:
    return T0 + 600 * message + contact


def wamid(prefix: str, contact: int, message: int) -> str:
    return f"wamid.{prefix}.{contact}.{message}"


# --- histories -------------------------------------------------------------------------------


@st.composite
def statuses_of(draw, contact: int, message: int, arrived: dict):
    """A message's statuses, as Meta reports them; `arrived` gets its delivery time."""
    base = sent_at(contact, message)
    fate = draw(st.sampled_from(FATES))
    gaps = draw(st.tuples(*[st.integers(1, 900)] * 3))
    t1, t2, t3 = list(itertools.accumulate(gaps, initial=base))[1:]
    made = []
    if fate in ("sent", "delivered", "read", "sent_failed"):
        made.append(Event(t1, "status", contact, message, "sent"))
    if fate in ("delivered", "read"):
        made.append(Event(t2, "status", contact, message, "delivered"))
        arrived[(contact, message)] = t2
    if fate == "read":
        made.append(Event(t3, "status", contact, message, "read"))
    if fate == "read_only":  # Meta may report "read" with no "delivered" before it
        made.append(Event(t2, "status", contact, message, "read"))
        arrived[(contact, message)] = t2
    if fate in ("failed", "sent_failed"):
        code = draw(st.sampled_from(QUIET_FAILURES + ENDING_FAILURES))
        made.append(Event(t2, "status", contact, message, "failed", code=code))
    return made


@st.composite
def histories(draw) -> list[Event]:
    contacts = draw(st.integers(1, len(PHONES)))
    events, arrived = [], {}
    for contact in range(contacts):
        for message in range(MESSAGES):
            events += draw(statuses_of(contact, message, arrived))
    keys = itertools.count(1)
    for contact in range(contacts):
        # Up to three messages or opt-outs per contact, whatever happened to their messages.
        for said in draw(st.lists(st.sampled_from(["reply", "stop", "opt_out"]), max_size=3)):
            at = T0 + draw(st.integers(1, 7200))
            if said == "reply":
                quoted = draw(st.sampled_from([None, 0, 1, 2]))
                if (contact, quoted) in arrived:  # only a message that arrived can be quoted
                    at = arrived[(contact, quoted)] + draw(st.integers(1, 3600))
                else:
                    quoted = None
                text = "Tell me more"
                events.append(Event(at, "message", contact, quoted, text=text, key=next(keys)))
            elif said == "stop":
                events.append(Event(at, "message", contact, text="STOP", key=next(keys)))
            else:
                events.append(Event(at, "opt_out", contact))
    return distinct_times(events)


def distinct_times(events: list[Event]) -> list[Event]:
    """Each event at its own second, in the same order: "in time order" is then one order."""
    ordered, last = [], None
    for event in sorted(events, key=lambda e: (e.at, e.kind, e.contact, e.message or 0)):
        at = event.at if last is None or event.at > last else last + 1
        ordered.append(replace(event, at=at))
        last = at
    return ordered


@dataclass
class Mess:
    """How the second organization gets the events: repeated, shuffled, re-batched, some
    deliveries posted twice."""

    repeats: list[int] = field(default_factory=list)
    seed: int = 0
    sizes: list[int] = field(default_factory=list)
    twice: list[int] = field(default_factory=list)

    def deliveries(self, events: list[Event]) -> list[list[Event]]:
        if not events:
            return []
        items = events + [events[i % len(events)] for i in self.repeats]
        random.Random(self.seed).shuffle(items)
        batches, sizes = [], itertools.cycle(self.sizes or [1])
        while items:
            size = next(sizes)
            batches.append(items[:size])
            items = items[size:]
        for i in self.twice:
            batches.insert(i % len(batches), batches[i % len(batches)])
        return batches


MESSES = st.builds(
    Mess,
    repeats=st.lists(st.integers(0, 100), max_size=6),
    seed=st.integers(0, 2**32),
    sizes=st.lists(st.integers(1, 5), min_size=1, max_size=4),
    twice=st.lists(st.integers(0, 100), max_size=2),
)


# --- two identical organizations -------------------------------------------------------------


@dataclass
class World:
    org_id: int
    prefix: str
    phone_number_id: str
    api_key: str
    campaign_ids: list[int]


def build(session, label: str) -> World:
    n = next(_worlds)
    org = accounts.create_organization(session, f"Replay {label}{n}")
    phone_number_id = f"93{n:013d}{1 if label == 'O' else 2}"
    set_account(session, org.id, phone_number_id, SECRET)
    _key, token = accounts.create_api_key(session, org.id, "replay")
    stops = make_campaign(session, org.id, steps=((1, "days"),) * 3, name="Stops on reply")
    keeps = make_campaign(
        session, org.id, steps=((1, "days"),) * 3, name="Keeps going", stop_on_reply=False
    )
    prefix = f"{label}{n}"
    stop_steps, keep_steps = live_steps(session, stops), live_steps(session, keeps)
    stop_steps[1].branch = STOP_BRANCH
    keep_steps[0].branch = keep_branch(keep_steps[2].id)
    for i, phone in enumerate(PHONES):
        contact = Contact(organization_id=org.id, phone=phone, first_name=f"P{i}")
        session.add(contact)
        session.flush()
        # Both wait on the branch of the step they were sent last (message 1, message 2).
        stopping = waiting_row(session, stops, contact, stop_steps[1], sent_at(i, 1), stop_steps[0])
        keeping = waiting_row(session, keeps, contact, keep_steps[0], sent_at(i, 2))
        for message, (enrollment, step) in enumerate(
            [(stopping, stop_steps[0]), (stopping, stop_steps[1]), (keeping, keep_steps[0])]
        ):
            at = NOW + timedelta(seconds=sent_at(i, message) - T0)
            via = {"via_step_id": stop_steps[0].id, "via": "next"} if message == 1 else {}
            log_row(session, enrollment, step, wamid=wamid(prefix, i, message), sent_at=at, **via)
    session.commit()
    return World(org.id, prefix, phone_number_id, token, [stops.id, keeps.id])


# Step 2 of the campaign that stops on reply: a read (or the reply that stops it) ends the
# journey within the hour. Step 1 of the one that keeps going: a reply ends it, a read leads to
# step 3, within two hours (some events come later: they do not count).
STOP_BRANCH = {
    "waitAmount": 1,
    "waitUnit": "hours",
    "conditions": [{"event": "read", "goTo": "end"}],
}


def keep_branch(step_3: int) -> dict:
    conditions = [{"event": "replied", "goTo": "end"}, {"event": "read", "goTo": step_3}]
    return {"waitAmount": 2, "waitUnit": "hours", "conditions": conditions, "onTimeout": "next"}


def waiting_row(session, campaign, contact, step, sent: int, came_from=None):
    """An enrollment waiting on the branch of `step`, sent at `sent` (unix time), reached in
    order from `came_from` (None: the first step)."""
    at = NOW + timedelta(seconds=sent - T0)
    wait = timedelta(hours=step.branch["waitAmount"])
    return enrollment_row(
        session,
        campaign,
        contact,
        step=step,
        last_step_id=step.id,
        last_sent_at=at,
        next_send_at=at + wait,
        wait_reason="branch",
        via_step_id=came_from.id if came_from is not None else None,
        via="next" if came_from is not None else None,
    )


def body_of(world: World, events: list[Event]) -> bytes:
    statuses, messages, opt_outs = [], [], []
    for e in events:
        if e.kind == "status":
            statuses.append(
                meta.status(wamid(world.prefix, e.contact, e.message), e.status, e.at, code=e.code)
            )
        elif e.kind == "message":
            context = wamid(world.prefix, e.contact, e.message) if e.message is not None else None
            message_id = f"wamid.IN.{world.prefix}.{e.key}"
            messages.append(
                meta.text_message(message_id, PHONES[e.contact][1:], e.at, e.text, context)
            )
        else:
            opt_outs.append((PHONES[e.contact][1:], e.at))
    return meta.delivery(world.phone_number_id, statuses, messages, opt_outs)


def deliver(client, world: World, deliveries: list[list[Event]]) -> None:
    for events in deliveries:
        answer = meta.post(client, body_of(world, events), SECRET)
        assert answer.status_code == 200, answer.json
        assert "deferred" not in answer.json["data"], answer.json


# --- the end state ---------------------------------------------------------------------------


def snapshot(session, client, world: World) -> dict:
    """What the deliveries changed, without ids, prefixes or times of receipt."""
    session.expire_all()
    org = world.org_id

    def plain(text):
        return text.replace(world.prefix, "") if isinstance(text, str) else text

    logs = session.execute(
        select(DripMessageLog, DripCampaign.name, DripCampaignStep.position, Contact.phone)
        .join(DripCampaign, DripCampaign.id == DripMessageLog.campaign_id)
        .join(DripCampaignStep, DripCampaignStep.id == DripMessageLog.step_id)
        .join(Contact, Contact.id == DripMessageLog.contact_id)
        .where(DripMessageLog.organization_id == org)
    ).all()
    enrollments = session.execute(
        select(DripEnrollment, DripCampaign.name, Contact.phone)
        .join(DripCampaign, DripCampaign.id == DripEnrollment.campaign_id)
        .join(Contact, Contact.id == DripEnrollment.contact_id)
        .where(DripEnrollment.organization_id == org)
    ).all()
    steps = {s.id: s.position for s in session.scalars(select(DripCampaignStep))}
    state = {
        "logs": sorted(
            (name, position, phone, log.status, log.sent_at, log.delivered_at, log.read_at,
             log.failed_at, log.replied_at, log.error_code, log.error_message)
            for log, name, position, phone in logs
        ),
        "enrollments": sorted(
            (name, phone, e.status, e.stop_reason, e.stopped_at, steps.get(e.current_step_id),
             steps.get(e.via_step_id), e.via, e.last_sent_at, e.wait_reason)
            for e, name, phone in enrollments
        ),
        "contacts": sorted(
            (c.phone, c.opted_out_at, c.opt_out_reason, c.last_inbound_at, c.undeliverable_at)
            for c in session.scalars(select(Contact).where(Contact.organization_id == org))
        ),
        "status_events": sorted(
            (plain(w.wamid), w.status, w.occurred_at, w.error_code)
            for w in session.scalars(
                select(WhatsAppStatusEvent).where(WhatsAppStatusEvent.organization_id == org)
            )
        ),
        "inbound": sorted(
            (plain(m.wa_message_id), m.occurred_at, plain(m.context_wamid), m.contact_id is None)
            for m in session.scalars(
                select(InboundMessage).where(InboundMessage.organization_id == org)
            )
        ),
    }  # fmt: skip
    session.rollback()
    state["analytics"] = analytics(client, world)
    return state


def analytics(client, world: World) -> list:
    """The campaigns' funnel, engagement and time series from the API, ids left out."""
    reports = []
    auth = {"Authorization": f"Bearer {world.api_key}"}
    for campaign_id in world.campaign_ids:
        for query in (
            "type=funnel",
            "type=engagement",
            "type=timeseries&from=2030-01-06&to=2030-01-09",
        ):
            answer = client.get(
                f"/api/drip-campaigns/{campaign_id}/analytics?{query}", headers=auth
            )
            assert answer.status_code == 200, answer.json
            reports.append(without_ids(answer.json["data"]))
    return reports


def without_ids(value):
    if isinstance(value, dict):
        return {
            k: without_ids(v)
            for k, v in value.items()
            if k not in ("campaignId", "stepId", "fromStepId", "id")
        }
    if isinstance(value, list):
        return [without_ids(v) for v in value]
    return value


# --- the property ----------------------------------------------------------------------------


@settings(
    max_examples=30,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(history=histories(), mess=MESSES)
def test_replayed_duplicated_shuffled_deliveries_end_as_once_in_order(
    clean_app, session, history, mess
):
    note(f"history={history!r}")
    note(f"mess={mess!r}")
    for kind in sorted({e.text or e.status or e.kind for e in history}):
        hypothesis.event(kind)
    in_order, messy = build(session, "O"), build(session, "S")
    client = clean_app.test_client()
    deliver(client, in_order, [[event] for event in history])
    deliver(client, messy, mess.deliveries(history))
    assert snapshot(session, client, messy) == snapshot(session, client, in_order)


# --- order dependence fixed (regression cases) -----------------------------------------------

# Pairs of events whose end state used to depend on which was applied first: the first one
# applied ended the enrollment (or set the contact's time) and the other found it ended,
# whatever their timestamps said. Each is realistic (Meta delivers out of order); the earliest
# event now wins in either order.
KNOWN_ORDER_DEPENDENCE = {
    # The second reply applied first used to stop the enrollment at its own, later, time.
    "two_replies": [
        Event(T0 + 100, "message", 0, text="Hello?", key=1),
        Event(T0 + 200, "message", 0, text="Anyone there?", key=2),
    ],
    # Opted out first (unsubscribed), or undeliverable first (failed): used to end apart.
    "opt_out_and_failure": [
        Event(T0 + 100, "opt_out", 0),
        Event(T0 + 700, "status", 0, 1, "failed", code=131026),
    ],
    # The reply used to mark the latest message sent before it that had not failed *yet*.
    "reply_and_failure": [
        Event(T0 + 700, "status", 0, 1, "failed", code=131049),
        Event(T0 + 800, "message", 0, text="Hello?", key=1),
    ],
    # Undeliverable twice: the enrollment used to end, and the contact to be marked, at the
    # time of the failure applied first.
    "two_failures": [
        Event(T0 + 100, "status", 0, 0, "failed", code=131026),
        Event(T0 + 700, "status", 0, 1, "failed", code=131026),
    ],
    # A read moved the branch (to step 3, anchored at the read), then the earlier reply that
    # ends the journey came: the anchor used to stay the read's.
    "branch_read_then_earlier_reply": [
        Event(T0 + 1301, "message", 0, 2, text="Tell me more", key=1),
        Event(T0 + 1713, "status", 0, 2, "read"),
    ],
    # A reply ended the journey by its branch (a reply is a read), then an earlier reply
    # stopped the enrollment before it: undone, it used to lose its wait on the branch.
    "branch_end_then_earlier_stop": [
        Event(T0 + 1, "message", 0, text="Hello?", key=1),
        Event(T0 + 1301, "message", 0, text="Anyone there?", key=2),
    ],
}


@pytest.mark.parametrize("case", sorted(KNOWN_ORDER_DEPENDENCE))
def test_known_order_dependence(clean_app, session, case):
    history = KNOWN_ORDER_DEPENDENCE[case]
    in_order, reversed_ = build(session, "O"), build(session, "R")
    client = clean_app.test_client()
    deliver(client, in_order, [[event] for event in history])
    deliver(client, reversed_, [[event] for event in reversed(history)])
    assert snapshot(session, client, reversed_) == snapshot(session, client, in_order)
