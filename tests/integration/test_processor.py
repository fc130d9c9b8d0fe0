"""The processing pass against the fake Cloud API over real sockets, on both databases:
sends each step once, advances, retries, fails, pauses an account, never resends the
ambiguous, never writes to a contact who opted out."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import delete, select, update

from app.drip import accounts
from app.drip.enrollment import actions as enrollment
from app.drip.sending import processor
from app.extensions import db
from app.models import (
    Contact,
    DripCampaign,
    DripEnrollment,
    DripMessageLog,
    Organization,
    WhatsAppAccount,
)
from app.tasks.processing import run_processing_pass
from tests.fakes.cloud_api import FakeCloudApi
from tests.integration.enrollment_world import NOW, live_steps, make_campaign, make_contacts
from tests.support.accounts import send_through_fake
from tests.support.window import wrote_to_us

DAY = timedelta(days=1)


@pytest.fixture
def fake():
    with FakeCloudApi() as server:
        yield server


@pytest.fixture
def world(clean_app, org_a, fake):
    """Org A sends through the fake Cloud API; a two-step campaign with three enrolled."""
    clean_app.config["SEND_CONCURRENCY"] = 8
    with clean_app.app_context():
        session = db.session
        org = session.get(Organization, org_a.org_id)
        send_through_fake(clean_app, session, org, fake)
        campaign = make_campaign(session, org.id)
        contacts = make_contacts(session, org.id, 3)
        wrote_to_us(session, NOW)  # text steps go out inside the contacts' 24-hour window
        enrollment.enroll(session, campaign, contact_ids=[c.id for c in contacts], now=NOW)
        session.commit()
        yield {"campaign_id": campaign.id, "contact_ids": [c.id for c in contacts]}


def org_a_id(app) -> int:
    with app.app_context():
        return db.session.scalar(select(WhatsAppAccount.organization_id))


def run(app, at, **kw):
    with app.app_context():
        return run_processing_pass(at, **kw)


def write_again(app, at):
    """The contacts wrote to us again: their window is open at `at` (a later day's step)."""
    with app.app_context():
        wrote_to_us(db.session, at)
        db.session.commit()


def logs(app):
    with app.app_context():
        return db.session.scalars(select(DripMessageLog).order_by(DripMessageLog.id)).all()


def enrollments(app):
    with app.app_context():
        return db.session.scalars(select(DripEnrollment).order_by(DripEnrollment.id)).all()


def test_each_step_goes_out_once_then_the_enrollment_completes(clean_app, world, fake):
    stats = run(clean_app, NOW)
    assert stats["claimed"] == 3 and stats["sent"] == 3
    assert fake.requests == 3
    bodies = [r["body"] for r in fake.records()]
    assert {b["text"]["body"] for b in bodies} == {f"Hi Person{i}" for i in range(3)}
    assert all(b["biz_opaque_callback_data"].startswith("log=") for b in bodies)
    first = logs(clean_app)
    assert [log.status for log in first] == ["sent"] * 3
    assert all(log.wamid and log.sent_at == NOW for log in first)
    step_ids = sorted({log.step_id for log in first})
    for row in enrollments(clean_app):
        assert row.status == "active"
        assert row.last_sent_at == NOW
        assert row.next_send_at == NOW + DAY  # step 2's delay from the send
        assert row.last_step_id == step_ids[0]  # the funnel's drop-off reads it

    assert run(clean_app, NOW + timedelta(hours=23))["claimed"] == 0
    assert run(clean_app, NOW)["sent"] == 0  # nothing is due twice
    assert fake.requests == 3

    write_again(clean_app, NOW + DAY)
    stats = run(clean_app, NOW + DAY)
    assert stats["sent"] == 3 and stats["completed"] == 3
    assert fake.requests == 6
    assert {row.status for row in enrollments(clean_app)} == {"completed"}
    assert {row.last_step_id for row in enrollments(clean_app)} == {
        max(log.step_id for log in logs(clean_app))
    }
    assert len(logs(clean_app)) == 6
    assert run(clean_app, NOW + 10 * DAY)["claimed"] == 0


def test_paused_campaigns_and_enrollments_send_nothing(clean_app, world, fake):
    with clean_app.app_context():
        first = db.session.scalars(select(DripEnrollment)).first()
        first.status = "paused"
        db.session.commit()
    assert run(clean_app, NOW)["sent"] == 2
    with clean_app.app_context():
        db.session.get(DripCampaign, world["campaign_id"]).status = "paused"
        db.session.commit()
    assert run(clean_app, NOW + DAY)["claimed"] == 0


def test_a_retryable_error_is_retried_later_and_sent_once(clean_app, world, fake):
    fake.fail(130429, times=3)
    stats = run(clean_app, NOW)
    assert stats["retried"] == 3 and stats["sent"] == 0
    for log in logs(clean_app):
        assert log.status == "pending" and log.error_code == "130429"
        assert log.retry_at is not None and NOW < log.retry_at <= NOW + timedelta(seconds=2)
    retry_at = {log.enrollment_id: log.retry_at for log in logs(clean_app)}
    for row in enrollments(clean_app):
        assert row.retry_count == 1 and row.next_send_at == retry_at[row.id]
    stats = run(clean_app, NOW + timedelta(minutes=1))
    assert stats["sent"] == 3
    for log in logs(clean_app):
        assert log.status == "sent" and log.attempts == 2 and log.error_code is None
        assert fake.accepted(callback=f"log={log.id}") == 1


def test_retries_are_capped(clean_app, world, fake):
    fake.fail(131000, fraction=1.0)
    at = NOW
    for _ in range(12):
        run(clean_app, at)
        at += timedelta(minutes=10)
    for log in logs(clean_app):
        assert log.status == "failed"
        assert log.attempts == 8
        assert "8" in log.error_message
    assert {row.status for row in enrollments(clean_app)} == {"failed"}


@pytest.mark.parametrize(
    ("code", "enrollment_status", "reason"),
    [
        (131026, "failed", "undeliverable"),
        (131047, "failed", "send_failed:131047"),
        (132001, "failed", "send_failed:132001"),
        (131050, "unsubscribed", "opted_out"),
    ],
)
def test_permanent_errors_fail_with_a_reason(
    clean_app, world, fake, code, enrollment_status, reason
):
    fake.fail(code, times=1)
    stats = run(clean_app, NOW)
    assert stats["failed"] == 1 and stats["sent"] == 2
    failed = [log for log in logs(clean_app) if log.status == "failed"]
    assert len(failed) == 1 and failed[0].error_code == str(code)
    assert failed[0].error_message
    row = next(r for r in enrollments(clean_app) if r.id == failed[0].enrollment_id)
    assert (row.status, row.stop_reason) == (enrollment_status, reason)
    with clean_app.app_context():
        contact = db.session.get(Contact, failed[0].contact_id)
        if code == 131050:
            assert contact.opted_out_at is not None
        if code == 131026:
            assert contact.undeliverable_at is not None
    write_again(clean_app, NOW + DAY)
    assert run(clean_app, NOW + DAY)["sent"] == 2  # the failed one is not retried


@pytest.mark.parametrize("through", ["cloud_api", "sandbox"])
def test_a_message_too_long_once_filled_in_fails_with_its_length_and_is_not_sent(
    clean_app, world, fake, through
):
    """WhatsApp takes at most 4,096 characters of text: a contact's long value can take the
    step past it. Refused before the request (Meta would answer 100 after it), the reason
    says how long it came out; the sandbox refuses it alike."""
    with clean_app.app_context():
        campaign = db.session.get(DripCampaign, world["campaign_id"])
        step = live_steps(db.session, campaign)[0]
        step.message_content = "Hi {{first_name|there}}, {{attributes.note|}}"
        contact = db.session.get(Contact, world["contact_ids"][0])
        contact.attributes = {"note": "x" * 4_100}
        if through == "sandbox":
            db.session.execute(delete(WhatsAppAccount))
        db.session.commit()
    stats = run(clean_app, NOW)
    assert (stats["sent"], stats["failed"]) == (2, 1)
    (failed,) = [log for log in logs(clean_app) if log.status == "failed"]
    assert failed.contact_id == world["contact_ids"][0] and failed.error_code == "100"
    assert "4,112 characters" in failed.error_message  # "Hi Person0, " and the note
    assert "WhatsApp allows 4,096" in failed.error_message
    if through == "cloud_api":
        assert fake.requests == 2  # the long one never left
        long_phone = phone_of(clean_app, world["contact_ids"][0])
        assert long_phone not in sent_to(fake)


def test_an_expired_token_pauses_the_account(clean_app, world, fake):
    fake.fail(190, fraction=1.0)
    stats = run(clean_app, NOW)
    assert stats["paused_accounts"] >= 1 and stats["sent"] == 0
    with clean_app.app_context():
        account = db.session.scalar(select(WhatsAppAccount))
        assert account.sending_paused_at == NOW and account.sending_paused_code == "190"
    requests = fake.requests
    assert run(clean_app, NOW + DAY)["claimed"] == 0  # nothing goes out while paused
    assert fake.requests == requests
    fake.reset()
    with clean_app.app_context():  # the operator sets a new token: sending resumes
        accounts.set_whatsapp_account(
            db.session,
            clean_app.extensions["drip_secret_box"],
            db.session.get(Organization, org_a_id(clean_app)),
            phone_number_id=fake.phone_number_id,
            access_token=fake.access_token,
            app_secret="s",
            api_base_url=fake.base_url,
            allowed_hosts=clean_app.config["WHATSAPP_API_ALLOWED_HOSTS"],
        )
        db.session.commit()
    write_again(clean_app, NOW + DAY)
    stats = run(clean_app, NOW + DAY)
    assert stats["sent"] == 3
    assert {log.status for log in logs(clean_app)} == {"sent"}


def test_a_timeout_after_sending_is_never_resent(clean_app, world, fake):
    clean_app.config["WHATSAPP_READ_TIMEOUT"] = 0.5
    fake.hang(3, times=1)
    stats = run(clean_app, NOW)
    assert stats["ambiguous"] == 1 and stats["sent"] == 2
    ambiguous = next(log for log in logs(clean_app) if log.status == "pending")
    assert ambiguous.retry_at is None and ambiguous.wamid is None
    row = next(r for r in enrollments(clean_app) if r.id == ambiguous.enrollment_id)
    assert row.next_send_at > NOW + timedelta(hours=24)
    # Passes at any time before the park ends send nothing for it.
    for hours in (1, 12, 23):
        run(clean_app, NOW + timedelta(hours=hours))
    assert fake.received(callback=f"log={ambiguous.id}") == 1


def test_a_crash_after_claiming_leaves_nothing_to_send_twice(clean_app, world, fake):
    with clean_app.app_context():
        claim = processor.claim(db.session, NOW, 10)
        db.session.commit()  # then the worker dies before sending or recording
    assert claim.claimed == 3
    stats = run(clean_app, NOW + timedelta(minutes=11))  # the lease has run out
    assert stats["claimed"] == 3 and stats["parked"] == 3 and stats["sent"] == 0
    assert fake.requests == 0
    # The stale rule fails them after 24 h; the next pass moves the enrollments on.
    with clean_app.app_context():
        for log in db.session.scalars(select(DripMessageLog)):
            log.status, log.error_code = "failed", "stale"
        db.session.commit()
    stats = run(clean_app, NOW + timedelta(hours=25))
    assert stats["reconciled"] == 3
    assert {r.current_step_id for r in enrollments(clean_app)} != {None}
    assert fake.requests == 0  # step 2 is a day after: not yet
    write_again(clean_app, NOW + timedelta(hours=49))
    assert run(clean_app, NOW + timedelta(hours=49))["sent"] == 3


# --- never a message to a contact who opted out, whichever way the opt-out came ---------------


def sent_to(fake) -> set[str]:
    return {"+" + r["body"]["to"].lstrip("+") for r in fake.records()}


def phone_of(app, contact_id: int) -> str:
    with app.app_context():
        return db.session.get(Contact, contact_id).phone


def test_an_opt_out_through_the_api_ends_the_enrollments_and_nothing_goes_out(
    clean_app, org_a, world, fake
):
    opted = world["contact_ids"][0]
    response = clean_app.test_client().patch(
        f"/api/contacts/{opted}", json={"optedOut": True}, headers=org_a.auth
    )
    assert response.status_code == 200, response.json
    row = next(e for e in enrollments(clean_app) if e.contact_id == opted)
    assert (row.status, row.stop_reason, row.next_send_at) == ("unsubscribed", "opted_out", None)
    assert run(clean_app, NOW)["sent"] == 2
    assert phone_of(clean_app, opted) not in sent_to(fake)


def test_an_opt_out_on_the_contact_page_ends_the_enrollments(clean_app, client_a, world, fake):
    opted = world["contact_ids"][1]
    with clean_app.app_context():
        contact = db.session.get(Contact, opted)
        form = {"phone": contact.phone, "first_name": contact.first_name, "opted_out": "y"}
    response = client_a.post(f"/contacts/{opted}/edit", data=form)
    assert response.status_code == 302, response.get_data(as_text=True)[:2000]
    row = next(e for e in enrollments(clean_app) if e.contact_id == opted)
    assert (row.status, row.stop_reason) == ("unsubscribed", "opted_out")
    run(clean_app, NOW)
    assert phone_of(clean_app, opted) not in sent_to(fake)


@pytest.mark.parametrize("pending_retry", [False, True])
def test_the_pass_itself_never_sends_to_an_opted_out_contact(clean_app, world, fake, pending_retry):
    """An opt-out written without ending the enrollments (an import, a script, a path not
    written yet): the pass checks the contact when it claims, and ends the enrollment."""
    opted = world["contact_ids"][2]
    if pending_retry:  # a first attempt failed retryably: the retry must not go out either
        fake.fail(130429, to=phone_of(clean_app, opted), times=1)
        assert run(clean_app, NOW)["sent"] == 2
    with clean_app.app_context():
        db.session.execute(update(Contact).where(Contact.id == opted).values(opted_out_at=NOW))
        db.session.commit()
    before = fake.requests
    stats = run(clean_app, NOW + timedelta(hours=1))  # past any retry's wait
    assert phone_of(clean_app, opted) not in {
        "+" + r["body"]["to"].lstrip("+") for r in fake.records()[before:]
    }
    assert stats.get("unsubscribed") == 1
    with clean_app.app_context():
        row = db.session.scalars(
            select(DripEnrollment).where(DripEnrollment.contact_id == opted)
        ).one()
        assert (row.status, row.stop_reason, row.next_send_at) == (
            "unsubscribed",
            "opted_out",
            None,
        )
