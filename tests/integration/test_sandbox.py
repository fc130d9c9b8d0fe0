"""The sandbox's simulated engagement applied to the database (SQLite and PostgreSQL): only due
events, only sandbox messages of organizations without a WhatsApp account, once."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import func, select

from app.drip.engagement.sandbox import SandboxRates, apply_due_sandbox_events, simulated_events
from app.models import (
    Contact,
    DripEnrollment,
    DripMessageLog,
    InboundMessage,
    WhatsAppAccount,
    WhatsAppStatusEvent,
)
from app.whatsapp.sandbox import SandboxProvider
from tests.integration.enrollment_world import NOW, live_steps, make_campaign, make_contacts
from tests.integration.test_engagement import enrollment_row, fresh, log_row, state

EVERYTHING = SandboxRates(delivered=1.0, read=1.0, reply=1.0, failed=0.0)
ALL_FAIL = SandboxRates(delivered=0.0, failed=1.0)
PROVIDER = SandboxProvider()


def sandbox_logs(session, org_id, count=1, *, sent_at=NOW, **campaign_fields):
    """Sent logs (step 1) of `count` contacts, with wamids the sandbox provider gave."""
    campaign = make_campaign(session, org_id, **campaign_fields)
    first, second = live_steps(session, campaign)
    logs = []
    for contact in make_contacts(session, org_id, count):
        enrollment = enrollment_row(session, campaign, contact, step=second)
        wamid = PROVIDER.send_text(contact.phone, "Hi", "log=0").wamid
        logs.append(log_row(session, enrollment, first, wamid=wamid, sent_at=sent_at))
    return logs


def times(log, rates):
    """When each simulated event of the log happens, by kind."""
    return {
        getattr(event, "status", "reply"): at
        for at, event in simulated_events(log.wamid, log.sent_at, rates)
    }


def count(session, model) -> int:
    return session.scalar(select(func.count()).select_from(model))


def test_events_are_applied_when_due_and_once(session, org_a):
    (log,) = sandbox_logs(session, org_a.org_id)
    enrollment_id, contact_id = log.enrollment_id, log.contact_id
    due = times(log, EVERYTHING)

    assert (
        apply_due_sandbox_events(session, due["delivered"] - timedelta(seconds=1), EVERYTHING) == 0
    )
    assert fresh(session, log).status == "sent"

    assert apply_due_sandbox_events(session, due["delivered"], EVERYTHING) == 1
    session.commit()
    assert (fresh(session, log).status, fresh(session, log).delivered_at) == (
        "delivered",
        due["delivered"],
    )
    assert apply_due_sandbox_events(session, due["delivered"], EVERYTHING) == 0

    later = due["reply"] + timedelta(minutes=1)
    assert apply_due_sandbox_events(session, later, EVERYTHING) == 2
    session.commit()
    log = fresh(session, log)
    assert (log.status, log.read_at, log.replied_at) == ("read", due["read"], due["reply"])
    reply = session.scalars(select(InboundMessage)).one()
    assert (reply.contact_id, reply.context_wamid, reply.occurred_at) == (
        contact_id,
        log.wamid,
        due["reply"],
    )
    # The campaign stops on reply.
    assert session.get(DripEnrollment, enrollment_id).status == "stopped"

    before = state(session, log)
    events = count(session, WhatsAppStatusEvent)
    assert apply_due_sandbox_events(session, later + timedelta(hours=1), EVERYTHING) == 0
    session.commit()
    assert state(session, log) == before
    assert count(session, WhatsAppStatusEvent) == events
    assert count(session, InboundMessage) == 1


def test_default_rates_applied_to_many_messages_match_the_schedule(session, org_a):
    logs = sandbox_logs(session, org_a.org_id, 80, stop_on_reply=False)
    now = NOW + timedelta(hours=8)
    rates = SandboxRates()
    applied = apply_due_sandbox_events(session, now)
    session.commit()
    expected_events = 0
    for log in logs:
        due = {kind: at for kind, at in times(log, rates).items() if at <= now}
        expected_events += len(due) - 1  # the sent status is already on the log
        row = fresh(session, log)
        assert row.delivered_at == due.get("delivered")
        assert row.read_at == due.get("read")
        assert row.replied_at == due.get("reply")
        assert row.failed_at == due.get("failed")
    assert applied == expected_events > 0
    statuses = {fresh(session, log).status for log in logs}
    assert {"delivered", "read"} <= statuses

    snapshot = [state(session, log) for log in logs]
    assert apply_due_sandbox_events(session, now) == 0
    session.commit()
    assert [state(session, log) for log in logs] == snapshot


def test_limit_caps_one_call_and_the_next_calls_finish(session, org_a):
    logs = sandbox_logs(session, org_a.org_id, 3)
    now = NOW + timedelta(days=2)
    assert apply_due_sandbox_events(session, now, EVERYTHING, limit=4) == 4
    assert apply_due_sandbox_events(session, now, EVERYTHING, limit=4) == 4
    assert apply_due_sandbox_events(session, now, EVERYTHING, limit=4) == 1
    assert apply_due_sandbox_events(session, now, EVERYTHING, limit=4) == 0
    assert all(fresh(session, log).replied_at is not None for log in logs)


def test_failures_go_through_the_failure_rules(session, org_a):
    (log,) = sandbox_logs(session, org_a.org_id)
    assert apply_due_sandbox_events(session, NOW + timedelta(minutes=5), ALL_FAIL) == 1
    session.commit()
    log = fresh(session, log)
    assert (log.status, log.error_code) == ("failed", "131026")
    assert session.get(Contact, log.contact_id).undeliverable_at == log.failed_at
    assert session.get(DripEnrollment, log.enrollment_id).stop_reason == "undeliverable"


def test_only_sandbox_messages_of_recent_days_without_an_account(session, org_a, org_b):
    session.add(
        WhatsAppAccount(
            organization_id=org_b.org_id,
            phone_number_id="900000000000001",
            access_token_encrypted="x",
            app_secret_encrypted="y",
        )
    )
    (with_account,) = sandbox_logs(session, org_b.org_id)
    (old,) = sandbox_logs(session, org_a.org_id, sent_at=NOW - timedelta(days=4))
    campaign = make_campaign(session, org_a.org_id, name="Real")
    first, second = live_steps(session, campaign)
    (contact,) = make_contacts(session, org_a.org_id, 1)
    real = log_row(session, enrollment_row(session, campaign, contact, step=second), first)
    untouched = [with_account, old, real]
    before = [state(session, log) for log in untouched]

    assert apply_due_sandbox_events(session, NOW + timedelta(days=2), EVERYTHING) == 0
    assert [state(session, log) for log in untouched] == before
    assert count(session, WhatsAppStatusEvent) == 0


def test_final_logs_are_not_scanned_again(session, org_a):
    (log,) = sandbox_logs(session, org_a.org_id)
    session.execute(
        DripMessageLog.__table__.update()
        .where(DripMessageLog.id == log.id)
        .values(status="failed", failed_at=NOW)
    )
    assert apply_due_sandbox_events(session, NOW + timedelta(days=1), EVERYTHING) == 0
    assert fresh(session, log).delivered_at is None
