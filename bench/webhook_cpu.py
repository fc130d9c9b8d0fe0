"""CPU per status event of the WhatsApp webhook, in one process: no gunicorn, no other
process's noise, so a change's effect shows on a shared 2-core machine.

    .venv/bin/python bench/webhook_cpu.py [--logs 6000] [--batch 25] [--branch] [--profile FILE]

The world of bench/webhook_ingest.py (an organization, `logs` sent message logs) on a scratch
PostgreSQL schema; the same signed deliveries (every log's sent, then delivered, then read,
`batch` statuses each) posted through Flask's test client one after another. Prints the
process CPU ms per status event (its user + system time: the database's own time is not in
it), SQL statements per delivery and, as a check, the events and logs it ended with. With
--profile, the posting runs under cProfile and the stats go to FILE (pstats).
"""

from __future__ import annotations

import argparse
import cProfile
import json
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from sqlalchemy import event, func, select, text  # noqa: E402

from app import create_app  # noqa: E402
from app.config import Config  # noqa: E402
from app.extensions import db  # noqa: E402
from app.models import WebhookEvent, WhatsAppStatusEvent  # noqa: E402
from app.whatsapp.webhook import SIGNATURE_HEADER, signature_for  # noqa: E402
from bench.harness import PG  # noqa: E402
from bench.webhook_ingest import APP_SECRET, SECRET_KEY, bodies, prepare  # noqa: E402
from tests.support.scratch import drop_schema, scratch_schema  # noqa: E402

SCHEMA = "bench_webhook_cpu"


def post_all(app, deliveries: list[bytes], profile: str | None) -> dict:
    """Post every delivery; the process CPU they took and the statements they ran."""
    client = app.test_client()
    statements = [0]

    def count(*_args, **_kwargs):
        statements[0] += 1

    with app.app_context():
        engine = db.engine
    event.listen(engine, "before_cursor_execute", count)
    profiler = cProfile.Profile(time.process_time) if profile else None
    failures = 0
    cpu_started, wall_started = time.process_time(), time.perf_counter()
    if profiler:
        profiler.enable()
    for body in deliveries:
        headers = {SIGNATURE_HEADER: signature_for(body, APP_SECRET)}
        answer = client.post(
            "/api/webhooks/whatsapp", data=body, headers=headers, content_type="application/json"
        )
        if answer.status_code != 200 or b'"deferred"' in answer.data:
            failures += 1
    if profiler:
        profiler.disable()
        profiler.dump_stats(profile)
    cpu = time.process_time() - cpu_started
    wall = time.perf_counter() - wall_started
    event.remove(engine, "before_cursor_execute", count)
    return {"cpu_s": cpu, "wall_s": wall, "statements": statements[0], "failures": failures}


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--logs", type=int, default=6000)
    parser.add_argument("--batch", type=int, default=25)
    parser.add_argument("--branch", action="store_true", help="every read decides a branch")
    parser.add_argument("--profile", help="write cProfile stats of the posting here")
    args = parser.parse_args()

    url = scratch_schema(PG, SCHEMA)
    try:
        deliveries = bodies(prepare(url, args.logs, args.branch), args.batch)
        app = create_app(Config(secret_key=SECRET_KEY, database_url=url))
        statuses = sum(body.count(b'"status":') for body in deliveries)
        # A first delivery outside the measure: imports, caches, the pool's connection.
        warm = post_all(app, deliveries[:1], None)
        measured = post_all(app, deliveries[1:], args.profile)
        # Posted again: every status is a repeat (replay-safe), and still costs CPU.
        replay = post_all(app, deliveries[1:], None)
        with app.app_context():
            session = db.session
            applied = session.scalar(select(func.count()).select_from(WhatsAppStatusEvent))
            unapplied = session.scalar(
                select(func.count())
                .select_from(WebhookEvent)
                .where(WebhookEvent.applied_at.is_(None))
            )
            by_status = dict(
                session.execute(
                    text("SELECT status, count(*) FROM drip_message_logs GROUP BY 1")
                ).all()
            )
            decided = session.scalar(
                text("SELECT count(*) FROM drip_enrollments WHERE via = 'read'")
            )
            db.engine.dispose()
    finally:
        drop_schema(PG, SCHEMA)
    count = statuses - args.batch  # the warm-up delivery's are not in the measure
    requests = len(deliveries) - 1
    result = {
        "deliveries": requests,
        "status_events": count,
        "failures": measured["failures"] + replay["failures"] + warm["failures"],
        "cpu_ms_per_status": round(measured["cpu_s"] * 1000 / count, 4),
        "cpu_ms_per_delivery": round(measured["cpu_s"] * 1000 / requests, 3),
        "wall_ms_per_delivery": round(measured["wall_s"] * 1000 / requests, 3),
        "statements_per_delivery": round(measured["statements"] / requests, 2),
        "replay_cpu_ms_per_status": round(replay["cpu_s"] * 1000 / count, 4),
        "replay_statements_per_delivery": round(replay["statements"] / requests, 2),
        "status_events_recorded": applied,
        "webhook_events_unapplied": unapplied,
        "logs_by_status": by_status,
        "branches_decided": decided,
    }
    print(json.dumps(result, default=str))
    print(
        f"{result['cpu_ms_per_status']} ms CPU per status event (goal <= 0.2), "
        f"{result['statements_per_delivery']} statements per {args.batch}-status delivery"
    )


if __name__ == "__main__":
    main()
