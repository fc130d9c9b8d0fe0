"""One worker process of bench/load.py: processing passes, as worker.py's recurring job runs
them, back to back for as long as the load runs.

    SECRET_KEY=... python bench/load_worker.py DATABASE_URL [--redis URL] [--batch 200]
        [--concurrency 64] [--interval 0.1] [--drain 60]

SECRET_KEY must be the key the WhatsApp accounts' tokens were encrypted with.

Prints "ready" once the app is built and a first pass has run (connections open), then starts
a pass at most every --interval seconds (a pass sends everything due, batch after batch). When
a line arrives on stdin (or stdin closes) it drains: it stops at the first pass that finds
nothing due, or after --drain seconds. Its last line is JSON: the passes' totals, the CPU
seconds (user + system, all threads) used from "ready" to the end with the messages sent in
that time, and the process's peak RSS.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import sys
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from app import create_app  # noqa: E402
from app.config import Config  # noqa: E402
from app.tasks.processing import run_processing_pass  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("database_url")
    parser.add_argument("--redis", default=None)
    parser.add_argument("--batch", type=int, default=200)
    parser.add_argument("--concurrency", type=int, default=64)
    parser.add_argument("--interval", type=float, default=0.1)
    parser.add_argument("--drain", type=float, default=60)
    args = parser.parse_args()
    config = Config(
        secret_key=os.environ["SECRET_KEY"],
        database_url=args.database_url,
        redis_url=args.redis,
        whatsapp_api_allowed_hosts=("127.0.0.1",),  # the fake Cloud API
    )
    app = create_app(config)
    app.config["SEND_CONCURRENCY"] = args.concurrency
    draining = threading.Event()

    def wait_for_stdin() -> None:
        sys.stdin.readline()
        draining.set()

    threading.Thread(target=wait_for_stdin, daemon=True).start()
    totals: dict[str, int] = {"passes": 0}

    def one_pass(time_budget: float) -> dict:
        stats = run_processing_pass(batch_size=args.batch, time_budget=time_budget)
        totals["passes"] += 1
        for key, value in stats.items():
            totals[key] = totals.get(key, 0) + value
        return stats

    with app.app_context():
        one_pass(1)  # opens the connections; the load's messages are not due yet
        print("ready", flush=True)
        # CPU per send counts from here: the passes, not the imports and the app's start.
        cpu_at_ready, sent_at_ready = time.process_time(), totals.get("sent", 0)
        drain_until = None
        while True:
            started = time.monotonic()
            stats = one_pass(2)
            if draining.is_set():
                drain_until = drain_until or started + args.drain
                if stats["claimed"] == 0 or time.monotonic() > drain_until:
                    break
            if stats["claimed"] < args.batch:
                time.sleep(max(0.0, args.interval - (time.monotonic() - started)))
    totals["cpu_s_after_ready"] = round(time.process_time() - cpu_at_ready, 3)
    totals["sent_after_ready"] = totals.get("sent", 0) - sent_at_ready
    totals["peak_rss_mb"] = round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)
    print(json.dumps(totals), flush=True)


if __name__ == "__main__":
    main()
