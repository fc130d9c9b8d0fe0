"""Enroll 100,000 tagged contacts in a campaign on PostgreSQL: time and peak RSS.

    .venv/bin/python bench/enroll_by_tag.py [--contacts 100000] [--url postgresql://...]

Builds a scratch schema (migrated with flask_migrate.upgrade), bulk-inserts the contacts in
SQL (1% opted out, time zones spread over five values including none), a campaign with three
steps and a weekday 09:00-20:00 window on each contact's clock, then times enroll(tag=...)
plus the commit (goal, issue 3: under 10 s), then the same again, when every contact is
skipped and reported. The schema is dropped at the end.
"""

from __future__ import annotations

import argparse
import os
import resource
import sys
import time as clock
from datetime import time
from pathlib import Path
from urllib.parse import quote

from flask_migrate import upgrade
from sqlalchemy import create_engine, text

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from app import create_app
from app.config import TestConfig, normalize_database_url
from app.drip import accounts
from app.drip.enrollment.enrolling import enroll
from app.extensions import db
from app.models import DripCampaign, DripCampaignStep
from tests.support.scratch import drop_statements

DEFAULT_URL = os.environ.get("TEST_DATABASE_URL") or "postgresql://postgres@127.0.0.1:5432/test"
TAG = "bench"


def schema_url(base: str, schema: str) -> str:
    separator = "&" if "?" in base else "?"
    return f"{base}{separator}options={quote(f'-csearch_path={schema}')}"


def admin(base: str, statement: str) -> None:
    engine = create_engine(normalize_database_url(base), isolation_level="AUTOCOMMIT")
    with engine.connect() as conn:
        conn.execute(text(statement))
    engine.dispose()


def populate(org_id: int, contacts: int, *, analyze: bool = True) -> DripCampaign:
    """Contacts, tag and campaign, written by the database itself (no Python loop)."""
    session = db.session
    session.execute(
        text(
            """
            INSERT INTO contacts (organization_id, phone, first_name, timezone, attributes,
                                  opted_out_at, created_at, updated_at)
            SELECT :org, '+1555' || lpad(i::text, 8, '0'), 'Contact ' || i,
                   (ARRAY['Europe/London', 'America/New_York', 'Asia/Tokyo', 'Europe/Paris',
                          NULL])[1 + i % 5],
                   '{}'::jsonb, CASE WHEN i % 100 = 0 THEN now() END, now(), now()
            FROM generate_series(1, :n) AS i
            """
        ),
        {"org": org_id, "n": contacts},
    )
    tag_id = session.execute(
        text(
            "INSERT INTO tags (organization_id, name, created_at) VALUES (:org, :tag, now())"
            " RETURNING id"
        ),
        {"org": org_id, "tag": TAG},
    ).scalar_one()
    session.execute(
        text(
            "INSERT INTO contact_tags (contact_id, tag_id, organization_id, created_at)"
            " SELECT id, :tag, :org, now() FROM contacts WHERE organization_id = :org"
        ),
        {"org": org_id, "tag": tag_id},
    )
    campaign = DripCampaign(
        organization_id=org_id,
        name="Bench",
        status="active",
        window_start=time(9),
        window_end=time(20),
        window_weekdays=[1, 2, 3, 4, 5],
        window_timezone="contact",
    )
    session.add(campaign)
    session.flush()
    for position, (amount, unit) in enumerate(((0, "minutes"), (1, "days"), (3, "days")), 1):
        session.add(
            DripCampaignStep(
                organization_id=org_id,
                campaign_id=campaign.id,
                position=position,
                name=f"Step {position}",
                delay_amount=amount,
                delay_unit=unit,
                message_content="Hello {{first_name|there}}",
            )
        )
    session.commit()
    if analyze:
        for table in ("contacts", "tags", "contact_tags", "drip_enrollments"):
            session.execute(text(f"ANALYZE {table}"))
        session.commit()
    return campaign


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--contacts", type=int, default=100_000)
    parser.add_argument("--url", default=DEFAULT_URL, help="PostgreSQL URL (a scratch schema)")
    parser.add_argument(
        "--no-analyze", action="store_true", help="time it before the planner has statistics"
    )
    args = parser.parse_args()

    schema = f"bench_enroll_{os.getpid()}"
    admin(args.url, f'CREATE SCHEMA "{schema}"')
    try:
        app = create_app(TestConfig(database_url=schema_url(args.url, schema)))
        with app.app_context():
            upgrade()
            org = accounts.create_organization(db.session, "Bench", timezone="Europe/Berlin")
            db.session.commit()
            started = clock.perf_counter()
            campaign = populate(org.id, args.contacts, analyze=not args.no_analyze)
            prepared = clock.perf_counter() - started

            started = clock.perf_counter()
            result = enroll(db.session, campaign, tag=TAG)
            db.session.commit()
            elapsed = clock.perf_counter() - started

            # Again: now every contact is skipped (already_active), each one reported.
            started = clock.perf_counter()
            again = enroll(db.session, campaign, tag=TAG)
            db.session.commit()
            again_elapsed = clock.perf_counter() - started
            db.engine.dispose()
    finally:
        for statement in drop_statements(schema):
            admin(args.url, statement)

    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KiB on Linux
    print(f"contacts tagged      {args.contacts:>12,}   (set up in {prepared:.1f} s)")
    print(f"enrolled             {result.enrolled:>12,}")
    print(f"skipped              {len(result.skipped):>12,}   {result.counts()}")
    print(f"enroll + commit      {elapsed:>12.2f} s   (goal < 10 s)")
    print(f"rows per second      {result.enrolled / elapsed:>12,.0f}")
    print(f"again, all skipped   {again_elapsed:>12.2f} s   {again.counts()}")
    print(f"peak RSS (process)   {peak_mb:>12.1f} MB")


if __name__ == "__main__":
    main()
