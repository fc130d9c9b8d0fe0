"""Running jobs: on RQ when REDIS_URL is set, else in this process on a background thread.

The embedded mode runs the same job functions, each inside an app context of the app that
enqueued it (worker.py pushes one for the RQ worker).
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor

from flask import Flask, current_app
from redis.exceptions import ConnectionError as RedisConnectionError
from rq import Queue

from app.tasks.scheduler import redis_for

log = logging.getLogger(__name__)
QUEUE_NAME = "default"

_embedded = ThreadPoolExecutor(max_workers=2, thread_name_prefix="drip-job")


def enqueue(func: Callable, *args):
    """Run func(*args) as a job: an rq.job.Job with Redis, a Future in embedded mode (and
    when Redis cannot be reached).

    Call it after the commit that created what the job reads.
    """
    app = current_app._get_current_object()
    redis_url = app.config.get("REDIS_URL")
    if redis_url:
        try:
            return Queue(QUEUE_NAME, connection=redis_for(redis_url)).enqueue(func, *args)
        # Redis cannot be reached: run the job here, as the embedded mode does, rather than
        # answer 500 and leave what the caller committed waiting forever (a job is safe to
        # run again, should the lost connection have queued it after all).
        except RedisConnectionError:
            log.warning("Redis unavailable: job %s runs in this process", func.__name__)
    return _embedded.submit(_run_embedded, app, func, *args)


def _run_embedded(app: Flask, func: Callable, *args) -> object:
    with app.app_context():
        try:
            return func(*args)
        except Exception:
            log.exception("job %s%r failed", getattr(func, "__name__", func), args)
            raise
