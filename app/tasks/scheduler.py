"""Recurring jobs: how one is declared, the lock that keeps a job from running beside itself,
and the embedded runner that runs them in the web process when there is no Redis.

With Redis, worker.py hands the same declarations to RQ's cron scheduler. Without it,
start_embedded() runs them on a background thread of the one process per machine that holds
instance/embedded-worker.lock (an OS file lock), so several gunicorn workers run them once.
"""

from __future__ import annotations

import fcntl
import logging
import threading
import time
import uuid
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import timedelta
from functools import cache
from pathlib import Path
from typing import IO

from flask import Flask, current_app
from redis import Redis
from redis.exceptions import RedisError
from sqlalchemy import func, select

from app.extensions import db
from app.models import JobRun, utcnow

log = logging.getLogger(__name__)

LOCK_TTL_SECONDS = 60
LOCK_FILE = "embedded-worker.lock"


@dataclass(frozen=True)
class RecurringJob:
    """A job run every interval_seconds; interval_setting names a config key that overrides it."""

    name: str
    func: Callable[[], object]
    interval_seconds: float
    interval_setting: str | None = None
    timeout_seconds: int = 600

    def interval(self, config: Mapping) -> float:
        if self.interval_setting and config.get(self.interval_setting):
            return config[self.interval_setting]
        return self.interval_seconds


# --- locks ---------------------------------------------------------------------------------

_RENEW = """if redis.call('get', KEYS[1]) == ARGV[1] then
  return redis.call('expire', KEYS[1], ARGV[2]) else return 0 end"""
_RELEASE = """if redis.call('get', KEYS[1]) == ARGV[1] then
  return redis.call('del', KEYS[1]) else return 0 end"""


class RedisLock:
    """SET key token NX EX ttl: held by one owner at a time, renewed and released only by it.

    If the owner dies, the key expires after ttl seconds and someone else can take it.
    """

    def __init__(self, connection: Redis, key: str, ttl: int = LOCK_TTL_SECONDS):
        self.connection, self.key, self.ttl = connection, key, ttl
        self.token = uuid.uuid4().hex
        self.owned = False

    def acquire(self) -> bool:
        self.owned = bool(self.connection.set(self.key, self.token, nx=True, ex=self.ttl))
        return self.owned

    def renew(self) -> bool:
        self.owned = bool(self.connection.eval(_RENEW, 1, self.key, self.token, self.ttl))
        return self.owned

    def release(self) -> None:
        if self.owned:
            self.connection.eval(_RELEASE, 1, self.key, self.token)
            self.owned = False

    @contextmanager
    def kept(self) -> Iterator[None]:
        """Renew the acquired lock while the with-block runs, release it after."""
        stop = threading.Event()
        renewer = threading.Thread(target=self._keep, args=(stop,), daemon=True)
        renewer.start()
        try:
            yield
        finally:
            stop.set()
            renewer.join()
            try:
                self.release()
            # Redis went away while the block ran: the key expires on its own, and the block's
            # work (done) must not turn into a failure.
            except RedisError:
                log.warning("could not release lock %s: Redis unavailable", self.key)

    def _keep(self, stop: threading.Event) -> None:
        while not stop.wait(self.ttl / 3):
            try:
                if not self.renew():
                    log.warning("lock %s was lost while held", self.key)
                    return
            except Exception:
                log.exception("could not renew lock %s", self.key)


@cache
def redis_for(url: str) -> Redis:
    """One client (and connection pool) per URL for this process; a Redis that stops answering
    fails its commands within seconds instead of holding them."""
    return Redis.from_url(url, socket_connect_timeout=5, socket_timeout=5)


_LOCAL_LOCKS: dict[str, threading.Lock] = {}


@contextmanager
def job_lock(name: str, slots: int = 1) -> Iterator[bool]:
    """Hold one of job `name`'s `slots` locks for the with-block (one: the job never runs
    beside itself; N: at most N runs at once); yields False, holding nothing, when every slot
    is taken. Redis locks across machines with REDIS_URL (locks of this process while Redis
    cannot be reached), else locks of this process."""
    config = current_app.config
    keys = [f"{name}:lock"] + [f"{name}:lock:{slot}" for slot in range(1, slots)]
    if config.get("REDIS_URL"):
        try:
            shared = _acquire_any(
                redis_for(config["REDIS_URL"]),
                [f"{config['REDIS_KEY_PREFIX']}job:{k}" for k in keys],
            )
        except RedisError:
            # Without Redis the job still runs (the cron endpoint's pass, say) instead of
            # failing: every recurring job is safe beside a copy on another machine, so a lock
            # of this process is enough until Redis is back.
            log.warning("job %s: Redis unavailable, locked in this process only", name)
        else:
            if shared is None:
                yield False
                return
            with shared.kept():
                yield True
            return
    for key in keys:
        lock = _LOCAL_LOCKS.setdefault(key, threading.Lock())
        if lock.acquire(blocking=False):
            try:
                yield True
            finally:
                lock.release()
            return
    yield False


def _acquire_any(connection: Redis, keys: list[str]) -> RedisLock | None:
    for key in keys:
        lock = RedisLock(connection, key)
        if lock.acquire():
            return lock
    return None


def claim_interval(name: str, seconds: float) -> bool:
    """True for the first caller in a span of `seconds` (across machines with Redis): a job
    enqueued twice by two cron schedulers runs once. Always True without Redis."""
    config = current_app.config
    if not config.get("REDIS_URL"):
        return True
    key = f"{config['REDIS_KEY_PREFIX']}job:{name}:ran"
    try:
        return bool(redis_for(config["REDIS_URL"]).set(key, "1", nx=True, px=int(seconds * 1000)))
    except RedisError:  # the job is safe to run twice: run it rather than skip it
        log.warning("job %s: Redis unavailable, interval not checked", name)
        return True


# --- the embedded runner -------------------------------------------------------------------


class EmbeddedScheduler:
    """Runs recurring jobs on one background thread, each in an app context, one after another.

    A job that fails is logged and the loop goes on. start() does nothing (returns False) when
    another process (or scheduler) on this machine holds the lock file.
    """

    def __init__(
        self,
        app: Flask,
        jobs: Sequence[RecurringJob],
        *,
        lock_path: Path | None = None,
        poll_seconds: float = 1.0,
    ):
        self.app, self.jobs, self.poll_seconds = app, list(jobs), poll_seconds
        self.lock_path = lock_path or Path(app.instance_path) / LOCK_FILE
        self._lock_file: IO | None = None
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._next: dict[str, float] = {}

    def start(self) -> bool:
        self._lock_file = take_file_lock(self.lock_path)
        if self._lock_file is None:
            log.info("embedded scheduler: %s is held by another process", self.lock_path)
            return False
        self._thread = threading.Thread(target=self._loop, name="drip-scheduler", daemon=True)
        self._thread.start()
        return True

    def stop(self, timeout: float | None = 30) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout)
        if self._lock_file is not None:
            self._lock_file.close()  # closing the file releases the lock
            self._lock_file = None

    def _loop(self) -> None:
        self._plan()
        while not self._stop.is_set():
            self.run_due()
            self._stop.wait(self.poll_seconds)

    def _plan(self) -> None:
        """First runs: a job that ran less than an interval ago (JobRun) waits for the rest."""
        with self.app.app_context():
            try:
                last = dict(
                    db.session.execute(
                        select(JobRun.name, func.max(JobRun.started_at)).group_by(JobRun.name)
                    ).all()
                )
            except Exception:
                log.exception("embedded scheduler: could not read the last job runs")
                last = {}
        now, clock = utcnow(), time.monotonic()
        for job in self.jobs:
            interval = timedelta(seconds=job.interval(self.app.config))
            wait = (last[job.name] + interval - now).total_seconds() if job.name in last else 0
            self._next[job.name] = clock + max(0.0, wait)

    def run_due(self) -> list[str]:
        """Run every job whose time has come; the names of those run."""
        ran = []
        for job in self.jobs:
            if self._stop.is_set() or time.monotonic() < self._next.get(job.name, 0):
                continue
            self._next[job.name] = time.monotonic() + job.interval(self.app.config)
            with self.app.app_context():
                try:
                    job.func()
                except Exception:
                    log.exception("recurring job %s failed", job.name)
            ran.append(job.name)
        return ran


def take_file_lock(path: Path) -> IO | None:
    """An exclusive, non-blocking flock on path: the open file while held, else None."""
    path.parent.mkdir(parents=True, exist_ok=True)
    handle = path.open("a")
    try:
        fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError:
        handle.close()
        return None
    return handle


def start_embedded(app: Flask, jobs: Sequence[RecurringJob]) -> EmbeddedScheduler | None:
    """Start the embedded runner if the app asks for it (EMBEDDED_WORKER) and has no Redis;
    the runner, or None when it is not wanted or another process on this machine runs it."""
    if not app.config.get("EMBEDDED_WORKER"):
        return None
    if app.config.get("REDIS_URL"):
        log.warning("EMBEDDED_WORKER is ignored with REDIS_URL: run worker.py for the jobs")
        return None
    if "drip_embedded_scheduler" not in app.extensions:
        scheduler = EmbeddedScheduler(app, jobs)
        if not scheduler.start():
            return None
        app.extensions["drip_embedded_scheduler"] = scheduler
        log.info("embedded scheduler started: %d recurring jobs", len(scheduler.jobs))
    return app.extensions["drip_embedded_scheduler"]
