"""Branching journeys over random graphs and random event timings (hypothesis), on both
databases, through the real processing pass (the in-process sandbox sends) over a simulated
clock: each read and reply is applied at its time as a webhook applies it (apply_status,
apply_inbound with Meta-shaped events), each click through a tracked link (record_click).

The journey each contact should take is computed by a pure oracle from the graph and the
event times (`journey`), and the database must match it: the steps sent, in order, each at
most once, at the right time (the anchor of a branch's target is the event, or the end of the
wait), with the right via_step_id and via on every message log; and the enrollment ends
(completed, or stopped by stop-on-reply) pointing where the oracle says.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from datetime import timedelta

import pytest
from hypothesis import HealthCheck, example, given, note, settings
from hypothesis import strategies as st
from sqlalchemy import select

from app.drip.engagement.apply import apply_inbound, apply_status
from app.drip.engagement.links import record_click
from app.drip.enrollment import actions as enrollment
from app.drip.enrollment.branching import END, NEXT
from app.models import DripEnrollment, DripMessageLog, Link, Organization
from app.tasks.processing import run_processing_pass
from app.whatsapp import InboundMessageEvent, StatusUpdate
from tests.integration.enrollment_world import NOW, live_steps, make_campaign, make_contacts
from tests.support.window import wrote_to_us

pytestmark = pytest.mark.slow  # as the fault tests: a few seconds per database

MINUTE = timedelta(minutes=1)
DELAYS = (0, 5, 30, 90)  # minutes before a step, after the one before it
WAITS = ((10, "minutes"), (45, "minutes"), (1, "hours"), (2, "hours"))
OFFSETS = st.one_of(st.none(), st.integers(1, 150))  # minutes after the send, or never
EVENT_KINDS = ("read", "replied", "clicked")


@dataclass(frozen=True)
class Plan:
    delays: tuple[int, ...]
    # Per step: None, or (wait minutes, wait unit amount, [(event, target)], timeout), targets
    # as step indexes, END or NEXT.
    branches: tuple
    stop_on_reply: bool


@st.composite
def plans(draw) -> Plan:
    count = draw(st.integers(2, 6))
    delays = tuple(draw(st.sampled_from(DELAYS)) for _ in range(count))
    later = st.integers(0, count - 1)
    branches = []
    for index in range(count):
        if not draw(st.booleans()):
            branches.append(None)
            continue
        targets = st.one_of(st.just(END), later.filter(lambda i, index=index: i > index))
        if index == count - 1:
            targets = st.just(END)
        events = draw(st.lists(st.sampled_from(EVENT_KINDS), min_size=1, max_size=3, unique=True))
        rules = tuple((event, draw(targets)) for event in events)
        timeout = draw(st.one_of(st.just(NEXT), targets))
        branches.append((draw(st.sampled_from(WAITS)), rules, timeout))
    replied = any(b and any(e == "replied" for e, _ in b[1]) for b in branches)
    stop = False if replied else draw(st.booleans())
    return Plan(delays, tuple(branches), stop)


@st.composite
def cases(draw) -> tuple[Plan, list]:
    """A plan, and per contact, per step: (read, reply, click) offsets in minutes after that
    step's send (or None: never)."""
    plan = draw(plans())
    count = len(plan.delays)
    per_step = st.tuples(OFFSETS, OFFSETS, OFFSETS)
    offsets = draw(
        st.lists(st.lists(per_step, min_size=count, max_size=count), min_size=1, max_size=3)
    )
    return plan, offsets


# --- the oracle ------------------------------------------------------------------------------


def wait_of(branch) -> timedelta:
    amount, unit = branch[0]
    return timedelta(**{unit: amount})


def journey(plan: Plan, offsets) -> dict:
    """What one contact's enrollment does: the messages ((step, sent at, via step, via)), its
    status and where it points at the end ((current step, via step, via))."""
    sends, replies = [], []
    index, anchor, via_step, via = 0, NOW, None, None
    while True:
        send_at = anchor + plan.delays[index] * MINUTE
        stopped = plan.stop_on_reply and replies and min(replies) <= send_at
        if stopped:
            return {"sends": sends, "status": "stopped", "at": (index, via_step, via)}
        sends.append((index, send_at, via_step, via))
        read, reply, click = (None if o is None else send_at + o * MINUTE for o in offsets[index])
        if reply is not None:
            replies.append(reply)
        ended = min(replies) if plan.stop_on_reply and replies else None
        branch = plan.branches[index]
        if branch is None:
            if index + 1 == len(plan.delays):
                return {"sends": sends, "status": "completed", "at": (None, via_step, via)}
            index, anchor, via_step, via = index + 1, send_at, index, "next"
            continue
        deadline = send_at + wait_of(branch)
        happened = {
            "read": min((t for t in (read, reply) if t is not None), default=None),
            "replied": reply,
            "clicked": click,
        }
        best = None
        for order, (event, target) in enumerate(branch[1]):
            at = happened[event]
            if at is None or at > deadline or (ended is not None and at > ended):
                continue
            if best is None or (at, order) < best[:2]:
                best = (at, order, event, target)
        if best is None and ended is not None and ended <= deadline:
            return {"sends": sends, "status": "stopped", "at": (index, via_step, via)}
        at, _, event, target = best if best is not None else (deadline, 0, "timeout", branch[2])
        if target == NEXT:
            target = index + 1 if index + 1 < len(plan.delays) else END
        if target == END:
            # Completed by the pass at `at`, unless a reply stopped it first (at that moment).
            if ended is not None and ended <= at:
                return {"sends": sends, "status": "stopped", "at": (index, index, event)}
            return {"sends": sends, "status": "completed", "at": (None, index, event)}
        index, anchor, via_step, via = target, at, index, event


# --- the world -------------------------------------------------------------------------------


def build(session, org_id: int, plan: Plan, contacts: int):
    campaign = make_campaign(
        session,
        org_id,
        steps=tuple((d, "minutes") for d in plan.delays),
        stop_on_reply=plan.stop_on_reply,
        track_links=True,
        frequency_cap_exempt=True,
    )
    steps = live_steps(session, campaign)
    for step, branch in zip(steps, plan.branches, strict=True):
        step.message_content = "Hi {{first_name|there}}, see https://example.com/offer"
        if branch is None:
            continue
        (amount, unit), rules, timeout = branch

        def stored(target):
            return target if target in (END, NEXT) else steps[target].id

        step.branch = {
            "waitAmount": amount,
            "waitUnit": unit,
            "conditions": [{"event": e, "goTo": stored(t)} for e, t in rules],
            "onTimeout": stored(timeout),
        }
    people = make_contacts(session, org_id, contacts)
    wrote_to_us(session, NOW)
    enrollment.enroll(session, campaign, contact_ids=[c.id for c in people], now=NOW)
    session.commit()
    return campaign, steps, people


def apply_event(session, org_id: int, log: DripMessageLog, phone: str, kind: str, at) -> None:
    if kind == "read":
        apply_status(session, org_id, StatusUpdate(log.wamid, "read", at, phone[1:]), now=at)
    elif kind == "replied":
        message = InboundMessageEvent(
            f"wamid.IN.{log.id}", phone[1:], at, "text", "Tell me more", context_wamid=log.wamid
        )
        apply_inbound(session, org_id, message)
    else:
        code = session.scalar(select(Link.code).where(Link.message_log_id == log.id))
        assert record_click(session, code, at, "test") is not None


def simulate(session, org_id: int, steps, people, offsets) -> None:
    """Passes at each due time, each event applied at its time (before that moment's pass)."""
    phones = {c.id: c.phone for c in people}
    index_of = {c.id: i for i, c in enumerate(people)}
    steps_by_id = {s.id: i for i, s in enumerate(steps)}
    pending: list[tuple] = []  # (at, order, log id, kind)
    seen: set[int] = set()
    now = NOW
    for _ in range(200):
        for item in sorted(e for e in pending if e[0] == now):
            _, _, log_id, kind = item
            log = session.get(DripMessageLog, log_id)
            apply_event(session, org_id, log, phones[log.contact_id], kind, now)
            session.commit()
        pending = [e for e in pending if e[0] != now]
        wrote_to_us(session, now)
        session.commit()
        run_processing_pass(now)
        session.expire_all()
        for log in session.scalars(select(DripMessageLog).where(DripMessageLog.id.not_in(seen))):
            seen.add(log.id)
            assert log.status == "sent", (log.status, log.error_message)
            mine = offsets[index_of[log.contact_id]][steps_by_id[log.step_id]]
            for order, (kind, offset) in enumerate(zip(EVENT_KINDS, mine, strict=True)):
                if offset is not None:
                    pending.append((log.sent_at + offset * MINUTE, order, log.id, kind))
        due = session.scalars(
            select(DripEnrollment.next_send_at).where(DripEnrollment.status == "active")
        ).all()
        times = [e[0] for e in pending] + [t for t in due if t is not None]
        if not times:
            return
        now = max(min(times), now)
    raise AssertionError("the journeys did not end")


def actual(session, campaign, steps, contact) -> dict:
    session.expire_all()
    index = {s.id: i for i, s in enumerate(steps)}
    index[None] = None
    row = session.scalars(
        select(DripEnrollment).where(DripEnrollment.contact_id == contact.id)
    ).one()
    logs = session.scalars(
        select(DripMessageLog)
        .where(DripMessageLog.enrollment_id == row.id)
        .order_by(DripMessageLog.sent_at, DripMessageLog.id)
    ).all()
    sends = [(index[g.step_id], g.sent_at, index[g.via_step_id], g.via) for g in logs]
    current = index[row.current_step_id] if row.status != "completed" else None
    return {"sends": sends, "status": row.status, "at": (current, index[row.via_step_id], row.via)}


# --- the property ----------------------------------------------------------------------------

NEVER = (None, None, None)
TWO_PATHS = Plan(
    (0, 0, 0), (((2, "hours"), (("replied", END), ("read", 2)), NEXT), None, None), False
)
READ_REPLY_SILENT = [
    [(30, None, None), NEVER, NEVER],
    [(None, 20, None), NEVER, NEVER],
    [NEVER, NEVER, NEVER],
]


@settings(
    max_examples=int(os.environ.get("BRANCH_EXAMPLES", "25")),  # more: BRANCH_EXAMPLES=200
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(case=cases())
@example(case=(TWO_PATHS, READ_REPLY_SILENT)).via("the journey test's: read, reply, silence")
def test_journeys_follow_the_oracle(clean_app, org_a, case):
    plan, offsets = case
    note(f"plan={plan!r}")
    with clean_app.app_context():
        from app.extensions import db

        session = db.session
        try:
            org = session.get(Organization, org_a.org_id)
            campaign, steps, people = build(session, org.id, plan, len(offsets))
            simulate(session, org.id, steps, people, offsets)
            for contact, mine in zip(people, offsets, strict=True):
                expected = journey(plan, mine)
                got = actual(session, campaign, steps, contact)
                assert got == expected, (contact.id, mine)
                sent = [s for s, *_ in got["sends"]]
                assert len(sent) == len(set(sent))  # each step at most once
                assert got["status"] in ("completed", "stopped")
        finally:
            session.rollback()
            _empty(session, org_a.org_id)


def _empty(session, org_id: int) -> None:
    """Each example starts with no campaigns, contacts or messages of the organization."""
    from sqlalchemy import delete

    from app.models import (
        Contact,
        DripCampaign,
        DripCampaignStep,
        InboundMessage,
        LinkClick,
        WhatsAppStatusEvent,
    )

    for model in (
        LinkClick,
        Link,
        WhatsAppStatusEvent,
        InboundMessage,
        DripMessageLog,
        DripEnrollment,
        DripCampaignStep,
        DripCampaign,
        Contact,
    ):
        session.execute(delete(model).where(model.organization_id == org_id))
    session.commit()
