"""Housekeeping (stale logs, retention, campaign counters) and the queue health on /campaigns."""

from __future__ import annotations

import random
from datetime import timedelta

import pytest
from sqlalchemy import event, select

from app.drip import sending
from app.drip.enrollment import actions as enrollment
from app.drip.sending import housekeeping
from app.drip.sending.health import PROCESSING_JOB, queue_health
from app.extensions import db
from app.models import (
    DripCampaign,
    DripEnrollment,
    DripMessageLog,
    JobRun,
    Link,
    Organization,
    WhatsAppAccount,
    WhatsAppStatusEvent,
    utcnow,
)
from app.tasks import jobs
from tests.integration.enrollment_world import NOW, live_steps, make_campaign, make_contacts


def enroll(session, campaign, *, status="active", **fields) -> DripEnrollment:
    contact = make_contacts(session, campaign.organization_id, 1)[0]
    enrollment = DripEnrollment(
        organization_id=campaign.organization_id,
        campaign_id=campaign.id,
        contact_id=contact.id,
        status=status,
        current_step_id=live_steps(session, campaign)[0].id,
        **fields,
    )
    session.add(enrollment)
    session.flush()
    return enrollment


def message(session, campaign, *, created_at, status="sent", enrollment=None, **fields):
    """A message log of the campaign's first step, for a new enrollment unless one is given."""
    enrollment = enrollment or enroll(session, campaign, status="completed")
    log = DripMessageLog(
        organization_id=campaign.organization_id,
        enrollment_id=enrollment.id,
        campaign_id=campaign.id,
        step_id=live_steps(session, campaign)[0].id,
        contact_id=enrollment.contact_id,
        status=status,
        created_at=created_at,
        **fields,
    )
    session.add(log)
    session.flush()
    return log


def statuses(session, logs) -> list[str]:
    session.expire_all()
    return [session.get(DripMessageLog, log.id).status for log in logs]


# --- stale pending logs --------------------------------------------------------------------


def test_pending_logs_fail_once_older_than_24_hours(session, org_a):
    campaign = make_campaign(session, org_a.org_id)
    day = timedelta(hours=24)
    stale = message(
        session, campaign, created_at=NOW - day - timedelta(seconds=1), status="pending"
    )
    boundary = message(session, campaign, created_at=NOW - day, status="pending")
    young = message(session, campaign, created_at=NOW - timedelta(hours=1), status="pending")
    old_sent = message(session, campaign, created_at=NOW - 2 * day, sent_at=NOW - 2 * day)

    assert housekeeping.fail_stale_logs(session, NOW) == 1
    assert statuses(session, [stale, boundary, young, old_sent]) == [
        "failed",
        "pending",
        "pending",
        "sent",
    ]
    failed = session.get(DripMessageLog, stale.id)
    assert failed.error_code == "stale"
    assert failed.failed_at == NOW
    assert "24 hours" in failed.error_message
    assert housekeeping.fail_stale_logs(session, NOW) == 0


def test_stale_logs_are_failed_a_batch_at_a_time(session, org_a):
    campaign = make_campaign(session, org_a.org_id)
    logs = [
        message(session, campaign, created_at=NOW - timedelta(days=2), status="pending")
        for _ in range(5)
    ]
    assert [housekeeping.fail_stale_logs(session, NOW, batch=2) for _ in range(4)] == [2, 2, 1, 0]
    assert statuses(session, logs) == ["failed"] * 5


def test_the_stale_job_commits_batches_and_records_its_run(session, org_a, monkeypatch):
    monkeypatch.setattr("app.drip.sending.BATCH", 2)
    campaign = make_campaign(session, org_a.org_id)
    for _ in range(5):
        message(session, campaign, created_at=utcnow() - timedelta(days=2), status="pending")
    session.commit()
    assert jobs.fail_stale() == {"failed": 5, "batches": 3}
    run = session.scalars(select(JobRun).where(JobRun.name == "fail_stale")).one()
    assert run.ok and run.stats == {"failed": 5, "batches": 3}


# --- retention -----------------------------------------------------------------------------


def test_retention_deletes_only_old_logs_in_batches(session, org_a):
    campaign = make_campaign(session, org_a.org_id)
    old = [message(session, campaign, created_at=NOW - timedelta(days=91)) for _ in range(5)]
    young = [message(session, campaign, created_at=NOW - timedelta(days=89)) for _ in range(2)]
    for i, log in enumerate((old[0], young[0])):
        session.add(
            WhatsAppStatusEvent(
                organization_id=org_a.org_id,
                message_log_id=log.id,
                wamid=f"wamid.{i}",
                status="delivered",
                occurred_at=NOW,
            )
        )
        session.add(
            Link(
                organization_id=org_a.org_id,
                message_log_id=log.id,
                code=f"c{i}",
                url="https://x.example/",
            )
        )
    session.flush()

    sizes = [housekeeping.delete_old_logs_batch(session, NOW, days=90, batch=2) for _ in range(4)]
    assert sizes == [2, 2, 1, 0]
    session.expire_all()
    remaining = session.scalars(select(DripMessageLog.id).order_by(DripMessageLog.id)).all()
    assert remaining == [log.id for log in young]
    # Their status events and links went with them (ON DELETE CASCADE); the young ones stay.
    assert session.scalars(select(WhatsAppStatusEvent.message_log_id)).all() == [young[0].id]
    assert session.scalars(select(Link.message_log_id)).all() == [young[0].id]


def test_retention_keeps_the_log_that_guards_a_live_enrollment(session, org_a):
    campaign = make_campaign(session, org_a.org_id)
    waiting = enroll(session, campaign, status="paused")
    guard = message(session, campaign, created_at=NOW - timedelta(days=200), enrollment=waiting)
    guard_id = guard.id
    assert housekeeping.delete_old_logs_batch(session, NOW) == 0
    waiting.status = "completed"
    session.flush()
    assert housekeeping.delete_old_logs_batch(session, NOW) == 1
    session.expire_all()
    assert session.get(DripMessageLog, guard_id) is None


def test_the_purge_job_loops_over_batches_and_forgets_old_job_runs(session, org_a, monkeypatch):
    monkeypatch.setattr("app.drip.sending.BATCH", 2)
    campaign = make_campaign(session, org_a.org_id)
    # Past retention on both databases (on PostgreSQL logs go a whole month at a time).
    old = sending.logs_cutoff(session, utcnow(), days=90) - timedelta(days=1)
    for _ in range(5):
        message(session, campaign, created_at=old)
    keep = message(session, campaign, created_at=utcnow() - timedelta(days=10))
    session.add(JobRun(name="process_due", started_at=utcnow() - timedelta(days=30), ok=True))
    session.commit()

    stats = jobs.purge_old_logs()
    assert stats == {"deleted": 5, "batches": 3, "job_runs_deleted": 1}
    assert session.scalars(select(DripMessageLog.id)).all() == [keep.id]
    assert session.scalars(select(JobRun.name)).all() == ["purge_old_logs"]


def test_retention_follows_the_setting(session, org_a, monkeypatch, clean_app):
    monkeypatch.setitem(clean_app.config, "LOG_RETENTION_DAYS", 7)
    campaign = make_campaign(session, org_a.org_id)
    cutoff = sending.logs_cutoff(session, utcnow(), days=7)
    assert cutoff <= utcnow() - timedelta(days=7)
    if session.get_bind().dialect.name == "postgresql":
        # A month at a time: the logs go with their month of status events, dropped whole.
        assert (cutoff.day, cutoff.hour, cutoff.minute) == (1, 0, 0)
    else:
        assert cutoff > utcnow() - timedelta(days=8)
    message(session, campaign, created_at=cutoff - timedelta(hours=1))
    kept = message(session, campaign, created_at=cutoff + timedelta(hours=1))
    session.commit()
    assert jobs.purge_old_logs()["deleted"] == 1
    assert session.scalars(select(DripMessageLog.id)).all() == [kept.id]


# --- campaign counters ---------------------------------------------------------------------

ENROLLMENT_STATUSES = ("active", "paused", "completed", "stopped", "unsubscribed", "failed")


def random_world(session, org_id: int, rng: random.Random):
    """A campaign with enrollments and logs of random statuses; the counters it should get."""
    campaign = make_campaign(session, org_id)
    expected = dict.fromkeys((*housekeeping.ENROLLMENT_COUNTERS, *housekeeping.MESSAGE_COUNTERS), 0)
    for _ in range(rng.randint(3, 12)):
        status = rng.choice(ENROLLMENT_STATUSES)
        enrollment = enroll(session, campaign, status=status)
        expected["total_enrolled"] += 1
        expected["active_count"] += status == "active"
        expected["completed_count"] += status == "completed"
        if rng.random() < 0.2:
            continue
        fields = {}
        kind = rng.choice(("pending", "sent", "delivered", "read", "read-only", "failed"))
        if kind not in {"pending", "failed"}:
            fields["sent_at"] = NOW
        if kind in {"delivered", "read"}:
            fields["delivered_at"] = NOW
        if kind.startswith("read"):
            fields["read_at"] = NOW  # "read-only": a read receipt without a delivered one
        if kind.startswith("read") and rng.random() < 0.5:
            fields["replied_at"] = NOW
            expected["replied_count"] += 1
        if kind in {"delivered", "read"} and rng.random() < 0.4:
            fields["clicked_at"] = NOW
            expected["clicked_count"] += 1
        status = {"read-only": "read"}.get(kind, kind)
        message(session, campaign, created_at=NOW, status=status, enrollment=enrollment, **fields)
        expected["sent_count"] += "sent_at" in fields
        expected["delivered_count"] += "delivered_at" in fields or "read_at" in fields
        expected["read_count"] += "read_at" in fields
        expected["failed_count"] += kind == "failed"
    return campaign, expected


def counters(session, campaign) -> dict:
    session.expire_all()
    fresh = session.get(DripCampaign, campaign.id)
    names = (*housekeeping.ENROLLMENT_COUNTERS, *housekeeping.MESSAGE_COUNTERS)
    return {name: getattr(fresh, name) for name in names}


def test_counters_equal_the_aggregates_in_one_statement(session, org_a, org_b):
    rng = random.Random(4)
    worlds = [random_world(session, org, rng) for org in (org_a.org_id, org_a.org_id, org_b.org_id)]
    empty = make_campaign(session, org_a.org_id, total_enrolled=99, sent_count=7, read_count=3)
    session.flush()

    statements = []
    engine = session.get_bind()

    def count(conn, cursor, statement, parameters, context, executemany):
        statements.append(statement)

    event.listen(engine, "before_cursor_execute", count)
    try:
        assert housekeeping.refresh_campaign_counters(session, NOW) == 4
    finally:
        event.remove(engine, "before_cursor_execute", count)
    assert len(statements) == 1 and statements[0].lstrip().upper().startswith("UPDATE")

    for campaign, expected in worlds:
        assert counters(session, campaign) == expected
    assert set(counters(session, empty).values()) == {0}
    assert session.get(DripCampaign, empty.id).stats_refreshed_at == NOW


def test_an_archived_campaign_is_refreshed_once_more_then_left_alone(session, org_a):
    campaign = make_campaign(session, org_a.org_id, status="archived", archived_at=NOW)
    enroll(session, campaign, status="stopped")
    assert housekeeping.refresh_campaign_counters(session, NOW) == 1
    assert counters(session, campaign)["total_enrolled"] == 1
    enroll(session, campaign, status="stopped")
    assert housekeeping.refresh_campaign_counters(session, NOW + timedelta(minutes=5)) == 0
    assert counters(session, campaign)["total_enrolled"] == 1


def test_the_counters_job_records_how_many_campaigns(session, org_a):
    make_campaign(session, org_a.org_id)
    session.commit()
    assert jobs.refresh_counters() == {"campaigns": 1}


# --- queue health --------------------------------------------------------------------------


def due_world(session, org_id: int, now):
    """Due, not due and excluded enrollments, sent and failed logs, around `now`."""
    active = make_campaign(session, org_id)
    paused = make_campaign(session, org_id, status="paused")
    for _ in range(3):
        enroll(session, active, next_send_at=now - timedelta(minutes=1))
    enroll(session, active, next_send_at=now)  # due at this very moment
    enroll(session, active, next_send_at=now + timedelta(minutes=1))
    enroll(session, active, status="paused", next_send_at=now - timedelta(hours=1))
    enroll(session, paused, next_send_at=now - timedelta(hours=1))
    for minutes in (5, 50):
        message(
            session,
            active,
            created_at=now - timedelta(minutes=minutes),
            sent_at=now - timedelta(minutes=minutes),
        )
    # Created a day ago, sent (retried) a few minutes ago: counts by when it was sent.
    message(
        session, active, created_at=now - timedelta(hours=23), sent_at=now - timedelta(minutes=3)
    )
    message(session, active, created_at=now - timedelta(hours=2), sent_at=now - timedelta(hours=2))
    for code, hours in (("131026", 1), ("131026", 20), ("stale", 3), ("131026", 30), (None, 2)):
        message(
            session,
            active,
            created_at=now - timedelta(hours=hours + 24),
            status="failed",
            error_code=code,
            failed_at=now - timedelta(hours=hours),
        )
    return active


def test_queue_health_counts_for_one_organization(session, org_a, org_b):
    due_world(session, org_a.org_id, NOW)
    due_world(session, org_b.org_id, NOW)  # another organization's numbers stay out
    session.add_all(
        [
            JobRun(
                name=PROCESSING_JOB,
                started_at=NOW - timedelta(minutes=1),
                finished_at=NOW,
                ok=True,
                stats={"sent": 3},
            ),
            JobRun(
                name=PROCESSING_JOB,
                started_at=NOW - timedelta(minutes=2),
                finished_at=NOW,
                ok=False,
            ),
            JobRun(name="refresh_counters", started_at=NOW, ok=True),
        ]
    )
    session.flush()

    health = queue_health(session, org_a.org_id, NOW)
    assert health.due_now == 4
    assert health.sent_last_hour == 3
    assert health.failures_by_code[0] == ("131026", 2)  # most frequent first
    assert dict(health.failures_by_code) == {"131026": 2, "stale": 1, None: 1}
    assert health.failed_last_day == 4
    assert (health.last_pass.ok, health.last_pass.started_at) == (True, NOW - timedelta(minutes=1))
    assert health.paused is None


def test_queue_health_with_nothing_yet(session, org_a):
    health = queue_health(session, org_a.org_id, NOW)
    assert (health.last_pass, health.due_now, health.sent_last_hour, health.failures_by_code) == (
        None,
        0,
        0,
        [],
    )


def pause_sending(session, org_id: int, reason: str | None) -> None:
    session.add(
        WhatsAppAccount(
            organization_id=org_id,
            phone_number_id=f"pn-{org_id}",
            access_token_encrypted="x",
            app_secret_encrypted="x",
            sending_paused_at=utcnow() - timedelta(minutes=5),
            sending_paused_code="190",
            sending_paused_reason=reason,
        )
    )


def test_campaigns_page_shows_the_queue_health(clean_app, client_a, org_a, org_b):
    with clean_app.app_context():
        session = db.session
        session.get(Organization, org_a.org_id).timezone = "Europe/Paris"
        due_world(session, org_a.org_id, utcnow())
        session.add(
            JobRun(
                name=PROCESSING_JOB,
                started_at=utcnow() - timedelta(seconds=40),
                finished_at=utcnow() - timedelta(seconds=38),
                ok=True,
                stats={"claimed": 12345, "sent": 12000, "retried": 0, "failed": 345},
            )
        )
        session.commit()
    html = client_a.get("/campaigns").get_data(as_text=True)
    assert 'id="queue-health"' in html
    assert 'id="sending-paused"' not in html
    assert '<span class="tile-value">4</span><span class="tile-label">messages due now' in html
    assert '<span class="tile-value">3</span><span class="tile-label">sent in the last hour' in html
    assert '<span class="tile-value">4</span><span class="tile-label">failed in the last 24' in html
    # One pass serves every organization: its counts are not this organization's to see.
    assert "Last processing pass:" in html and "12,345" not in html and "345 failed" not in html
    assert "CET" in html or "CEST" in html  # the viewer's zone, named
    # Each code with what it means (app.whatsapp.describe_code).
    assert "<code>131026</code></td><td>The message could not be delivered:" in html
    assert '</td><td class="num">2</td>' in html


def test_a_paused_account_shows_a_banner_with_its_reason(clean_app, client_a, org_a, org_b):
    with clean_app.app_context():
        pause_sending(db.session, org_a.org_id, "Access token expired (error 190).")
        db.session.commit()
    html = client_a.get("/campaigns").get_data(as_text=True)
    banner = html.split('id="sending-paused"', 1)[1].split("</div>", 1)[0]
    assert "Sending is paused" in banner
    assert "Access token expired (error 190)." in banner
    # The code with its words (app.whatsapp.describe_code), never bare.
    assert "(error 190: The WhatsApp access token has expired or is invalid" in banner
    assert "UTC" in banner  # the pause time, zone named
    # The banner is the first thing after the page heading.
    assert html.index('id="sending-paused"') < html.index('id="queue-health"')


def test_another_organizations_pause_is_not_shown(clean_app, client_a, org_a, org_b):
    with clean_app.app_context():
        pause_sending(db.session, org_b.org_id, "Globex's token expired.")
        db.session.commit()
    html = client_a.get("/campaigns").get_data(as_text=True)
    assert 'id="sending-paused"' not in html
    assert "Globex" not in html


@pytest.mark.parametrize("state", ["running", "failed"])
def test_the_last_pass_running_or_failed_is_said(clean_app, client_a, org_a, state):
    with clean_app.app_context():
        run = JobRun(name=PROCESSING_JOB, started_at=utcnow())
        if state == "failed":
            run.finished_at, run.ok, run.error = utcnow(), False, "RuntimeError: database gone"
        db.session.add(run)
        db.session.commit()
    html = client_a.get("/campaigns").get_data(as_text=True)
    expected = {"running": "has been running since", "failed": "The last processing pass failed"}
    assert expected[state] in html
    # The error may name any organization's data: it stays in the operator's records.
    assert "database gone" not in html


def test_a_log_waiting_for_a_retry_is_not_stale_while_its_enrollment_lives(session, org_a):
    """A paused account's messages wait for the fix, however long; once the enrollment has
    ended nobody will retry them, and the stale rule closes them."""
    campaign = make_campaign(session, org_a.org_id)
    contact = make_contacts(session, org_a.org_id, 1)[0]
    enrollment.enroll(session, campaign, contact_ids=[contact.id], now=NOW)
    row = session.scalars(select(DripEnrollment)).one()
    log = DripMessageLog(
        organization_id=org_a.org_id,
        enrollment_id=row.id,
        campaign_id=campaign.id,
        step_id=row.current_step_id,
        contact_id=contact.id,
        status="pending",
        attempts=1,
        created_at=NOW,
        retry_at=NOW,
        error_code="190",
    )
    session.add(log)
    session.commit()
    later = NOW + timedelta(days=3)
    assert housekeeping.fail_stale_logs(session, later) == 0
    row.status = "stopped"
    session.commit()
    assert housekeeping.fail_stale_logs(session, later) == 1
    session.refresh(log)
    assert (log.status, log.error_code) == ("failed", "stale")
