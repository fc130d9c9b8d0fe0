"""Analytics on a large campaign: 1,000,000 enrollments and about 4,000,000 message logs on
PostgreSQL; the time of each analytics type and of the dashboard page.

    .venv/bin/python bench/analytics.py [--enrollments 1000000] [--keep] [--reuse]

Loads a scratch schema (migrated with flask_migrate.upgrade) with set-based INSERT ... SELECT:
one five-step campaign on New York's clock, enrollments spread over the last 90 days, each
reaching 0-5 steps (60% complete), logs sent / delivered / read / replied / clicked / failed
in realistic shares. Then times funnel, engagement, a 90-day time series, week and day
cohorts, a cohort comparison and the dashboard page (goals, issue 6: funnel, engagement and
the time series under 500 ms, cohorts under 1 s, the page under 1.5 s), each the median of
five runs after one warm-up, and prints the peak RSS. --keep leaves the schema for --reuse.
"""

from __future__ import annotations

import argparse
import os
import resource
import statistics
import sys
import time
from datetime import date, timedelta
from pathlib import Path

from flask_migrate import upgrade
from sqlalchemy import select, text

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from app import create_app
from app.config import TestConfig
from app.drip import accounts
from app.drip.analytics import funnels as funnel
from app.drip.analytics import rollups
from app.extensions import db
from app.models import DripCampaign, DripCampaignStep, Organization, User
from tests.support.scratch import drop_schema, scratch_schema

DEFAULT_URL = os.environ.get("TEST_DATABASE_URL") or "postgresql://postgres@127.0.0.1:5432/test"
SCHEMA = "drip_bench_analytics"
EMAIL, PASSWORD = "bench@drip.example", "bench-password-1"
STEPS = 5
LOG_CHUNK = 50_000  # enrollments per INSERT of their logs

ENROLLMENTS_SQL = """
INSERT INTO drip_enrollments (organization_id, campaign_id, contact_id, status, stop_reason,
    enrolled_at, completed_at, stopped_at, last_step_id, current_step_id, retry_count, updated_at)
SELECT :org, :campaign, c.id,
    CASE WHEN k = 5 THEN 'completed'
         WHEN why = 0 THEN 'active' WHEN why = 1 THEN 'stopped' WHEN why = 2 THEN 'unsubscribed'
         WHEN why = 3 THEN 'failed' ELSE 'stopped' END,
    CASE WHEN k < 5 AND why = 1 THEN 'replied' WHEN k < 5 AND why = 4 THEN 'manual' END,
    enrolled,
    CASE WHEN k = 5 THEN enrolled + interval '4 days 1 minute' END,
    CASE WHEN k < 5 AND why > 0 THEN enrolled + interval '1 day' END,
    CASE WHEN k > 0 THEN (:steps)[k] END,
    (:steps)[greatest(k, 1)], 0, now()
FROM (
    SELECT c.id, c.n,
        CASE WHEN r < 60 THEN 5 WHEN r < 70 THEN 4 WHEN r < 80 THEN 3 WHEN r < 90 THEN 2
             WHEN r < 98 THEN 1 ELSE 0 END AS k,
        (c.n * 104729) % 5 AS why,
        now() - ((c.n % 90) * interval '1 day') - ((c.n * 7) % 1440) * interval '1 minute'
            AS enrolled
    FROM (SELECT id, row_number() OVER (ORDER BY id) AS n, (id * 7919) % 100 AS r
          FROM contacts WHERE organization_id = :org) c
) c
"""

LOGS_SQL = """
INSERT INTO drip_message_logs (organization_id, enrollment_id, campaign_id, step_id, contact_id,
    status, wamid, attempts, error_code, sent_at, delivered_at, read_at, replied_at, clicked_at,
    failed_at, created_at, updated_at)
SELECT :org, e.id, :campaign, (:steps)[p], e.contact_id,
    CASE WHEN h >= 970 THEN 'failed' WHEN h < 550 THEN 'read' WHEN h < 930 THEN 'delivered'
         ELSE 'sent' END,
    CASE WHEN h < 970 THEN 'wamid.bench.' || e.id || '.' || p END, 1,
    CASE WHEN h >= 985 THEN '131026' WHEN h >= 970 THEN '131047' END,
    CASE WHEN h < 970 THEN at END,
    CASE WHEN h < 930 THEN at + interval '20 seconds' END,
    CASE WHEN h < 550 THEN at + ((h * 37) % 7200) * interval '1 second' END,
    CASE WHEN h % 100 < 8 AND h < 970 THEN at + ((h * 53) % 20000) * interval '1 second' END,
    CASE WHEN h % 100 BETWEEN 8 AND 12 AND h < 970 THEN at + interval '5 minutes' END,
    CASE WHEN h >= 970 THEN at END,
    at, at
FROM (
    SELECT e.id, e.contact_id, p, e.enrolled_at + (p - 1) * interval '1 day' + interval '1 minute'
               AS at,
           ((e.id * 31 + p * 17) * 2654435761) % 1000 AS h
    FROM drip_enrollments e
    JOIN drip_campaign_steps s ON s.id = e.last_step_id
    CROSS JOIN generate_series(1, :n_steps) p
    WHERE e.campaign_id = :campaign AND p <= s.position AND e.id BETWEEN :low AND :high
) e
"""


MIGRATIONS = str(Path(__file__).resolve().parent.parent / "migrations")
# The rows are loaded before the rollup migration, which then counts them set-based (and is
# timed): loading 4,000,000 logs through the triggers, chunk by chunk, takes many minutes.
BEFORE_ROLLUPS = "0005"


def load(app, enrollments: int) -> int:
    """Build the organization, campaign and rows; the campaign id."""
    with app.app_context():
        upgrade(directory=MIGRATIONS, revision=BEFORE_ROLLUPS)
        session = db.session
        org = accounts.create_organization(session, "Bench")
        accounts.create_user(session, org, EMAIL, PASSWORD)
        campaign = DripCampaign(
            organization_id=org.id, name="Big welcome", status="active",
            window_timezone="America/New_York",
        )  # fmt: skip
        session.add(campaign)
        session.flush()
        steps = [
            DripCampaignStep(
                organization_id=org.id,
                campaign_id=campaign.id,
                position=i,
                name=f"Day {i}",
                delay_amount=1,
                delay_unit="days",
                message_content="Hello {{first_name|there}}",
            )
            for i in range(1, STEPS + 1)
        ]
        session.add_all(steps)
        session.flush()
        started = time.perf_counter()
        session.execute(
            text(
                "INSERT INTO contacts (organization_id, phone, first_name, attributes,"
                " created_at, updated_at) SELECT :org, '+1202' || lpad(g::text, 7, '0'),"
                " 'P' || g, '{}', now(), now() FROM generate_series(1, :n) g"
            ),
            {"org": org.id, "n": enrollments},
        )
        params = {"org": org.id, "campaign": campaign.id, "steps": [s.id for s in steps]}
        session.execute(text(ENROLLMENTS_SQL), params)
        session.commit()
        # In chunks: one 4,000,000-row statement holds its whole transaction's work at once.
        low, high = session.execute(text("SELECT min(id), max(id) FROM drip_enrollments")).one()
        for start in range(low, high + 1, LOG_CHUNK):
            chunk = {"low": start, "high": start + LOG_CHUNK - 1}
            session.execute(text(LOGS_SQL), {**params, **chunk, "n_steps": STEPS})
            session.commit()
        logs = session.scalar(text("SELECT count(*) FROM drip_message_logs"))
        print(f"loaded {enrollments:,} enrollments, {logs:,} logs in "
              f"{time.perf_counter() - started:.1f} s")  # fmt: skip
        campaign_id = campaign.id
    migrate_to_head(app)
    analyze(app)
    return campaign_id


def migrate_to_head(app) -> None:
    with app.app_context():
        started = time.perf_counter()
        upgrade(directory=MIGRATIONS)
        took = time.perf_counter() - started
        print(f"migrations to head (rollups counted from the rows) in {took:.1f} s")


def compact(session) -> None:
    """What the compact_rollups job does every five minutes."""
    count = (
        "SELECT (SELECT count(*) FROM drip_activity_rollups)"
        " + (SELECT count(*) FROM drip_enrollment_rollups)"
    )
    before, started = session.scalar(text(count)), time.perf_counter()
    rollups.compact_all(session, {})
    session.commit()
    after = session.scalar(text(count))
    took = time.perf_counter() - started
    print(f"compacted rollups {before:,} -> {after:,} rows in {took:.1f} s")


def analyze(app) -> None:
    with app.app_context(), db.engine.connect() as conn:
        conn.execution_options(isolation_level="AUTOCOMMIT").execute(text("VACUUM ANALYZE"))


def timed(label: str, call, runs: int = 5) -> float:
    call()  # warm-up: plans, caches
    samples = []
    for _ in range(runs):
        started = time.perf_counter()
        call()
        samples.append((time.perf_counter() - started) * 1000)
    median = statistics.median(samples)
    print(f"{label:<34} median {median:8.1f} ms   (min {min(samples):.1f}, max {max(samples):.1f})")
    return median


def run(app, campaign_id: int) -> None:
    with app.app_context():
        session = db.session
        org_id = session.scalar(select(Organization.id).where(Organization.name == "Bench"))
        today = date.today()
        reports = {
            "funnel": lambda: funnel.funnel(session, org_id, campaign_id),
            "engagement": lambda: funnel.engagement(session, org_id, campaign_id),
            "timeseries (90 days)": lambda: funnel.timeseries(
                session, org_id, campaign_id, today - timedelta(days=89), today
            ),
            "cohorts (week)": lambda: funnel.cohorts(session, org_id, campaign_id, "week"),
            "cohorts (day)": lambda: funnel.cohorts(session, org_id, campaign_id, "day"),
            "compare two 30-day ranges": lambda: funnel.compare(
                session,
                org_id,
                campaign_id,
                (today - timedelta(days=89), today - timedelta(days=60)),
                (today - timedelta(days=29), today),
            ),
            "overview (all campaigns)": lambda: funnel.overview(session, org_id),
        }
        for label, call in reports.items():
            timed(label, lambda call=call: (call(), session.rollback()))
        user_id = session.scalar(select(User.id).where(User.email == EMAIL))
    client = app.test_client()
    client.post("/login", data={"email": EMAIL, "password": PASSWORD})
    page = f"/campaigns/{campaign_id}/analytics"
    status = client.get(page).status_code
    if status == 200:
        timed("dashboard page", lambda: client.get(page))
    else:
        print(f"dashboard page {page}: HTTP {status} (user {user_id})")
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"peak RSS of this process (loader + web): {peak:.0f} MB")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--enrollments", type=int, default=1_000_000)
    parser.add_argument("--url", default=DEFAULT_URL)
    parser.add_argument("--keep", action="store_true", help="leave the schema for --reuse")
    parser.add_argument("--reuse", action="store_true", help="use the schema a --keep run left")
    args = parser.parse_args()
    if args.reuse:
        separator = "&" if "?" in args.url else "?"
        url = f"{args.url}{separator}options=-csearch_path%3D{SCHEMA}"
    else:
        url = scratch_schema(args.url, SCHEMA)
    app = create_app(TestConfig(database_url=url))
    try:
        if args.reuse:
            migrate_to_head(app)
            with app.app_context():
                campaign_id = db.session.scalar(select(DripCampaign.id))
                compact(db.session)
            analyze(app)
        else:
            campaign_id = load(app, args.enrollments)
        run(app, campaign_id)
    finally:
        with app.app_context():
            db.engine.dispose()
        if not args.keep and not args.reuse:
            drop_schema(args.url, SCHEMA)


if __name__ == "__main__":
    main()
