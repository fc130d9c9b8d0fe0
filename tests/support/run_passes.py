"""A worker process for tests and benchmarks: processing passes until nothing is due.

python -m tests.support.run_passes DATABASE_URL [--redis URL] [--offset SECONDS] [--batch N]
    [--read-timeout SECONDS] [--control FILE]

With --control, the clock offset comes from FILE instead, round after round: the worker runs
passes at the offset written there until nothing is due, writes that offset to
FILE.idle.<pid>, and waits for FILE to change (a later offset, or "stop"). So a test moves the
clock of all its workers past leases and retry backoffs together, without restarting them.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import time
from datetime import timedelta
from pathlib import Path

from app import create_app
from app.config import TestConfig
from app.models import utcnow
from app.tasks.processing import run_processing_pass


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("database_url")
    parser.add_argument("--redis", default=None)
    parser.add_argument("--offset", type=float, default=0.0, help="seconds added to the clock")
    parser.add_argument("--batch", type=int, default=200)
    parser.add_argument("--concurrency", type=int, default=32)
    parser.add_argument("--idle-passes", type=int, default=2)
    parser.add_argument(
        "--time-budget", type=float, default=5, help="seconds per pass (the app's default: 25)"
    )
    parser.add_argument("--read-timeout", type=float, default=None, help="WHATSAPP_READ_TIMEOUT")
    parser.add_argument("--control", default=None, help="file with the offset, or 'stop'")
    args = parser.parse_args()
    app = create_app(TestConfig(database_url=args.database_url, redis_url=args.redis))
    app.config["SEND_CONCURRENCY"] = args.concurrency
    if args.read_timeout is not None:
        app.config["WHATSAPP_READ_TIMEOUT"] = args.read_timeout
    totals: dict[str, int] = {}
    with app.app_context():
        if args.control:
            controlled(Path(args.control), args, totals)
        else:
            until_idle(args.offset, args, totals)
    usage = resource.getrusage(resource.RUSAGE_SELF)
    totals["peak_rss_mb"] = round(usage.ru_maxrss / 1024, 1)
    totals["cpu_s"] = round(usage.ru_utime + usage.ru_stime, 2)
    print(json.dumps(totals), flush=True)


def until_idle(offset: float, args, totals: dict[str, int]) -> None:
    idle = 0
    while idle < args.idle_passes:
        now = utcnow() + timedelta(seconds=offset)
        stats = run_processing_pass(now, batch_size=args.batch, time_budget=args.time_budget)
        for key, value in stats.items():
            totals[key] = totals.get(key, 0) + value
        idle = idle + 1 if stats["claimed"] == 0 else 0


def controlled(control: Path, args, totals: dict[str, int]) -> None:
    done = control.with_name(f"{control.name}.idle.{os.getpid()}")
    last = None
    while (text := control.read_text().strip()) != "stop":
        if text == last:
            time.sleep(0.02)
            continue
        until_idle(float(text), args, totals)
        write_atomically(done, text)
        last = text


def write_atomically(path: Path, text: str) -> None:
    """Readers see the old text or the new one, never half of it."""
    temporary = path.with_name(f"{path.name}.{os.getpid()}.tmp")
    temporary.write_text(text)
    os.replace(temporary, path)


if __name__ == "__main__":
    main()
