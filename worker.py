"""Start an RQ worker with its scheduler: python worker.py (needs REDIS_URL).

Run as many as you like, on as many machines as you like. Without REDIS_URL, Drip runs its
jobs inside the web process instead (the embedded mode of `make run`).
"""

from __future__ import annotations

import sys

from redis import Redis
from rq import Queue, Worker

from app import create_app

QUEUES = ("default",)


def main() -> int:
    app = create_app()
    redis_url = app.config["REDIS_URL"]
    if not redis_url:
        print("worker.py needs REDIS_URL (e.g. redis://127.0.0.1:6379/0).", file=sys.stderr)
        return 2
    connection = Redis.from_url(redis_url)
    queues = [Queue(name, connection=connection) for name in QUEUES]
    with app.app_context():
        Worker(queues, connection=connection).work(with_scheduler=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
