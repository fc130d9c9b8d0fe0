"""Webhook ingest on PostgreSQL: gunicorn serving the app, 4 concurrent senders posting signed
deliveries of 25 statuses (of existing message logs) for ~10 s.

    .venv/bin/python bench/webhook_ingest.py [--seconds 10] [--senders 4] [--workers 4]
        [--logs 6000] [--batch 25] [--branch]

Prints status events applied per second (goal >= 3,000/s), p50/p99 latency per request
(goal p99 < 250 ms), the web workers' CPU ms per status event (goal <= 0.2: the CPU inside
requests, summed by bench/load_cpu.py's hooks, and the workers' whole CPU, HTTP parsing
included, from /proc/<pid>/schedstat) and the peak RSS of each gunicorn worker.
bench/webhook_cpu.py measures the same in one process. With --branch the logs' step branches
on a read (read -> step 2, otherwise the next step after a day) and every enrollment waits on
it: each read then decides a branch in the webhook's transaction (the worst case).
"""

from __future__ import annotations

import argparse
import http.client
import json
import shutil
import statistics
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from flask_migrate import upgrade  # noqa: E402
from sqlalchemy import func, select, text  # noqa: E402

from app import create_app  # noqa: E402
from app.config import Config  # noqa: E402
from app.drip import accounts  # noqa: E402
from app.extensions import db  # noqa: E402
from app.models import WebhookEvent, WhatsAppStatusEvent  # noqa: E402
from app.whatsapp.webhook import SIGNATURE_HEADER, signature_for  # noqa: E402
from bench import load_cpu  # noqa: E402
from bench.harness import PG, gunicorn, percentile  # noqa: E402
from tests.integration.enrollment_world import live_steps, make_campaign  # noqa: E402
from tests.support.accounts import set_verified_account  # noqa: E402
from tests.support.scratch import (  # noqa: E402
    drop_schema,
    enroll_generated_contacts,
    scratch_schema,
)

SCHEMA = "bench_webhook_ingest"
SECRET_KEY = "bench-secret-key"
APP_SECRET = "bench_app_secret"
PHONE_ID = "100000000000042"
BATCH = 25
STATUSES = ("sent", "delivered", "read")


def prepare(url: str, logs: int, branch: bool = False) -> list[str]:
    """An organization with the account, `logs` contacts enrolled, one sent log each; the
    logs' wamids."""
    app = create_app(Config(secret_key=SECRET_KEY, database_url=url))
    with app.app_context():
        upgrade()
        session = db.session
        org = accounts.create_organization(session, "Bench")
        set_verified_account(app, session, org, PHONE_ID, APP_SECRET)
        campaign = make_campaign(session, org.id, steps=((0, "minutes"), (1, "days")))
        if branch:
            first, second = live_steps(session, campaign)
            campaign.stop_on_reply = False
            first.branch = {
                "waitAmount": 1,
                "waitUnit": "days",
                "conditions": [{"event": "read", "goTo": second.id}],
                "onTimeout": "next",
            }
        enroll_generated_contacts(session, org.id, campaign, logs)
        session.execute(
            text(
                "INSERT INTO drip_message_logs (organization_id, enrollment_id, campaign_id,"
                " step_id, contact_id, status, wamid, attempts, sent_at, created_at, updated_at)"
                " SELECT e.organization_id, e.id, e.campaign_id, e.current_step_id, e.contact_id,"
                " 'sent', 'wamid.BENCH.' || e.id, 1, now() - interval '2 hours', now(), now()"
                " FROM drip_enrollments e"
            )
        )
        if branch:  # sent a moment ago, now waiting on the branch
            session.execute(
                text(
                    "UPDATE drip_enrollments SET last_step_id = current_step_id,"
                    " wait_reason = 'branch', last_sent_at = now() - interval '2 hours',"
                    " next_send_at = now() + interval '22 hours'"
                )
            )
        session.commit()
        wamids = session.scalars(text("SELECT wamid FROM drip_message_logs ORDER BY id")).all()
        db.engine.dispose()
    return list(wamids)


def bodies(wamids: list[str], batch: int = BATCH) -> list[bytes]:
    """Deliveries of `batch` statuses each: every log's sent, then delivered, then read."""
    out = []
    at = int(time.time()) - 3600
    for k, name in enumerate(STATUSES):
        for i in range(0, len(wamids), batch):
            statuses = [
                {"id": w, "status": name, "timestamp": str(at + k), "recipient_id": "1202"}
                for w in wamids[i : i + batch]
            ]
            value = {"messaging_product": "whatsapp", "metadata": {"phone_number_id": PHONE_ID}}
            value["statuses"] = statuses
            change = {"field": "messages", "value": value}
            payload = {"object": "whatsapp_business_account", "entry": [{"changes": [change]}]}
            out.append(json.dumps(payload, separators=(",", ":")).encode())
    return out


def sender(port: int, queue: list[bytes], lock, deadline: float, latencies: list, errors: list):
    while time.time() < deadline:
        with lock:
            if not queue:
                return
            body = queue.pop(0)
        headers = {
            "Content-Type": "application/json",
            SIGNATURE_HEADER: signature_for(body, APP_SECRET),
        }
        started = time.perf_counter()
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
        try:
            conn.request("POST", "/api/webhooks/whatsapp", body=body, headers=headers)
            response = conn.getresponse()
            answer = response.read()
        finally:
            conn.close()
        latencies.append(time.perf_counter() - started)
        if response.status != 200 or b'"deferred"' in answer:
            errors.append((response.status, answer[:200]))


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--seconds", type=float, default=10)
    parser.add_argument("--senders", type=int, default=4)
    parser.add_argument("--workers", type=int, default=4)
    parser.add_argument("--logs", type=int, default=6000)
    parser.add_argument("--batch", type=int, default=BATCH, help="statuses per delivery")
    parser.add_argument("--branch", action="store_true", help="every read decides a branch")
    args = parser.parse_args()

    url = scratch_schema(PG, SCHEMA)
    wamids = prepare(url, args.logs, args.branch)
    queue = bodies(wamids, args.batch)
    cpu_dir = tempfile.mkdtemp(prefix="drip_webhook_cpu_")
    hooks = {"GUNICORN_CMD_ARGS": f"--config {ROOT / 'bench' / 'load_cpu.py'}"}
    with gunicorn(url, SECRET_KEY, args.workers, env={**hooks, "LOAD_CPU_DIR": cpu_dir}) as server:
        workers = server.worker_pids()
        in_requests_before = load_cpu.read_sums(cpu_dir)
        cpu_before = worker_cpu_s(workers)
        lock = threading.Lock()
        latencies: list[float] = []
        errors: list = []
        started = time.time()
        deadline = started + args.seconds
        threads = [
            threading.Thread(
                target=sender, args=(server.port, queue, lock, deadline, latencies, errors)
            )
            for _ in range(args.senders)
        ]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        elapsed = time.time() - started
        time.sleep(0.2)  # the last post_request hooks write their sums after the answer
        worker_cpu = worker_cpu_s(workers) - cpu_before
        in_requests = load_cpu.read_sums(cpu_dir)
        memory = server.peak_rss_mb()
    shutil.rmtree(cpu_dir, ignore_errors=True)
    rss, master_rss = memory["workers"], memory["master"]

    app = create_app(Config(secret_key=SECRET_KEY, database_url=url))
    with app.app_context():
        applied = db.session.scalar(select(func.count()).select_from(WhatsAppStatusEvent))
        events = db.session.scalar(select(func.count()).select_from(WebhookEvent))
        unapplied = db.session.scalar(
            select(func.count()).select_from(WebhookEvent).where(WebhookEvent.applied_at.is_(None))
        )
        decided = db.session.scalar(
            text("SELECT count(*) FROM drip_enrollments WHERE via = 'read'")
        )
        db.engine.dispose()
    drop_schema(PG, SCHEMA)

    p99 = percentile(latencies, 0.99) or 0
    request_ms = in_requests["webhook_ms"] - in_requests_before["webhook_ms"]
    result = {
        "requests": len(latencies),
        "errors": len(errors),
        "first_error": errors[0] if errors else None,
        "elapsed_s": round(elapsed, 2),
        "status_events_applied": applied,
        "webhook_events": events,
        "webhook_events_unapplied": unapplied,
        "branches_decided": decided,
        "events_per_s": round(applied / elapsed, 1),
        "p50_ms": round(statistics.median(latencies) * 1000, 1) if latencies else None,
        "p99_ms": round(p99 * 1000, 1),
        "cpu_ms_per_status_in_requests": round(request_ms / applied, 4) if applied else None,
        "cpu_ms_per_status_workers": round(worker_cpu * 1000 / applied, 4) if applied else None,
        "worker_peak_rss_mb": rss,
        "master_peak_rss_mb": master_rss,
    }
    print(json.dumps(result, default=str))
    print(
        f"{result['events_per_s']:,.0f} status events/s (goal >= 3,000), "
        f"p50 {result['p50_ms']} ms, p99 {result['p99_ms']} ms (goal < 250), "
        f"CPU {result['cpu_ms_per_status_in_requests']} ms per status event in requests "
        f"({result['cpu_ms_per_status_workers']} ms whole workers; goal <= 0.2), "
        f"peak RSS per worker {rss} MB"
    )


def worker_cpu_s(pids: list[int]) -> float:
    """The CPU seconds the processes have run: /proc/<pid>/schedstat's first field, the
    scheduler's exact count (utime + stime of /proc/<pid>/stat are sampled ticks, which read
    half of the in-request sums on this machine). A sync worker runs one thread."""
    total = 0
    for pid in pids:
        try:
            with open(f"/proc/{pid}/schedstat") as file:
                total += int(file.read().split()[0])
        except (OSError, ValueError, IndexError):
            continue
    return total / 1e9


if __name__ == "__main__":
    main()
