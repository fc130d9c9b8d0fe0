"""Engagement on SQLite and PostgreSQL: statuses (forward-only, once, settling an ambiguous
send, failures and what they mean), contacts' messages (opt-out keywords, replies, stop on
reply, keyword triggers, the 24-hour window)."""

from __future__ import annotations

import random
import threading
import time
from datetime import timedelta
from itertools import count

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import func, select, text
from sqlalchemy.orm import Session

from app.drip.engagement.apply import (
    apply_inbound,
    apply_marketing_opt_out,
    apply_status,
    apply_statuses,
    parse_callback_data,
)
from app.extensions import db
from app.models import (
    Contact,
    DripCampaign,
    DripEnrollment,
    DripMessageLog,
    InboundMessage,
    Organization,
    WhatsAppStatusEvent,
)
from app.whatsapp.errors import reason_for
from app.whatsapp.events import InboundMessageEvent, StatusUpdate
from tests.integration.enrollment_world import (
    NOW,
    enrollments_of,
    live_steps,
    make_campaign,
    make_contacts,
)

_numbers = count(1)
LOG_FIELDS = (
    "status",
    "wamid",
    "sent_at",
    "delivered_at",
    "read_at",
    "failed_at",
    "replied_at",
    "error_code",
    "error_message",
)


# --- builders: enrollments and logs as the processor leaves them ---------------------------


def next_wamid(prefix: str = "wamid.TEST.") -> str:
    return f"{prefix}{next(_numbers):08d}"


def enrollment_row(session, campaign, contact, status="active", step=None, **fields):
    step = step or live_steps(session, campaign)[0]
    values = {
        "current_step_id": step.id if status in ("active", "paused") else None,
        "next_send_at": NOW + timedelta(days=1) if status == "active" else None,
        "enrolled_at": NOW - timedelta(days=1),
    }
    values.update(fields)
    row = DripEnrollment(
        organization_id=campaign.organization_id,
        campaign_id=campaign.id,
        contact_id=contact.id,
        status=status,
        **values,
    )
    session.add(row)
    session.flush()
    return row


def log_row(session, enrollment, step, *, wamid=None, status="sent", sent_at=NOW, **fields):
    """A message log; by default sent, with a fresh wamid, as the processor records a send."""
    pending = status == "pending"
    row = DripMessageLog(
        organization_id=enrollment.organization_id,
        enrollment_id=enrollment.id,
        campaign_id=enrollment.campaign_id,
        step_id=step.id,
        contact_id=enrollment.contact_id,
        status=status,
        wamid=wamid if wamid is not None or pending else next_wamid(),
        attempts=1,
        sent_at=None if pending else sent_at,
        created_at=NOW - timedelta(seconds=1),
        **fields,
    )
    session.add(row)
    session.flush()
    return row


def one_sent(session, org_id, **campaign_fields):
    """A campaign, a contact enrolled at step 2 and the log of step 1 sent at NOW."""
    campaign = make_campaign(session, org_id, **campaign_fields)
    (contact,) = make_contacts(session, org_id, 1)
    first, second = live_steps(session, campaign)
    enrollment = enrollment_row(session, campaign, contact, step=second)
    return campaign, contact, enrollment, log_row(session, enrollment, first)


def status(log_or_wamid, name, seconds=0, **fields) -> StatusUpdate:
    wamid = getattr(log_or_wamid, "wamid", log_or_wamid)
    return StatusUpdate(wamid, name, NOW + timedelta(seconds=seconds), **fields)


def failed(log, code, seconds=5, title="Meta's words") -> StatusUpdate:
    return status(log, "failed", seconds, errors=[{"code": code, "title": title}])


def inbound(contact, seconds=60, text=None, **fields) -> InboundMessageEvent:
    phone = contact if isinstance(contact, str) else contact.phone
    return InboundMessageEvent(
        message_id=fields.pop("message_id", next_wamid("wamid.IN.")),
        from_phone=phone.lstrip("+"),
        timestamp=NOW + timedelta(seconds=seconds),
        message_type=fields.pop("message_type", "text"),
        text=text,
        **fields,
    )


def fresh(session, row):
    session.expire_all()
    return session.get(type(row), row.id)


def state(session, log) -> dict:
    log = fresh(session, log)
    return {name: getattr(log, name) for name in LOG_FIELDS}


def at(seconds) -> object:
    return NOW + timedelta(seconds=seconds)


# --- statuses: forward-only with the payload's times -----------------------------------------


def test_statuses_in_order(session, org_a):
    *_, log = one_sent(session, org_a.org_id)
    assert apply_status(session, org_a.org_id, status(log, "sent", 1)) == "applied"
    assert apply_status(session, org_a.org_id, status(log, "delivered", 10)) == "applied"
    assert apply_status(session, org_a.org_id, status(log, "read", 100)) == "applied"
    session.commit()
    log = fresh(session, log)
    assert log.status == "read"
    assert (log.sent_at, log.delivered_at, log.read_at) == (NOW, at(10), at(100))
    events = session.scalars(select(WhatsAppStatusEvent.status).order_by(WhatsAppStatusEvent.id))
    assert list(events) == ["sent", "delivered", "read"]


def test_read_without_delivered_implies_delivered_and_a_late_delivered_changes_little(
    session, org_a
):
    *_, log = one_sent(session, org_a.org_id)
    apply_status(session, org_a.org_id, status(log, "read", 100))
    log = fresh(session, log)
    assert (log.status, log.delivered_at, log.read_at) == ("read", at(100), at(100))

    assert apply_status(session, org_a.org_id, status(log, "delivered", 10)) == "applied"
    session.commit()
    log = fresh(session, log)
    # Still read; the real delivery time replaces the one the read implied.
    assert (log.status, log.delivered_at, log.read_at) == ("read", at(10), at(100))


def test_late_sent_keeps_status_and_sent_at(session, org_a):
    *_, log = one_sent(session, org_a.org_id)
    apply_status(session, org_a.org_id, status(log, "delivered", 10))
    apply_status(session, org_a.org_id, status(log, "sent", 3))
    log = fresh(session, log)
    assert (log.status, log.sent_at, log.delivered_at) == ("delivered", NOW, at(10))


def test_failed_after_delivered_records_the_error_but_stays_delivered(session, org_a):
    _, _contact, enrollment, log = one_sent(session, org_a.org_id)
    apply_status(session, org_a.org_id, status(log, "delivered", 10))
    assert apply_status(session, org_a.org_id, failed(log, 131049, 20)) == "applied"
    session.commit()
    log = fresh(session, log)
    assert log.status == "delivered"
    assert (log.failed_at, log.error_code) == (at(20), "131049")
    assert log.error_message == reason_for(131049)
    assert fresh(session, enrollment).status == "active"


def test_failed_on_a_sent_log_fails_it(session, org_a):
    *_, log = one_sent(session, org_a.org_id)
    apply_status(session, org_a.org_id, failed(log, 131051, 7))
    log = fresh(session, log)
    assert (log.status, log.failed_at, log.error_code) == ("failed", at(7), "131051")
    assert log.error_message == reason_for(131051)
    # Once failed, a read or delivered report (the message did arrive) moves it on.
    apply_status(session, org_a.org_id, status(log, "delivered", 3))
    assert fresh(session, log).status == "delivered"


def test_failed_without_errors_still_fails(session, org_a):
    *_, log = one_sent(session, org_a.org_id)
    apply_status(session, org_a.org_id, status(log, "failed", 7))
    log = fresh(session, log)
    assert (log.status, log.error_code) == ("failed", None)
    assert log.error_message


def test_a_repeat_changes_nothing_and_leaves_the_transaction_usable(session, org_a):
    *_, log = one_sent(session, org_a.org_id)
    apply_status(session, org_a.org_id, status(log, "read", 100))
    before = state(session, log)
    assert apply_status(session, org_a.org_id, status(log, "read", 500)) == "duplicate"
    # The duplicate did not abort the transaction: more work and the commit go through.
    assert apply_status(session, org_a.org_id, status(log, "delivered", 50)) == "applied"
    assert apply_status(session, org_a.org_id, status(log, "delivered", 5)) == "duplicate"
    session.commit()
    after = state(session, log)
    assert after["read_at"] == before["read_at"] == at(100)
    assert after["delivered_at"] == at(50)
    assert session.scalar(select(func.count()).select_from(WhatsAppStatusEvent)) == 2


def test_unknown_wamid_is_ignored(session, org_a):
    *_, log = one_sent(session, org_a.org_id)
    before = state(session, log)
    assert apply_status(session, org_a.org_id, status("wamid.NOT.OURS", "read", 5)) == "unknown"
    assert apply_status(session, org_a.org_id, status("wamid.NOT.OURS", "sent", 5)) == "unknown"
    assert apply_status(session, org_a.org_id, status(log, "deleted", 5)) == "ignored"
    session.commit()
    assert state(session, log) == before
    assert session.scalar(select(func.count()).select_from(WhatsAppStatusEvent)) == 0


def test_another_organizations_wamid_is_unknown(session, org_a, org_b):
    *_, log = one_sent(session, org_a.org_id)
    before = state(session, log)
    assert apply_status(session, org_b.org_id, status(log, "read", 5)) == "unknown"
    assert state(session, log) == before


def test_parse_callback_data():
    assert parse_callback_data("log=981") == 981
    assert parse_callback_data(" log=7 ") == 7
    for value in (None, "", "log=", "log=abc", "id=5", "log=5;x", 42):
        assert parse_callback_data(value) is None


# --- settling an ambiguous send by its callback data -----------------------------------------


def parked(session, org_id):
    """A send that timed out: pending log without a wamid, the enrollment parked on its step."""
    campaign = make_campaign(session, org_id)
    (contact,) = make_contacts(session, org_id, 1)
    first = live_steps(session, campaign)[0]
    enrollment = enrollment_row(session, campaign, contact, next_send_at=NOW + timedelta(hours=24))
    log = log_row(
        session, enrollment, first, status="pending", error_code="ambiguous", error_message="?"
    )
    return enrollment, log


def test_status_with_callback_data_settles_an_ambiguous_send(session, org_a):
    enrollment, log = parked(session, org_a.org_id)
    now = NOW + timedelta(minutes=3)
    update = status("wamid.LATE", "delivered", 30, callback_data=f"log={log.id}")
    assert apply_status(session, org_a.org_id, update, now=now) == "settled"
    session.commit()
    log = fresh(session, log)
    assert (log.wamid, log.status, log.sent_at, log.delivered_at) == (
        "wamid.LATE",
        "delivered",
        at(30),
        at(30),
    )
    assert (log.error_code, log.error_message) == (None, None)
    assert fresh(session, enrollment).next_send_at == now
    # From then on the wamid finds it.
    assert apply_status(session, org_a.org_id, status("wamid.LATE", "read", 90)) == "applied"
    assert fresh(session, log).status == "read"


def test_settling_leaves_an_enrollment_that_moved_on_alone(session, org_a):
    enrollment, log = parked(session, org_a.org_id)
    second = live_steps(session, enrollment_campaign(session, enrollment))[1]
    enrollment.current_step_id = second.id
    session.flush()
    update = status("wamid.LATE2", "sent", 1, callback_data=f"log={log.id}")
    assert apply_status(session, org_a.org_id, update) == "settled"
    assert fresh(session, enrollment).next_send_at == NOW + timedelta(hours=24)
    assert fresh(session, log).status == "sent"


def enrollment_campaign(session, enrollment):
    return session.get(DripCampaign, enrollment.campaign_id)


def test_callback_data_only_settles_a_pending_log_of_the_organization(session, org_a, org_b):
    _, log = parked(session, org_a.org_id)
    *_, sent = one_sent(session, org_a.org_id)
    for org_id, data in (
        (org_b.org_id, f"log={log.id}"),  # someone else's log
        (org_a.org_id, f"log={sent.id}"),  # has a wamid already
        (org_a.org_id, "log=999999"),
        (org_a.org_id, None),
    ):
        update = status("wamid.STRAY", "delivered", 5, callback_data=data)
        assert apply_status(session, org_id, update) == "unknown"
    assert fresh(session, log).wamid is None
    assert fresh(session, sent).status == "sent"


def test_failed_status_settles_and_fails_an_ambiguous_send(session, org_a):
    enrollment, log = parked(session, org_a.org_id)
    update = failed(log, 131026, 5)
    update = StatusUpdate(
        "wamid.LOST", "failed", update.timestamp, None, f"log={log.id}", update.errors
    )
    assert apply_status(session, org_a.org_id, update) == "settled"
    log = fresh(session, log)
    assert (log.wamid, log.status, log.error_code) == ("wamid.LOST", "failed", "131026")
    assert fresh(session, enrollment).status == "failed"


def test_two_statuses_settling_one_send_at_once_both_apply(session, org_a, backend):
    """The second waits for the first's lock on the log, then finds it by its new wamid."""
    if backend != "postgresql":
        pytest.skip("row locks and concurrent transactions are a PostgreSQL matter")
    _, log = parked(session, org_a.org_id)
    session.commit()
    data = f"log={log.id}"
    results = {}
    with Session(db.engine) as first, Session(db.engine) as second:
        sent = status("wamid.RACE", "sent", 1, callback_data=data)
        assert apply_status(first, org_a.org_id, sent) == "settled"

        def other():
            delivered = status("wamid.RACE", "delivered", 5, callback_data=data)
            results["second"] = apply_status(second, org_a.org_id, delivered)
            second.commit()

        thread = threading.Thread(target=other)
        thread.start()
        _wait_for_a_lock_wait(session, thread)
        first.commit()
        thread.join()
    assert results["second"] == "applied"
    log = fresh(session, log)
    assert (log.wamid, log.status, log.delivered_at) == ("wamid.RACE", "delivered", at(5))


def _wait_for_a_lock_wait(session, thread) -> None:
    query = text("SELECT count(*) FROM pg_stat_activity WHERE wait_event_type = 'Lock'")
    for _ in range(200):
        if not thread.is_alive() or session.execute(query).scalar():
            break
        time.sleep(0.02)
    session.rollback()


# --- failures that say something about the contact ---------------------------------------------


def test_131050_opts_the_contact_out_of_every_campaign(session, org_a):
    campaign, contact, enrollment, log = one_sent(session, org_a.org_id)
    other = make_campaign(session, org_a.org_id, name="Other")
    paused = enrollment_row(session, other, contact, status="paused")
    done_campaign = make_campaign(session, org_a.org_id, name="Done")
    done = enrollment_row(session, done_campaign, contact, status="completed")
    (bystander,) = make_contacts(session, org_a.org_id, 1)
    untouched = enrollment_row(session, campaign, bystander)

    assert apply_status(session, org_a.org_id, failed(log, 131050, 9)) == "applied"
    session.commit()
    contact = fresh(session, contact)
    assert (contact.opted_out_at, contact.opt_out_reason) == (at(9), "meta_131050")
    for original in (enrollment, paused):
        row = fresh(session, original)
        assert (row.status, row.stop_reason, row.stopped_at) == ("unsubscribed", "opted_out", at(9))
        assert row.next_send_at is None
    assert fresh(session, done).status == "completed"
    assert fresh(session, untouched).status == "active"
    assert fresh(session, bystander).opted_out_at is None
    assert fresh(session, log).error_message == reason_for(131050)


def test_131026_marks_the_contact_undeliverable_and_fails_the_enrollment(session, org_a):
    _, contact, enrollment, log = one_sent(session, org_a.org_id)
    other = make_campaign(session, org_a.org_id, name="Other")
    elsewhere = enrollment_row(session, other, contact)
    apply_status(session, org_a.org_id, failed(log, 131026, 4))
    session.commit()
    assert fresh(session, contact).undeliverable_at == at(4)
    enrollment = fresh(session, enrollment)
    assert (enrollment.status, enrollment.stop_reason) == ("failed", "undeliverable")
    assert enrollment.next_send_at is None
    assert fresh(session, elsewhere).status == "active"
    assert fresh(session, log).status == "failed"


def test_131047_fails_message_and_enrollment_with_an_actionable_reason(session, org_a):
    _, contact, enrollment, log = one_sent(session, org_a.org_id)
    apply_status(session, org_a.org_id, failed(log, 131047, 4))
    log, enrollment = fresh(session, log), fresh(session, enrollment)
    assert (log.status, log.error_code) == ("failed", "131047")
    assert log.error_message == reason_for(131047)
    assert "template" in log.error_message
    assert enrollment.status == "failed"
    assert enrollment.stop_reason == "outside_24h_window: use a template"
    assert fresh(session, contact).opted_out_at is None


def test_131049_fails_the_message_only(session, org_a):
    _, contact, enrollment, log = one_sent(session, org_a.org_id)
    apply_status(session, org_a.org_id, failed(log, 131049, 4))
    log = fresh(session, log)
    assert (log.status, log.error_message) == ("failed", reason_for(131049))
    assert fresh(session, enrollment).status == "active"
    contact = fresh(session, contact)
    assert (contact.opted_out_at, contact.undeliverable_at) == (None, None)


# --- order does not matter ------------------------------------------------------------------


EVENTS = st.dictionaries(
    st.sampled_from(["sent", "delivered", "read", "failed"]),
    st.integers(0, 86_400),
    min_size=1,
)


@settings(
    max_examples=40,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(
    events=EVENTS,
    code=st.sampled_from([131049, 131026, 131050, 131047, 131051]),
    repeats=st.lists(st.integers(0, 10), max_size=6),
    seed=st.integers(0, 2**32),
)
def test_any_order_with_repeats_ends_as_once_in_time_order(
    session, org_a, events, code, repeats, seed
):
    *_, shuffled_log = one_sent(session, org_a.org_id)
    *_, ordered_log = one_sent(session, org_a.org_id)

    def updates(log):
        return [
            failed(log, code, seconds) if name == "failed" else status(log, name, seconds)
            for name, seconds in events.items()
        ]

    in_time_order = sorted(updates(ordered_log), key=lambda u: u.timestamp)
    for update in in_time_order:
        apply_status(session, org_a.org_id, update)
    messy = updates(shuffled_log)
    messy += [messy[i % len(messy)] for i in repeats]
    random.Random(seed).shuffle(messy)
    for update in messy:
        apply_status(session, org_a.org_id, update)

    expected, got = state(session, ordered_log), state(session, shuffled_log)
    expected.pop("wamid"), got.pop("wamid")
    assert got == expected


@settings(
    max_examples=25,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(
    events=EVENTS,
    code=st.sampled_from([131049, 131026, 131050, 131047]),
    repeats=st.lists(st.integers(0, 10), max_size=6),
    seed=st.integers(0, 2**32),
)
def test_a_batch_applies_as_its_statuses_one_by_one(session, org_a, events, code, repeats, seed):
    """The webhook's batched path (apply_statuses) ends where apply_status, one event at a
    time, ends: same log state, the repeats reported as duplicates."""
    *_, single_log = one_sent(session, org_a.org_id)
    *_, batch_log = one_sent(session, org_a.org_id)

    def updates(log):
        made = [
            failed(log, code, seconds) if name == "failed" else status(log, name, seconds)
            for name, seconds in events.items()
        ]
        made += [made[i % len(made)] for i in repeats]
        random.Random(seed).shuffle(made)
        return made

    singles = [apply_status(session, org_a.org_id, u) for u in updates(single_log)]
    batched = apply_statuses(session, org_a.org_id, updates(batch_log))
    assert batched == singles
    expected, got = state(session, single_log), state(session, batch_log)
    expected.pop("wamid"), got.pop("wamid")
    assert got == expected


# --- contacts' messages: opt-out keywords ----------------------------------------------------


def two_campaigns(session, org_id):
    """A contact with a sent message in two live enrollments (one paused)."""
    _campaign, contact, enrollment, log = one_sent(session, org_id)
    other = make_campaign(session, org_id, name="Other")
    first, second = live_steps(session, other)
    paused = enrollment_row(session, other, contact, status="paused", step=second)
    other_log = log_row(session, paused, first)
    return contact, [(enrollment, log), (paused, other_log)]


def assert_opted_out(session, contact, pairs, reason="keyword", seconds=60):
    contact = fresh(session, contact)
    assert (contact.opted_out_at, contact.opt_out_reason) == (at(seconds), reason)
    assert contact.last_inbound_at == at(seconds)
    for original, log in pairs:
        enrollment = fresh(session, original)
        assert (enrollment.status, enrollment.stop_reason) == ("unsubscribed", "opted_out")
        # An opt-out is not a reply.
        assert fresh(session, log).replied_at is None


def test_stop_opts_out_everywhere_and_is_not_a_reply(session, org_a):
    contact, pairs = two_campaigns(session, org_a.org_id)
    assert apply_inbound(session, org_a.org_id, inbound(contact, text="  stop ")) == "opted_out"
    session.commit()
    assert_opted_out(session, contact, pairs)


def test_stop_as_a_button_title(session, org_a):
    contact, pairs = two_campaigns(session, org_a.org_id)
    event = inbound(contact, message_type="button", button_payload="btn_7", button_title="Stop")
    assert apply_inbound(session, org_a.org_id, event) == "opted_out"
    assert_opted_out(session, contact, pairs)


def test_unsubscribe_as_an_interactive_payload(session, org_a):
    contact, pairs = two_campaigns(session, org_a.org_id)
    event = inbound(contact, message_type="interactive", button_payload=" UNSUBSCRIBE")
    assert apply_inbound(session, org_a.org_id, event) == "opted_out"
    assert_opted_out(session, contact, pairs)


def test_organization_keywords(session, org_a, org_b):
    session.get(Organization, org_a.org_id).opt_out_keywords = ["optout", " Basta "]
    session.flush()
    contact_a, pairs_a = two_campaigns(session, org_a.org_id)
    contact_b, pairs_b = two_campaigns(session, org_b.org_id)
    event = inbound(contact_a, message_type="button", button_payload="optout", button_title="No")
    assert apply_inbound(session, org_a.org_id, event) == "opted_out"
    assert_opted_out(session, contact_a, pairs_a)
    # Another organization's keyword is a reply here.
    assert apply_inbound(session, org_b.org_id, inbound(contact_b, text="OPTOUT")) == "reply"
    assert fresh(session, contact_b).opted_out_at is None
    assert fresh(session, pairs_b[0][1]).replied_at == at(60)
    (other,) = make_contacts(session, org_a.org_id, 1)
    assert apply_inbound(session, org_a.org_id, inbound(other, text="basta")) == "opted_out"


def test_words_that_merely_contain_a_keyword_are_replies(session, org_a):
    contact, _pairs = two_campaigns(session, org_a.org_id)
    assert apply_inbound(session, org_a.org_id, inbound(contact, text="please don't stop")) == (
        "reply"
    )
    assert fresh(session, contact).opted_out_at is None


def test_marketing_stop_in_whatsapp_settings_opts_out_everywhere(session, org_a):
    contact, pairs = two_campaigns(session, org_a.org_id)
    digits = contact.phone.lstrip("+")
    assert apply_marketing_opt_out(session, org_a.org_id, digits, at(60)) == "opted_out"
    assert apply_marketing_opt_out(session, org_a.org_id, digits, at(90)) == "opted_out"
    contact = fresh(session, contact)
    assert (contact.opted_out_at, contact.opt_out_reason) == (at(60), "meta_user_preferences")
    for original, _ in pairs:
        assert fresh(session, original).status == "unsubscribed"
    assert apply_marketing_opt_out(session, org_a.org_id, "442079460996", at(5)) == (
        "unknown_sender"
    )


# --- contacts' messages: replies ---------------------------------------------------------------


def test_reply_marks_the_latest_sent_message_once_and_stops_stop_on_reply_campaigns(session, org_a):
    stopping, contact, enrollment, first_log = one_sent(session, org_a.org_id)
    _, second = live_steps(session, stopping)
    latest = log_row(session, enrollment, second, sent_at=at(30), status="read")
    keeps_going = make_campaign(session, org_a.org_id, name="Newsletter", stop_on_reply=False)
    k_first, k_second = live_steps(session, keeps_going)
    continuing = enrollment_row(session, keeps_going, contact, step=k_second)
    k_log = log_row(session, continuing, k_first, sent_at=at(-300))

    assert apply_inbound(session, org_a.org_id, inbound(contact, 60, "Sounds good")) == "reply"
    session.commit()
    assert fresh(session, latest).replied_at == at(60)
    assert fresh(session, first_log).replied_at is None
    assert fresh(session, k_log).replied_at == at(60)
    stopped = fresh(session, enrollment)
    assert (stopped.status, stopped.stop_reason, stopped.stopped_at) == (
        "stopped",
        "replied",
        at(60),
    )
    assert stopped.next_send_at is None
    assert fresh(session, continuing).status == "active"

    # A second reply does not overwrite the first one's time.
    apply_inbound(session, org_a.org_id, inbound(contact, 600, "Hello again"))
    assert fresh(session, k_log).replied_at == at(60)


def test_reply_ignores_messages_sent_after_it(session, org_a):
    campaign, contact, enrollment, first_log = one_sent(session, org_a.org_id)
    _, second = live_steps(session, campaign)
    later = log_row(session, enrollment, second, sent_at=at(120))
    apply_inbound(session, org_a.org_id, inbound(contact, 60, "hi"))
    assert fresh(session, first_log).replied_at == at(60)
    assert fresh(session, later).replied_at is None


def test_reply_quoting_a_message_of_a_finished_enrollment_marks_it(session, org_a):
    campaign = make_campaign(session, org_a.org_id)
    (contact,) = make_contacts(session, org_a.org_id, 1)
    first, _ = live_steps(session, campaign)
    done = enrollment_row(session, campaign, contact, status="completed")
    log = log_row(session, done, first, status="read")
    event = inbound(contact, 60, "thanks", context_wamid=log.wamid)
    assert apply_inbound(session, org_a.org_id, event) == "reply"
    assert fresh(session, log).replied_at == at(60)
    assert fresh(session, done).status == "completed"


# --- the earliest event wins, whatever order they arrive in ---------------------------------


def ended(session, enrollment) -> tuple:
    row = fresh(session, enrollment)
    return row.status, row.stop_reason, row.stopped_at


def test_an_earlier_failure_arriving_after_a_reply_moves_its_mark(session, org_a):
    campaign, contact, enrollment, first_log = one_sent(session, org_a.org_id)
    _, second = live_steps(session, campaign)
    latest = log_row(session, enrollment, second, sent_at=at(30))
    apply_inbound(session, org_a.org_id, inbound(contact, 60, "hi"))
    assert fresh(session, latest).replied_at == at(60)
    # It had failed (at 40) when the reply came (at 60): the reply was to the first message.
    apply_status(session, org_a.org_id, failed(latest, 131049, 40))
    session.commit()
    assert fresh(session, latest).replied_at is None
    assert fresh(session, first_log).replied_at == at(60)
    assert ended(session, enrollment) == ("stopped", "replied", at(60))
    # A failure after the reply leaves the mark alone.
    apply_status(session, org_a.org_id, failed(first_log, 131049, 90))
    assert fresh(session, first_log).replied_at == at(60)


def test_an_earlier_reply_arriving_later_stops_at_its_time_and_takes_the_mark(session, org_a):
    campaign, contact, enrollment, first_log = one_sent(session, org_a.org_id)
    _, second = live_steps(session, campaign)
    latest = log_row(session, enrollment, second, sent_at=at(100))
    apply_inbound(session, org_a.org_id, inbound(contact, 200, "anyone?"))
    assert fresh(session, latest).replied_at == at(200)
    apply_inbound(session, org_a.org_id, inbound(contact, 60, "hello?"))
    session.commit()
    # In time order the reply at 60 stopped the enrollment: the one at 200 found it stopped.
    assert ended(session, enrollment) == ("stopped", "replied", at(60))
    assert fresh(session, first_log).replied_at == at(60)
    assert fresh(session, latest).replied_at is None


def test_an_earlier_opt_out_arriving_later_ends_again_and_unmarks_later_replies(session, org_a):
    _, contact, enrollment, log = one_sent(session, org_a.org_id, stop_on_reply=False)
    apply_status(session, org_a.org_id, failed(log, 131026, 90))  # ... ended at 90
    apply_inbound(session, org_a.org_id, inbound(contact, 60, "hi"))
    assert fresh(session, log).replied_at == at(60)
    apply_marketing_opt_out(session, org_a.org_id, contact.phone.lstrip("+"), at(30))
    session.commit()
    assert ended(session, enrollment) == ("unsubscribed", "opted_out", at(30))
    assert fresh(session, log).replied_at is None  # it had opted out when the reply came
    assert fresh(session, contact).undeliverable_at == at(90)
    # A later opt-out changes neither the time nor the reason; an earlier one takes both.
    apply_inbound(session, org_a.org_id, inbound(contact, 120, "STOP"))
    contact_row = fresh(session, contact)
    assert (contact_row.opted_out_at, contact_row.opt_out_reason) == (
        at(30),
        "meta_user_preferences",
    )
    apply_inbound(session, org_a.org_id, inbound(contact, 10, "STOP"))
    contact_row = fresh(session, contact)
    assert (contact_row.opted_out_at, contact_row.opt_out_reason) == (at(10), "keyword")
    assert ended(session, enrollment) == ("unsubscribed", "opted_out", at(10))


def test_a_later_event_never_replaces_an_earlier_ending(session, org_a):
    _, contact, enrollment, log = one_sent(session, org_a.org_id)
    apply_status(session, org_a.org_id, failed(log, 131026, 50))
    apply_inbound(session, org_a.org_id, inbound(contact, 60, "STOP"))
    apply_status(session, org_a.org_id, failed(log, 131026, 40))  # a repeat: nothing changes
    session.commit()
    assert ended(session, enrollment) == ("failed", "undeliverable", at(50))
    assert fresh(session, contact).undeliverable_at == at(50)


def test_endings_by_the_marketer_or_by_drip_are_never_replaced(session, org_a):
    campaign = make_campaign(session, org_a.org_id)
    (contact,) = make_contacts(session, org_a.org_id, 1)
    first, _ = live_steps(session, campaign)
    manual = enrollment_row(
        session, campaign, contact, status="stopped", stop_reason="manual", stopped_at=at(100)
    )
    log = log_row(session, manual, first)
    other = make_campaign(session, org_a.org_id, name="Other")
    done = enrollment_row(session, other, contact, status="completed", completed_at=at(100))
    done_log = log_row(session, done, live_steps(session, other)[0])
    apply_inbound(session, org_a.org_id, inbound(contact, 20, "hi"))
    apply_status(session, org_a.org_id, failed(log, 131026, 30))
    apply_marketing_opt_out(session, org_a.org_id, contact.phone.lstrip("+"), at(40))
    session.commit()
    assert ended(session, manual) == ("stopped", "manual", at(100))
    assert fresh(session, done).status == "completed"
    assert fresh(session, done_log).replied_at is None  # not quoted, and not live
    assert fresh(session, contact).undeliverable_at == at(30)


def test_repeated_message_is_applied_once(session, org_a):
    contact, _pairs = two_campaigns(session, org_a.org_id)
    event = inbound(contact, 60, "hello")
    assert apply_inbound(session, org_a.org_id, event) == "reply"
    assert apply_inbound(session, org_a.org_id, event) == "duplicate"
    session.commit()
    assert session.scalar(select(func.count()).select_from(InboundMessage)) == 1
    row = session.scalars(select(InboundMessage)).one()
    assert (row.contact_id, row.text, row.occurred_at) == (contact.id, "hello", at(60))


def test_last_inbound_at_only_moves_forward(session, org_a):
    (contact,) = make_contacts(session, org_a.org_id, 1)
    apply_inbound(session, org_a.org_id, inbound(contact, 600, "later"))
    assert fresh(session, contact).last_inbound_at == at(600)
    apply_inbound(session, org_a.org_id, inbound(contact, 60, "earlier, delivered late"))
    assert fresh(session, contact).last_inbound_at == at(600)
    apply_inbound(session, org_a.org_id, inbound(contact, 900, "STOP"))
    assert fresh(session, contact).last_inbound_at == at(900)


# --- contacts' messages: keyword triggers ----------------------------------------------------


def test_keyword_creates_and_enrolls_an_unknown_sender(session, org_a):
    campaign = make_campaign(
        session, org_a.org_id, name="Join", trigger_type="keyword", trigger_value="JOIN"
    )
    make_campaign(
        session,
        org_a.org_id,
        name="Draft",
        status="draft",
        trigger_type="keyword",
        trigger_value="join",
    )
    event = inbound("+442079460999", 60, "  join ", profile_name="Ana Maria Souza")
    assert apply_inbound(session, org_a.org_id, event) == "enrolled"
    session.commit()
    contact = session.scalars(select(Contact).where(Contact.phone == "+442079460999")).one()
    assert (contact.organization_id, contact.first_name, contact.last_name) == (
        org_a.org_id,
        "Ana",
        "Maria Souza",
    )
    assert contact.last_inbound_at == at(60)
    (row,) = enrollments_of(session, campaign)
    assert (row.contact_id, row.status) == (contact.id, "active")
    assert session.scalars(select(InboundMessage.contact_id)).one() == contact.id


def test_unknown_sender_without_keyword_is_recorded_only(session, org_a):
    make_campaign(session, org_a.org_id, trigger_type="keyword", trigger_value="JOIN")
    assert apply_inbound(session, org_a.org_id, inbound("+442079460998", 60, "hello")) == (
        "unknown_sender"
    )
    assert apply_inbound(session, org_a.org_id, inbound("+442079460998", 70, "JOIN now")) == (
        "unknown_sender"
    )
    assert apply_inbound(session, org_a.org_id, inbound("+442079460998", 80, "STOP")) == (
        "unknown_sender"
    )
    session.commit()
    assert session.scalar(select(func.count()).select_from(Contact)) == 0
    rows = session.scalars(select(InboundMessage)).all()
    assert len(rows) == 3
    assert {r.contact_id for r in rows} == {None}


def test_keyword_enrolls_a_known_contact_without_counting_as_a_reply_to_that_campaign(
    session, org_a
):
    joined = make_campaign(
        session, org_a.org_id, name="Join", trigger_type="keyword", trigger_value="join"
    )
    _other, contact, enrollment, log = one_sent(session, org_a.org_id, name="Welcome")
    assert apply_inbound(session, org_a.org_id, inbound(contact, 60, "JOIN")) == "reply"
    (row,) = enrollments_of(session, joined)
    assert (row.contact_id, row.status) == (contact.id, "active")
    # It is a reply to what the other campaign sent.
    assert fresh(session, enrollment).status == "stopped"
    assert fresh(session, log).replied_at == at(60)
    # Texting the keyword again while enrolled neither stops nor restarts it.
    assert apply_inbound(session, org_a.org_id, inbound(contact, 120, "join")) == "reply"
    (again,) = enrollments_of(session, joined)
    assert (again.id, again.status) == (row.id, "active")


def test_keyword_of_another_organization_does_nothing(session, org_a, org_b):
    make_campaign(session, org_b.org_id, trigger_type="keyword", trigger_value="JOIN")
    assert apply_inbound(session, org_a.org_id, inbound("+442079460997", 60, "JOIN")) == (
        "unknown_sender"
    )
    assert session.scalar(select(func.count()).select_from(Contact)) == 0
