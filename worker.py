"""Start an RQ worker with its scheduler and the recurring jobs (needs REDIS_URL).

    python worker.py            a worker, with the cron loop on a background thread
    python worker.py --cron     the cron loop alone
    python worker.py --no-cron  a worker alone

Run as many as you like, on as many machines as you like. The recurring jobs
(app.tasks.jobs.RECURRING) go to RQ's cron scheduler, but only the process holding a Redis lease
enqueues them; the others stand by and take over, on the same schedule, when it goes away. A job
enqueued twice anyway (a lease lost mid-tick) runs once per interval (app.tasks.jobs.run_recurring)
and never beside itself (app.tasks.scheduler.job_lock). Without REDIS_URL, Drip runs its jobs
inside the web process instead (the embedded mode of `make run`).
"""

from __future__ import annotations

import argparse
import logging
import signal
import sys
import threading
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime

from redis import Redis
from rq import Queue, Worker
from rq.cron import CronScheduler

from app import create_app
from app.tasks import jobs
from app.tasks.queue import QUEUE_NAME
from app.tasks.scheduler import RecurringJob, RedisLock

QUEUES = (QUEUE_NAME,)
LEASE_SECONDS = 30
POLL_SECONDS = 1.0

log = logging.getLogger("drip.worker")


def register_recurring(
    cron: CronScheduler, recurring: Sequence[RecurringJob], config: Mapping, queue_name: str
) -> None:
    """Register each recurring job with RQ's cron scheduler, as jobs.run_recurring(name)."""
    for job in recurring:
        cron.register(
            jobs.run_recurring,
            queue_name,
            args=(job.name,),
            interval=max(1, round(job.interval(config))),
            job_timeout=job.timeout_seconds,
            name=job.name,
        )


class CronLeader:
    """RQ's CronScheduler, ticked only while this process holds the cron lease.

    The lease is a Redis key with a TTL, renewed on every tick; when its holder stops or dies,
    another process takes it within LEASE_SECONDS. Enqueue times are kept in Redis, so the new
    holder (or a restarted worker) continues the schedule instead of starting it over.
    """

    def __init__(
        self,
        connection: Redis,
        recurring: Sequence[RecurringJob],
        config: Mapping,
        *,
        queue_name: str = QUEUE_NAME,
        lease_seconds: int = LEASE_SECONDS,
    ):
        self.connection = connection
        self.cron = CronScheduler(connection, logging_level=logging.WARNING)
        register_recurring(self.cron, recurring, config, queue_name)
        prefix = config["REDIS_KEY_PREFIX"]
        self.lease = RedisLock(connection, f"{prefix}cron:leader", ttl=lease_seconds)
        self.times_key = f"{prefix}cron:enqueued-at"

    @property
    def leading(self) -> bool:
        return self.lease.owned

    def tick(self) -> list[str]:
        """Keep or take the lease; if held, enqueue what is due. The names enqueued."""
        if self.lease.owned:
            self.lease.renew()
        if not self.lease.owned:
            if not self.lease.acquire():
                return []
            self._restore_times()
            self.cron.register_birth()
        enqueued = self.cron.enqueue_jobs()
        if enqueued:
            self.connection.hset(
                self.times_key,
                mapping={job.name: job.latest_enqueue_time.timestamp() for job in enqueued},
            )
            self.cron.save()
        self.cron.heartbeat()
        return [job.name for job in enqueued]

    def _restore_times(self) -> None:
        stored = self.connection.hgetall(self.times_key)
        for job in self.cron.get_jobs():
            value = stored.get(job.name.encode())
            if value is not None:
                job.set_enqueue_time(datetime.fromtimestamp(float(value), UTC))

    def run(self, stop: threading.Event, poll_seconds: float = POLL_SECONDS) -> None:
        """Tick until stop is set; a Redis error is logged and the loop goes on."""
        try:
            while not stop.is_set():
                try:
                    self.tick()
                except Exception:
                    log.exception("cron tick failed")
                stop.wait(poll_seconds)
        finally:
            self.resign()

    def resign(self) -> None:
        if self.lease.owned:
            self.lease.release()
            self.cron.register_death()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Drip's RQ worker and recurring jobs.")
    mode = parser.add_mutually_exclusive_group()
    mode.add_argument("--cron", action="store_true", help="run only the recurring-job scheduler")
    mode.add_argument("--no-cron", action="store_true", help="run only a worker")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s")

    app = create_app()
    redis_url = app.config["REDIS_URL"]
    if not redis_url:
        print("worker.py needs REDIS_URL (e.g. redis://127.0.0.1:6379/0).", file=sys.stderr)
        return 2
    stop = threading.Event()
    # The cron loop has a connection pool of its own: RQ's worker sets a long socket timeout on
    # its pool for BLPOP, which a connection opened earlier by another thread would not have.
    leader = (
        None if args.no_cron else CronLeader(Redis.from_url(redis_url), jobs.RECURRING, app.config)
    )
    if args.cron:
        for signum in (signal.SIGINT, signal.SIGTERM):
            signal.signal(signum, lambda *_: stop.set())
        leader.run(stop)
        return 0
    cron_thread = None
    if leader is not None:
        cron_thread = threading.Thread(target=leader.run, args=(stop,), name="drip-cron")
        cron_thread.daemon = True
        cron_thread.start()
    try:
        connection = Redis.from_url(redis_url)
        queues = [Queue(name, connection=connection) for name in QUEUES]
        with app.app_context():
            Worker(queues, connection=connection).work(with_scheduler=True)
    finally:
        stop.set()
        if cron_thread is not None:
            cron_thread.join(timeout=LEASE_SECONDS)
    return 0


if __name__ == "__main__":
    sys.exit(main())
