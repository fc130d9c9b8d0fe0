"""Partitioned history (migration 0018): how long the conversion of an existing database
takes and how long dropping one month's partition takes, on PostgreSQL, in a scratch schema.

It loads, with the schema at 0017, --logs message logs spread over 4 months and their
history: 3 status events per log, an inbound message per 10 logs, a webhook delivery
(~600-byte body) per 5 status events; then times `upgrade 0018` and a drop of the oldest
month. The logs are loaded with foreign keys and triggers off (their enrollments, steps...
are not loaded): 0018 reads them only for the status events' message_created_at, which the
copy takes from each event's log. Figures for 4 million logs are extrapolated linearly from
--logs when it is smaller (the conversion is an INSERT ... SELECT with a join on the log's
primary key, and index builds: linear, n log n at worst).

    PYTHONPATH=. .venv/bin/python bench/partitions.py --logs 400000
"""

from __future__ import annotations

import argparse
import os
import resource
import time
from datetime import UTC, datetime

from flask_migrate import upgrade
from sqlalchemy import text

from app import create_app
from app.config import TestConfig
from app.drip import sending
from app.extensions import db
from tests.support.scratch import drop_schema, scratch_schema

PG = os.environ.get("TEST_DATABASE_URL", "postgresql://postgres@127.0.0.1:5432/test")
SCHEMA = "bench_partitions"
TARGET_LOGS = 4_000_000
LOAD = {
    "drip_message_logs": "(id, organization_id, enrollment_id, campaign_id, step_id,"
    " contact_id, status, attempts, wamid, created_at, updated_at) SELECT g + 1, 1, g + 1, 1,"
    " 1, 1, 'read', 1, 'wamid.' || g, :start + (g::float / :n) * interval '120 days', now()"
    " FROM generate_series(0, :n - 1) g",
    "whatsapp_status_events": "(organization_id, message_log_id, wamid, status, occurred_at,"
    " received_at) SELECT 1, g / 3 + 1, 'wamid.' || (g / 3),"
    " (ARRAY['sent','delivered','read'])[g % 3 + 1],"
    " :start + (g::float / :n) * interval '120 days', :start + (g::float / :n) * interval"
    " '120 days' FROM generate_series(0, :n - 1) g",
    "inbound_messages": "(organization_id, wa_message_id, message_type, text, occurred_at,"
    " received_at) SELECT 1, 'wamid.IN.' || g, 'text', 'thanks',"
    " :start + (g::float / :n) * interval '120 days', now() FROM generate_series(0, :n - 1) g",
    "webhook_events": "(organization_id, body_sha256, body, received_at, applied_at, attempts)"
    " SELECT 1, md5(g::text) || md5((g + 1)::text), convert_to(repeat(md5(g::text), 19),"
    " 'UTF8'), :start + (g::float / :n) * interval '120 days', now(), 1"
    " FROM generate_series(0, :n - 1) g",
}
HISTORY = ("whatsapp_status_events", "inbound_messages", "webhook_events")
PER_LOG = {
    "drip_message_logs": 1,
    "whatsapp_status_events": 3,
    "inbound_messages": 0.1,
    "webhook_events": 0.6,
}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--logs", type=int, default=400_000)
    args = parser.parse_args()
    url = scratch_schema(PG, SCHEMA)
    app = create_app(TestConfig(database_url=url))
    try:
        with app.app_context():
            run(args.logs)
            db.engine.dispose()
    finally:
        drop_schema(PG, SCHEMA)
        drop_schema(PG, f"{SCHEMA}_history")


def run(logs: int) -> None:
    upgrade(revision="0017")
    start = datetime.now(UTC).replace(day=1, hour=0, minute=0, second=0, microsecond=0)
    start = start.replace(month=(start.month - 4) % 12 or 12, year=start.year - (start.month <= 4))
    with db.engine.begin() as conn:
        conn.execute(
            text(
                "INSERT INTO organizations (id, name, default_region, timezone,"
                " created_at, opt_out_keywords) VALUES (1, 'o', 'GB', 'UTC', now(),"
                " '[]')"
            )
        )
        # The logs' enrollments, steps... are not loaded, and their rollup triggers not run.
        conn.execute(text("SET LOCAL session_replication_role = replica"))
        loaded = {}
        for table, rows in LOAD.items():
            n = int(logs * PER_LOG[table])
            began = time.perf_counter()
            conn.execute(text(f"INSERT INTO {table} {rows}"), {"n": n, "start": start})
            loaded[table] = (n, time.perf_counter() - began)
        sizes = {
            t: conn.execute(text(f"SELECT pg_total_relation_size('{t}')")).scalar() for t in LOAD
        }
    began, cpu = time.perf_counter(), _cpu()
    upgrade(revision="0018")
    migrate = time.perf_counter() - began
    cpu = _cpu() - cpu
    session = db.session
    parts = sending.partitions.partitions(session, "whatsapp_status_events")
    oldest = parts[0]
    drops = []
    for table in HISTORY:
        victim = sending.partitions.partitions(session, table)[0]
        rows = session.execute(text(f"SELECT count(*) FROM {victim.qualified}")).scalar()
        began = time.perf_counter()
        session.execute(text(f"ALTER TABLE {table} DETACH PARTITION {victim.qualified}"))
        session.execute(text(f"DROP TABLE {victim.qualified}"))
        session.commit()
        drops.append((table, victim.name, rows, time.perf_counter() - began))
    scale = TARGET_LOGS / logs
    total_rows = sum(n for n, _ in loaded.values())
    print(f"history of {logs:,} logs ({total_rows:,} rows; oldest month {oldest.month}):")
    for table, (n, seconds) in loaded.items():
        print(f"  {table:24} {n:>11,} rows  {sizes[table] / 2**20:8.1f} MiB  load {seconds:6.1f} s")
    print(
        f"migration 0018: {migrate:.1f} s wall, client CPU {cpu:.2f} s (the work is PostgreSQL's)"
    )
    print(
        f"  extrapolated to {TARGET_LOGS:,} logs: {migrate * scale:.0f} s"
        f" ({migrate * scale / 60:.1f} min)"
    )
    for _table, name, rows, seconds in drops:
        print(f"drop {name}: {rows:,} rows in {seconds * 1000:.1f} ms")
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"peak memory (this process): {peak:.0f} MiB")


def _cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


if __name__ == "__main__":
    main()
