"""Meta's per-user marketing cap (131049), through real passes against the fake Cloud API and
signed status webhooks, on both databases: the held-back message is tried again for the same
step, as the same log, a day after the last try at least, inside the campaign's send window, at
most `marketing_cap_retries` times; an old wamid's late statuses never touch the retried log;
a replayed failure schedules once; 131050 is never retried; the funnel names the reason."""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta

import pytest
from sqlalchemy import select

from app.drip import templates
from app.drip.analytics import funnels
from app.drip.enrollment import actions as enrollment
from app.extensions import db
from app.models import (
    Contact,
    DripEnrollment,
    DripMessageLog,
    Organization,
    WhatsAppStatusEvent,
)
from app.tasks.processing import run_processing_pass
from tests.fakes.cloud_api import FakeCloudApi
from tests.fakes.templates import BUSINESS_ACCOUNT_ID
from tests.faults import meta
from tests.integration.enrollment_world import live_steps, make_campaign, make_contacts
from tests.support.accounts import send_through_fake

TEMPLATE = "spring_sale"
T0 = datetime(2030, 1, 7, 11, 30, tzinfo=UTC)  # a Monday; the send window is 09:00-12:00 UTC
DAY = timedelta(days=1)


@pytest.fixture
def fake():
    with FakeCloudApi() as server:
        yield server


def make_world(app, org_id, fake, *, retries=3, steps=((0, "minutes"), (3, "days"))):
    """A template campaign (window 09:00-12:00 UTC) with one contact enrolled, due at T0."""
    app.config["SEND_CONCURRENCY"] = 2
    with app.app_context():
        session = db.session
        org = session.get(Organization, org_id)
        org.marketing_cap_retries = retries
        account = send_through_fake(app, session, org, fake)
        account.business_account_id = BUSINESS_ACCOUNT_ID
        session.flush()
        templates.sync_organization(
            session,
            org_id,
            T0 - DAY,
            decrypt=app.extensions["drip_secret_box"].decrypt,
            allowed_hosts=app.config["WHATSAPP_API_ALLOWED_HOSTS"],
        )
        campaign = make_campaign(
            session, org_id, steps=steps, window_start=time(9), window_end=time(12)
        )
        for step in live_steps(session, campaign):
            step.message_type, step.message_content = "template", None
            step.template_name, step.template_language = TEMPLATE, "en_US"
            step.template_parameters = ["{{first_name}}", "20%"]
        people = make_contacts(session, org_id, 1)
        enrollment.enroll(session, campaign, contact_ids=[c.id for c in people], now=T0)
        session.commit()
        return campaign.id, [s.id for s in live_steps(session, campaign)]


def run(app, at):
    with app.app_context():
        return run_processing_pass(at)


def the_log(app) -> DripMessageLog:
    with app.app_context():
        return db.session.scalars(select(DripMessageLog).order_by(DripMessageLog.id)).first()


def the_enrollment(app) -> DripEnrollment:
    with app.app_context():
        return db.session.scalars(select(DripEnrollment)).one()


def status(app, fake, wamid, name, at, *, code=None, log_id=None):
    """Post one signed status delivery, as Meta does; returns the body (to replay it)."""
    cb = f"log={log_id}" if log_id is not None else None
    item = meta.status(wamid, name, meta.unix(at), code=code, cb=cb)
    body = meta.delivery(fake.phone_number_id, statuses=[item])
    post(app, body)
    return body


def post(app, body: bytes) -> None:
    answer = meta.post(app.test_client(), body, "s")
    assert answer.status_code == 200, answer.get_data(as_text=True)


def funnel_step(app, org_id, campaign_id, step_id) -> dict:
    with app.app_context():
        report = funnels.funnel(db.session, org_id, campaign_id)
    return next(s for s in report["steps"] if s["stepId"] == step_id)


def test_a_131049_failure_is_retried_a_day_later_in_the_window_as_the_same_log(
    clean_app, org_a, fake
):
    campaign_id, (step1, step2) = make_world(clean_app, org_a.org_id, fake, retries=2)
    run(clean_app, T0)
    log = the_log(clean_app)
    w1, log_id = log.wamid, log.id
    assert log.status == "sent" and log.attempts == 1 and w1
    assert the_enrollment(clean_app).current_step_id == step2  # moved on when accepted

    # Meta fails it asynchronously at 12:10; +24 h is Tuesday 12:10, after the window: Wed 09:00.
    failed_at = T0 + timedelta(minutes=40)
    body = status(clean_app, fake, w1, "failed", failed_at, code=131049, log_id=log_id)
    run(clean_app, failed_at + timedelta(minutes=5))
    log, row = the_log(clean_app), the_enrollment(clean_app)
    retry = datetime(2030, 1, 9, 9, 0, tzinfo=UTC)
    assert log.id == log_id and log.status == "pending" and log.wamid is None
    assert log.retry_at == retry and log.error_code == "131049" and log.attempts == 1
    assert row.status == "active" and row.current_step_id == step1
    assert row.next_send_at == retry and row.wait_reason == "marketing_cap"
    step = funnel_step(clean_app, org_a.org_id, campaign_id, step1)
    assert step["dropOffReasons"]["marketingCap"] == 1 and step["dropOffReasons"]["waiting"] == 0
    # Issue 18: waiting for a retry is not drop-off.
    assert step["dropOffCount"] == 0 and step["waitingCount"] == 1
    assert step["failedCount"] == 0

    # The same failure delivered again, and late statuses of the first try: nothing moves.
    post(clean_app, body)
    status(clean_app, fake, w1, "sent", T0 + timedelta(minutes=1), log_id=log_id)
    run(clean_app, failed_at + timedelta(hours=2))
    assert fake.accepted(callback=f"log={log_id}") == 1
    log = the_log(clean_app)
    assert log.status == "pending" and log.retry_at == retry and log.attempts == 1
    assert log.sent_at is None and log.wamid is None

    # Tuesday inside the window, a day after the try: still not due (the window closed).
    run(clean_app, datetime(2030, 1, 8, 11, 59, tzinfo=UTC))
    assert fake.accepted(callback=f"log={log_id}") == 1
    second_and_third_tries(clean_app, org_a.org_id, fake, campaign_id, (step1, step2), w1, retry)


def second_and_third_tries(clean_app, org_id, fake, campaign_id, steps, w1, retry):
    _step1, step2 = steps
    log_id = the_log(clean_app).id
    run(clean_app, retry)
    log, row = the_log(clean_app), the_enrollment(clean_app)
    w2 = log.wamid
    assert fake.accepted(callback=f"log={log_id}") == 2
    assert log.id == log_id and log.attempts == 2 and w2 and w2 != w1
    assert log.status == "sent" and log.sent_at == retry and log.error_code is None
    assert row.current_step_id == step2 and row.wait_reason is None
    assert row.next_send_at == retry + 3 * DAY

    # The old wamid's late "read" cannot mark the retried log; its event is kept.
    status(clean_app, fake, w1, "read", retry + timedelta(minutes=1), log_id=log_id)
    status(clean_app, fake, w1, "delivered", retry + timedelta(minutes=1), log_id=log_id)
    log = the_log(clean_app)
    assert log.status == "sent" and log.read_at is None and log.delivered_at is None
    assert log.wamid == w2

    third_try(clean_app, org_id, fake, campaign_id, steps, (w1, w2), retry)


def third_try(clean_app, org_id, fake, campaign_id, steps, wamids, retry):
    """A second 131049 (for the new wamid): the third try a day after the second; the third
    131049 fails the message (marketing_cap_retries = 2)."""
    step1, step2 = steps
    w1, w2 = wamids
    log_id = the_log(clean_app).id
    second = retry + timedelta(minutes=5)
    status(clean_app, fake, w2, "failed", second, code=131049, log_id=log_id)
    status(clean_app, fake, w1, "read", second, log_id=log_id)  # still nothing
    run(clean_app, second + timedelta(minutes=1))
    log, row = the_log(clean_app), the_enrollment(clean_app)
    assert log.status == "pending" and log.retry_at == second + DAY and log.attempts == 2
    assert row.current_step_id == step1 and row.next_send_at == second + DAY
    run(clean_app, second + DAY - timedelta(minutes=1))
    assert fake.accepted(callback=f"log={log_id}") == 2
    run(clean_app, second + DAY)
    log = the_log(clean_app)
    w3 = log.wamid
    assert fake.accepted(callback=f"log={log_id}") == 3 and log.attempts == 3
    assert w3 not in (w1, w2) and log.status == "sent"

    # Two retries used (marketing_cap_retries = 2): the third 131049 fails as before the rule.
    third = second + DAY + timedelta(minutes=5)
    status(clean_app, fake, w3, "failed", third, code=131049, log_id=log_id)
    run(clean_app, third + timedelta(minutes=1))
    run(clean_app, third + 2 * DAY)
    log, row = the_log(clean_app), the_enrollment(clean_app)
    assert log.status == "failed" and log.error_code == "131049" and log.attempts == 3
    assert fake.accepted(callback=f"log={log_id}") == 3
    assert row.status == "active" and row.current_step_id == step2 and row.wait_reason is None
    step = funnel_step(clean_app, org_id, campaign_id, step1)
    assert step["failedByCode"] == {"131049": 1} and step["dropOffReasons"]["marketingCap"] == 0

    with clean_app.app_context():
        events = db.session.execute(
            select(WhatsAppStatusEvent.wamid, WhatsAppStatusEvent.status).where(
                WhatsAppStatusEvent.message_log_id == log_id
            )
        ).all()
    assert set(events) >= {
        (w1, "failed"),
        (w1, "sent"),
        (w1, "read"),
        (w1, "delivered"),
        (w2, "failed"),
        (w3, "failed"),
    }


def test_a_131049_that_completed_the_enrollment_puts_it_back_at_the_step(clean_app, org_a, fake):
    make_world(clean_app, org_a.org_id, fake, steps=((0, "minutes"),))
    run(clean_app, T0)
    log = the_log(clean_app)
    assert the_enrollment(clean_app).status == "completed"
    status(clean_app, fake, log.wamid, "failed", T0, code=131049, log_id=log.id)
    run(clean_app, T0 + timedelta(minutes=1))
    row = the_enrollment(clean_app)
    assert row.status == "active" and row.completed_at is None
    assert row.next_send_at == T0 + DAY and row.wait_reason == "marketing_cap"
    run(clean_app, T0 + DAY)
    assert fake.accepted(callback=f"log={log.id}") == 2
    assert the_enrollment(clean_app).status == "completed"


def test_131050_is_never_retried(clean_app, org_a, fake):
    make_world(clean_app, org_a.org_id, fake)
    run(clean_app, T0)
    log = the_log(clean_app)
    status(clean_app, fake, log.wamid, "failed", T0, code=131050, log_id=log.id)
    for later in (T0 + timedelta(minutes=1), T0 + 2 * DAY, T0 + 5 * DAY):
        run(clean_app, later)
    log, row = the_log(clean_app), the_enrollment(clean_app)
    assert log.status == "failed" and log.error_code == "131050" and log.retry_at is None
    assert fake.accepted(callback=f"log={log.id}") == 1
    assert row.status == "unsubscribed"
    with clean_app.app_context():
        assert db.session.scalars(select(Contact)).one().opted_out_at is not None


def test_a_131049_send_error_waits_a_day_at_its_step_then_fails_when_no_tries_are_left(
    clean_app, org_a, client_a, fake
):
    campaign_id, (step1, _step2) = make_world(clean_app, org_a.org_id, fake, retries=1)
    fake.fail(131049, times=2)
    run(clean_app, T0)
    log, row = the_log(clean_app), the_enrollment(clean_app)
    retry = T0 + DAY  # Tuesday 11:30, inside the window
    assert log.status == "pending" and log.retry_at == retry and log.attempts == 1
    assert log.error_code == "131049" and "marketing cap" in log.error_message
    assert row.status == "active" and row.current_step_id == step1
    assert row.next_send_at == retry and row.wait_reason == "marketing_cap"
    step = funnel_step(clean_app, org_a.org_id, campaign_id, step1)
    assert step["dropOffReasons"]["marketingCap"] == 1
    page = client_a.get(f"/campaigns/{campaign_id}/analytics").get_data(as_text=True)
    assert "1 of them held back by Meta's marketing cap: retrying" in page

    run(clean_app, retry - timedelta(minutes=1))
    assert fake.requests == 1
    run(clean_app, retry)  # refused again, no retry left: fails as any permanent error
    log, row = the_log(clean_app), the_enrollment(clean_app)
    assert fake.requests == 2 and log.attempts == 2
    assert log.status == "failed" and log.error_code == "131049"
    assert row.status == "failed" and row.stop_reason == "send_failed:131049"


def test_an_early_due_time_does_not_bring_a_retry_forward(clean_app, org_a, fake):
    """Something makes the waiting enrollment due before its retry (an edit of the step's
    timing or of the send window reschedules it): the pass still waits for the retry time."""
    make_world(clean_app, org_a.org_id, fake)
    run(clean_app, T0)
    log = the_log(clean_app)
    failed_at = T0 + timedelta(minutes=10)
    status(clean_app, fake, log.wamid, "failed", failed_at, code=131049, log_id=log.id)
    run(clean_app, failed_at + timedelta(minutes=1))
    retry = the_log(clean_app).retry_at
    assert retry >= failed_at + DAY
    with clean_app.app_context():  # as a reschedule would leave it
        row = db.session.scalars(select(DripEnrollment)).one()
        row.next_send_at = failed_at + timedelta(minutes=2)
        db.session.commit()
    run(clean_app, failed_at + timedelta(minutes=3))
    assert fake.accepted(callback=f"log={log.id}") == 1  # not tried again yet
    row = the_enrollment(clean_app)
    assert row.next_send_at == retry and row.wait_reason == "marketing_cap"
    run(clean_app, retry)
    assert fake.accepted(callback=f"log={log.id}") == 2
