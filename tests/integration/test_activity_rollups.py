"""The trigger-kept rollups against the logs themselves: after real sends, statuses in any
order, replies, failures and clicks, every count the analytics read equals a recount of the
logs (tests/support/activity_oracle.py); compaction changes no count; purged logs keep
theirs."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import func, select, update

from app.drip.analytics import activity, enrollment_counts, rollups
from app.drip.analytics.funnels import funnel
from app.drip.analytics.local_days import LocalDays
from app.drip.engagement.apply import apply_inbound, apply_statuses
from app.drip.enrollment import actions as enrollment
from app.drip.sending import housekeeping
from app.extensions import db
from app.models import DripActivityRollup, DripEnrollment, DripMessageLog
from app.tasks.processing import run_processing_pass
from app.whatsapp.events import InboundMessageEvent, StatusUpdate
from tests.integration.enrollment_world import NOW, make_campaign, make_contacts
from tests.support import activity_oracle
from tests.support.window import wrote_to_us

HOUR = timedelta(hours=1)
FAILURE = [{"code": 131026, "title": "Message undeliverable"}]


def every_count(session, campaign_id: int, source, enrollments=None) -> dict:
    """Everything the analytics read, from the rollups (activity and enrollment_counts) or
    from the logs and enrollments (the oracle)."""
    enrollments = enrollments or source
    totals = source.step_totals(session, [campaign_id])
    start, end = NOW - 10 * HOUR, NOW + 100 * HOUR
    # Kolkata's clock is 5:30 ahead: days do not start on a UTC hour.
    days = LocalDays.between(ZoneInfo("Asia/Kolkata"), start, end)
    return {
        "totals": {
            key: counts.values for key, counts in totals.items() if any(counts.values.values())
        },
        "events": sorted(source.event_days(session, [campaign_id], start, end, days)),
        "cohorts": sorted(source.cohort_days(session, campaign_id, None, None, days)),
        "read_delays": source.delays(session, campaign_id, "read"),
        "reply_delays": source.delays(session, campaign_id, "replied"),
        "failures": source.failures_by_code(session, campaign_id),
        "statuses": enrollments.status_totals(session, [campaign_id]),
        "drop_offs": enrollments.drop_offs(session, campaign_id),
        "cohort_sizes": enrollments.cohort_sizes(session, campaign_id, None, None, days),
        "enrollment_events": sorted(
            enrollments.enrollment_days(session, [campaign_id], start, end, days)
        ),
    }


def statuses_for(rng: random.Random, logs, start) -> list[StatusUpdate]:
    """Delivered, read or failed for some messages, shuffled and sometimes repeated, with a
    delivery reported later than (or missing before) the read."""
    updates = []
    for log in logs:
        sent = start + timedelta(seconds=rng.randint(0, 60))
        choice = rng.random()
        if choice < 0.1:
            updates.append(StatusUpdate(log.wamid, "failed", sent, errors=FAILURE))
            continue
        if choice < 0.8:
            updates.append(StatusUpdate(log.wamid, "delivered", sent + timedelta(seconds=5)))
        if choice < 0.5:
            updates.append(
                StatusUpdate(log.wamid, "read", sent + timedelta(seconds=rng.randint(6, 9000)))
            )
    updates += rng.sample(updates, k=len(updates) // 5)  # Meta repeats itself
    rng.shuffle(updates)
    return updates


@pytest.fixture
def sending_campaign(clean_app, org_a):
    with clean_app.app_context():
        session = db.session
        campaign = make_campaign(
            session, org_a.org_id, steps=((0, "minutes"), (1, "hours"), (1, "hours"))
        )
        contacts = make_contacts(session, org_a.org_id, 30)
        wrote_to_us(session, NOW)  # text steps: the contacts' window is open (3 hours of sends)
        enrollment.enroll(session, campaign, contact_ids=[c.id for c in contacts], now=NOW)
        session.commit()
        return campaign.id


def run_campaign(app, org_id: int, campaign_id: int, seed: int) -> None:
    """Three passes an hour apart, each followed by shuffled statuses, a few replies and
    clicks, committed in several transactions."""
    rng = random.Random(seed)
    with app.app_context():
        session = db.session
        for hour in range(3):
            at = NOW + hour * HOUR
            run_processing_pass(at)
            fresh = session.scalars(
                select(DripMessageLog).where(
                    DripMessageLog.campaign_id == campaign_id,
                    DripMessageLog.created_at == at,
                )
            ).all()
            updates = statuses_for(rng, fresh, at)
            for start in range(0, len(updates), 7):
                apply_statuses(session, org_id, updates[start : start + 7], now=at)
                session.commit()
            for log in rng.sample(fresh, k=min(3, len(fresh))):
                phone = session.scalar(
                    select(DripEnrollment.contact_id).where(DripEnrollment.id == log.enrollment_id)
                )
                reply_at = at + timedelta(seconds=rng.randint(10, 4000))
                apply_inbound(session, org_id, _reply(session, phone, reply_at, log.wamid))
                session.commit()
            clicked = [log.id for log in rng.sample(fresh, k=min(2, len(fresh)))]
            session.execute(
                update(DripMessageLog)
                .where(DripMessageLog.id.in_(clicked), DripMessageLog.clicked_at.is_(None))
                .values(clicked_at=at + 10 * timedelta(minutes=1))
            )
            session.commit()


def _reply(session, contact_id: int, at, wamid: str) -> InboundMessageEvent:
    from app.models import Contact

    phone = session.get(Contact, contact_id).phone.lstrip("+")
    return InboundMessageEvent(
        message_id=f"wamid.in.{contact_id}.{at.timestamp()}",
        from_phone=phone,
        timestamp=at,
        message_type="text",
        text="Thanks!",
        context_wamid=wamid,
    )


@pytest.mark.parametrize("seed", [1, 2])
def test_rollups_equal_a_recount_of_the_logs(clean_app, org_a, sending_campaign, seed):
    run_campaign(clean_app, org_a.org_id, sending_campaign, seed)
    with clean_app.app_context():
        session = db.session
        counted = every_count(session, sending_campaign, activity, enrollment_counts)
        assert counted == every_count(session, sending_campaign, activity_oracle)
        totals = counted["totals"]
        assert sum(c["reached"] for c in totals.values()) > 30  # the scenario did send
        assert sum(c["read"] for c in totals.values()) > 0
        assert sum(c["failed"] for c in totals.values()) > 0
        assert sum(c["replied"] for c in totals.values()) > 0
        assert counted["read_delays"] and counted["reply_delays"]


def test_compaction_merges_rows_and_changes_no_count(clean_app, org_a, sending_campaign):
    run_campaign(clean_app, org_a.org_id, sending_campaign, seed=3)
    with clean_app.app_context():
        session = db.session
        before = every_count(session, sending_campaign, activity, enrollment_counts)
        rows_before = session.scalar(select(func.count(DripActivityRollup.id)))
        first = rollups.compact_all(session, {})
        session.commit()
        rows_after = session.scalar(select(func.count(DripActivityRollup.id)))
        assert all(stats["merged_keys"] > 0 for stats in first.values())
        assert rows_after < rows_before
        assert every_count(session, sending_campaign, activity, enrollment_counts) == before
        watermarks = {name: stats["watermark"] for name, stats in first.items()}
        again = rollups.compact_all(session, watermarks)
        session.commit()
        assert every_count(session, sending_campaign, activity, enrollment_counts) == before
        # One row per key: nothing was appended since, so nothing is folded again.
        assert session.scalar(select(func.count(DripActivityRollup.id))) == rows_after
        assert {name: stats["merged_keys"] for name, stats in again.items()} == dict.fromkeys(
            watermarks, 0
        )


def test_purged_logs_keep_their_counts(clean_app, org_a, sending_campaign):
    run_campaign(clean_app, org_a.org_id, sending_campaign, seed=4)
    with clean_app.app_context():
        session = db.session
        before = funnel(session, org_a.org_id, sending_campaign)
        deleted = housekeeping.delete_old_logs_batch(session, NOW + 400 * 24 * HOUR, days=90)
        session.commit()
        assert deleted > 0
        assert funnel(session, org_a.org_id, sending_campaign) == before
        assert activity_oracle.step_totals(session, [sending_campaign]) != {
            key: counts for key, counts in activity.step_totals(session, [sending_campaign]).items()
        }


@pytest.mark.parametrize(
    "zone", ["America/New_York", "Australia/Lord_Howe", "Asia/Kathmandu", "Europe/London"]
)
def test_local_days_in_sql_agree_with_the_zone_database(clean_app, org_a, zone):
    """Sends every 20 minutes across a daylight-saving change (30 minutes on Lord Howe
    Island), counted per local day by the SQL arithmetic and by Python's zoneinfo."""
    with clean_app.app_context():
        session = db.session
        campaign = make_campaign(session, org_a.org_id, steps=((0, "minutes"),))
        sends = 3 * 24 * 3
        contacts = make_contacts(session, org_a.org_id, sends)
        enrollment.enroll(session, campaign, contact_ids=[c.id for c in contacts], now=NOW)
        session.flush()
        rows = session.scalars(select(DripEnrollment).order_by(DripEnrollment.id)).all()
        start = datetime(2026, 10, 31, tzinfo=UTC)
        session.add_all(
            DripMessageLog(
                organization_id=org_a.org_id,
                enrollment_id=row.id,
                campaign_id=campaign.id,
                step_id=row.current_step_id,
                contact_id=row.contact_id,
                status="sent",
                created_at=start + i * timedelta(minutes=20),
                sent_at=start + i * timedelta(minutes=20),
                wamid=f"wamid.dst.{i}",
            )
            for i, row in enumerate(rows)
        )
        session.flush()
        end = start + timedelta(days=3)
        days = LocalDays.between(ZoneInfo(zone), start, end)
        counted = sorted(activity.event_days(session, [campaign.id], start, end, days, ("sent",)))
        expected = sorted(
            activity_oracle.event_days(session, [campaign.id], start, end, days, ("sent",))
        )
        session.rollback()
    assert counted == expected
    assert sum(n for *_, n in counted) == 3 * 24 * 3
    assert len(counted) >= 3  # the sends span three or four local days
