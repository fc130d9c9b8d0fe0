"""A worker process for tests and benchmarks: processing passes until nothing is due.

python -m tests.support.run_passes DATABASE_URL [--redis URL] [--offset SECONDS] [--batch N]
"""

from __future__ import annotations

import argparse
import json
import resource
from datetime import timedelta

from app import create_app
from app.config import TestConfig
from app.models import utcnow
from app.sending import run_processing_pass


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("database_url")
    parser.add_argument("--redis", default=None)
    parser.add_argument("--offset", type=float, default=0.0, help="seconds added to the clock")
    parser.add_argument("--batch", type=int, default=200)
    parser.add_argument("--concurrency", type=int, default=32)
    parser.add_argument("--idle-passes", type=int, default=2)
    args = parser.parse_args()
    app = create_app(TestConfig(database_url=args.database_url, redis_url=args.redis))
    app.config["SEND_CONCURRENCY"] = args.concurrency
    totals: dict[str, int] = {}
    idle = 0
    with app.app_context():
        while idle < args.idle_passes:
            now = utcnow() + timedelta(seconds=args.offset)
            stats = run_processing_pass(now, batch_size=args.batch, time_budget=5)
            for key, value in stats.items():
                totals[key] = totals.get(key, 0) + value
            idle = idle + 1 if stats["claimed"] == 0 else 0
    totals["peak_rss_mb"] = round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)
    print(json.dumps(totals), flush=True)


if __name__ == "__main__":
    main()
