"""Recurring jobs: the registry, JobRun records, the per-job lock (in-process and on Redis),
once-per-interval runs, and the embedded scheduler with its machine-wide file lock."""

from __future__ import annotations

import os
import subprocess
import sys
import threading
import uuid
from datetime import timedelta
from pathlib import Path

import pytest
from flask import current_app
from sqlalchemy import select

from app.drip.enrollment import actions as enrollment
from app.extensions import db
from app.models import JobRun, utcnow
from app.tasks import jobs, scheduler
from app.tasks import processing as sending
from app.tasks.processing import run_processing_pass
from app.tasks.scheduler import EmbeddedScheduler, RecurringJob, RedisLock
from tests.integration.enrollment_world import NOW, make_campaign, make_contacts
from tests.support.window import wrote_to_us

ROOT = Path(__file__).resolve().parents[2]
REDIS_TEST_URL = "redis://127.0.0.1:6379/15"
WAIT = 20  # seconds to wait for a background thread to get somewhere (liveness, not timing)


@pytest.fixture
def redis_connection():
    redis = pytest.importorskip("redis")
    connection = redis.Redis.from_url(REDIS_TEST_URL)
    try:
        connection.ping()
    except redis.exceptions.ConnectionError:
        pytest.skip("no Redis at 127.0.0.1:6379")
    return connection


@pytest.fixture
def use_redis(clean_app, redis_connection, monkeypatch):
    """The app on real Redis, with key and queue names no other test run shares."""
    prefix = f"drip-test-{os.getpid()}-{uuid.uuid4().hex[:8]}:"
    monkeypatch.setitem(clean_app.config, "REDIS_URL", REDIS_TEST_URL)
    monkeypatch.setitem(clean_app.config, "REDIS_KEY_PREFIX", prefix)
    queue_name = prefix.rstrip(":")
    yield redis_connection, prefix, queue_name
    for pattern in (f"{prefix}*", f"*{queue_name}*"):
        for key in redis_connection.scan_iter(pattern):
            redis_connection.delete(key)


def job_runs(name: str | None = None) -> list[JobRun]:
    db.session.expire_all()
    query = select(JobRun).order_by(JobRun.id)
    if name:
        query = query.where(JobRun.name == name)
    return db.session.scalars(query).all()


# --- the registry --------------------------------------------------------------------------


def test_recurring_jobs_are_declared_once_with_their_intervals(clean_app):
    names = [job.name for job in jobs.RECURRING]
    assert len(names) == len(set(names))
    assert len({job.func for job in jobs.RECURRING}) == len(names)
    intervals = {job.name: job.interval(clean_app.config) for job in jobs.RECURRING}
    assert intervals == {
        "process_due": 30,
        "sandbox_tick": 30,
        "sweep_webhooks": 60,
        "refresh_counters": 300,
        "check_ab_tests": 300,
        "compact_rollups": 300,
        "fail_stale": 3600,
        "sync_templates": 3600,
        "purge_old_logs": 86400,
        "manage_partitions": 86400,
    }
    for job in jobs.RECURRING:
        # RQ finds a job by module and name: each must be a module-level function of app.tasks.jobs.
        assert callable(job.func)
        assert getattr(jobs, job.func.__name__) is job.func
        assert job.func.__module__ == "app.tasks.jobs"


def test_the_processing_interval_comes_from_the_config(clean_app, monkeypatch):
    monkeypatch.setitem(clean_app.config, "PROCESSOR_INTERVAL_SECONDS", 10)
    job = next(job for job in jobs.RECURRING if job.name == "process_due")
    assert job.interval(clean_app.config) == 10


def test_every_recurring_job_runs_and_records_its_run(session, org_a):
    for job in jobs.RECURRING:
        stats = job.func()
        assert isinstance(stats, dict), job.name
        assert "skipped" not in stats, job.name
    runs = job_runs()
    assert [run.name for run in runs] == [job.name for job in jobs.RECURRING]
    for run in runs:
        assert run.ok is True and run.error is None, run.name
        assert run.finished_at >= run.started_at
        assert isinstance(run.stats, dict)


def test_a_failing_job_is_recorded_and_raised(session, org_a, monkeypatch):
    def broken(session, now):
        session.add(JobRun(name="half-done work"))  # rolled back with the failure
        session.flush()
        raise RuntimeError("database gone")

    monkeypatch.setattr("app.drip.sending.refresh_campaign_counters", broken)
    with pytest.raises(RuntimeError):
        jobs.refresh_counters()
    [run] = job_runs()
    assert (run.name, run.ok) == ("refresh_counters", False)
    assert run.error == "RuntimeError: database gone"
    assert run.finished_at is not None
    # The lock was released: the next run goes ahead.
    monkeypatch.undo()
    assert jobs.refresh_counters() == {"campaigns": 0}


# --- the lock ------------------------------------------------------------------------------


class BlockingPass:
    """Stands in for app.tasks.processing.run_processing_pass: blocks until released."""

    def __init__(self):
        self.started, self.release, self.calls = threading.Event(), threading.Event(), 0

    def __call__(self, now=None, **kwargs):
        self.calls += 1
        self.started.set()
        assert self.release.wait(WAIT)
        return {"claimed": 7}


def run_in_thread(app, func) -> tuple[threading.Thread, list]:
    results = []

    def target():
        with app.app_context():
            results.append(func())

    thread = threading.Thread(target=target)
    thread.start()
    return thread, results


def second_run_is_skipped(app, monkeypatch):
    fake = BlockingPass()
    monkeypatch.setattr(sending, "run_processing_pass", fake)
    thread, results = run_in_thread(app, jobs.process_due)
    try:
        assert fake.started.wait(WAIT)
        with app.app_context():
            assert jobs.process_due() == {"skipped": True, "reason": "already running"}
    finally:
        fake.release.set()
        thread.join(WAIT)
    assert results == [{"claimed": 7}]
    assert fake.calls == 1
    with app.app_context():
        assert [run.stats for run in job_runs("process_due")] == [{"claimed": 7}]
        fake.release.set()
        assert jobs.process_due() == {"claimed": 7}  # released: the next run goes ahead


def test_a_second_concurrent_run_is_skipped_in_process(clean_app, monkeypatch):
    second_run_is_skipped(clean_app, monkeypatch)


def test_a_second_concurrent_run_is_skipped_with_redis(clean_app, use_redis, monkeypatch):
    connection, prefix, _ = use_redis
    second_run_is_skipped(clean_app, monkeypatch)
    assert connection.get(f"{prefix}job:process_due:lock") is None


def test_a_redis_lock_is_held_by_one_owner_and_released_only_by_it(redis_connection):
    key = f"drip-test-{os.getpid()}-{uuid.uuid4().hex}:lock"
    first, second = RedisLock(redis_connection, key), RedisLock(redis_connection, key)
    try:
        assert first.acquire()
        assert not second.acquire()
        second.release()  # not the owner: nothing happens
        assert not second.renew()
        assert redis_connection.get(key) == first.token.encode()
        assert 0 < redis_connection.ttl(key) <= scheduler.LOCK_TTL_SECONDS
        assert first.renew()
        first.release()
        assert second.acquire()
    finally:
        redis_connection.delete(key)


def test_a_scheduled_job_runs_once_per_interval_with_redis(session, use_redis):
    assert jobs.run_recurring("refresh_counters") == {"campaigns": 0}
    assert jobs.run_recurring("refresh_counters") == {
        "skipped": True,
        "reason": "already ran in this interval",
    }
    assert len(job_runs("refresh_counters")) == 1


def test_without_redis_a_scheduled_job_runs_each_time(session):
    jobs.run_recurring("refresh_counters")
    jobs.run_recurring("refresh_counters")
    assert len(job_runs("refresh_counters")) == 2


# --- the embedded scheduler ----------------------------------------------------------------


class Counting:
    """A fake job that counts its runs, checks the app context, and may fail."""

    def __init__(self, app, fail: bool = False):
        self.app, self.fail, self.calls = app, fail, 0
        self.done = threading.Event()

    def __call__(self):
        assert current_app._get_current_object() is self.app
        self.calls += 1
        if self.calls >= 3:
            self.done.set()
        if self.fail:
            raise RuntimeError("this job always fails")


@pytest.fixture
def stop_later():
    started = []
    yield started.append
    for runner in started:
        runner.stop()


def test_the_embedded_scheduler_runs_jobs_and_survives_a_failing_one(
    clean_app, tmp_path, stop_later
):
    good, bad = Counting(clean_app), Counting(clean_app, fail=True)
    runner = EmbeddedScheduler(
        clean_app,
        [RecurringJob("bad", bad, 0.01), RecurringJob("good", good, 0.01)],
        lock_path=tmp_path / "worker.lock",
        poll_seconds=0.005,
    )
    assert runner.start()
    stop_later(runner)
    assert bad.done.wait(WAIT), "the failing job was not run again"
    assert good.done.wait(WAIT), "the loop stopped after a failing job"


def test_a_job_that_ran_recently_waits_for_its_interval(clean_app, tmp_path, stop_later):
    with clean_app.app_context():
        db.session.add(JobRun(name="hourly", started_at=utcnow() - timedelta(minutes=1)))
        db.session.add(JobRun(name="overdue", started_at=utcnow() - timedelta(hours=2)))
        db.session.commit()
    hourly, overdue, often = Counting(clean_app), Counting(clean_app), Counting(clean_app)
    runner = EmbeddedScheduler(
        clean_app,
        [
            RecurringJob("hourly", hourly, 3600),
            RecurringJob("overdue", overdue, 3600),
            RecurringJob("often", often, 0.01),
        ],
        lock_path=tmp_path / "worker.lock",
        poll_seconds=0.005,
    )
    assert runner.start()
    stop_later(runner)
    assert often.done.wait(WAIT)
    assert (hourly.calls, overdue.calls) == (0, 1)


def test_only_one_embedded_scheduler_runs_on_a_machine(clean_app, tmp_path, stop_later):
    lock_path = tmp_path / "embedded-worker.lock"
    first = EmbeddedScheduler(clean_app, [], lock_path=lock_path, poll_seconds=0.01)
    second = EmbeddedScheduler(clean_app, [], lock_path=lock_path, poll_seconds=0.01)
    assert first.start()
    stop_later(first)
    assert not second.start()
    # Another process (a second gunicorn worker) cannot take it either.
    probe = (
        "import sys; from pathlib import Path; from app.tasks.scheduler import take_file_lock; "
        f"sys.exit(0 if take_file_lock(Path({str(lock_path)!r})) else 3)"
    )
    assert subprocess.run([sys.executable, "-c", probe], cwd=ROOT, check=False).returncode == 3
    first.stop()
    assert second.start()
    stop_later(second)


def test_start_embedded_runs_only_when_asked_and_without_redis(clean_app, tmp_path, monkeypatch):
    often = Counting(clean_app)
    fake_jobs = [RecurringJob("often", often, 0.01)]
    assert scheduler.start_embedded(clean_app, fake_jobs) is None  # EMBEDDED_WORKER is off
    monkeypatch.setitem(clean_app.config, "EMBEDDED_WORKER", True)
    monkeypatch.setitem(clean_app.config, "REDIS_URL", REDIS_TEST_URL)
    assert scheduler.start_embedded(clean_app, fake_jobs) is None  # RQ's cron does it
    monkeypatch.setitem(clean_app.config, "REDIS_URL", None)
    monkeypatch.setattr(clean_app, "instance_path", str(tmp_path))
    runner = None
    try:
        runner = scheduler.start_embedded(clean_app, fake_jobs)
        assert runner is not None
        assert runner.lock_path == tmp_path / "embedded-worker.lock"
        assert scheduler.start_embedded(clean_app, fake_jobs) is runner  # once per app
        assert often.done.wait(WAIT)
    finally:
        if runner is not None:
            runner.stop()
        clean_app.extensions.pop("drip_embedded_scheduler", None)


def test_the_test_apps_start_no_embedded_scheduler(clean_app):
    assert "drip_embedded_scheduler" not in clean_app.extensions


def test_compact_rollups_job_continues_from_its_last_watermark(clean_app, org_a):
    """The job reads the watermark of its last successful run, so a run merges only what the
    triggers appended since."""
    with clean_app.app_context():
        activity = "drip_activity_rollups"
        first = jobs.compact_rollups()
        assert first[activity] == {"watermark": 0, "merged_keys": 0}
        campaign = make_campaign(db.session, org_a.org_id)
        contacts = make_contacts(db.session, org_a.org_id, 4)
        wrote_to_us(db.session, NOW)  # a text step: the contacts' window is open
        enrollment.enroll(db.session, campaign, contact_ids=[c.id for c in contacts], now=NOW)
        db.session.commit()
        run_processing_pass(NOW)
        second = jobs.compact_rollups()
        assert second[activity]["watermark"] > 0 and second[activity]["merged_keys"] > 0
        assert second["drip_enrollment_rollups"]["merged_keys"] > 0
        third = jobs.compact_rollups()
        assert {name: stats["merged_keys"] for name, stats in third.items()} == {
            activity: 0,
            "drip_enrollment_rollups": 0,
        }
        assert third[activity]["watermark"] == second[activity]["watermark"]
