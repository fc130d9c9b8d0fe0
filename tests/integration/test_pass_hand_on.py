"""A backlog is not left for the next interval: a processing pass that stops on its time budget
with more due hands on to the next pass at once, and with PROCESSOR_CONCURRENT_PASSES above 1
a pass that finds a full batch due asks for another beside it (each holds a slot of the job's
lock; a pass finding every slot taken is skipped). Embedded mode: the passes run on the job
threads of this process."""

from __future__ import annotations

import time

import pytest
from sqlalchemy import func, select

from app.drip import accounts
from app.drip.enrollment import actions as enrollment
from app.extensions import db
from app.models import DripMessageLog, JobRun, utcnow
from app.tasks import jobs
from app.tasks.scheduler import job_lock
from tests.fakes.cloud_api import FakeCloudApi
from tests.integration.enrollment_world import make_campaign, make_contacts
from tests.integration.test_jobs import redis_connection, use_redis  # noqa: F401  (fixtures)
from tests.support.accounts import send_through_fake
from tests.support.window import wrote_to_us

WAIT = 30  # seconds for the job threads to get somewhere (liveness, not timing)


def backlog(app, count: int) -> None:
    session = db.session
    org = accounts.create_organization(session, "Backlog")
    campaign = make_campaign(session, org.id, steps=((0, "minutes"),))
    contacts = make_contacts(session, org.id, count)
    now = utcnow()
    wrote_to_us(session, now)
    enrollment.enroll(session, campaign, contact_ids=[c.id for c in contacts], now=now)
    session.commit()
    return org


def sent_logs() -> int:
    db.session.rollback()
    return db.session.scalar(
        select(func.count()).select_from(DripMessageLog).where(DripMessageLog.status == "sent")
    )


def passes() -> list[JobRun]:
    db.session.rollback()
    return list(
        db.session.scalars(select(JobRun).where(JobRun.name == "process_due").order_by(JobRun.id))
    )


def wait_for(condition) -> None:
    deadline = time.monotonic() + WAIT
    while not condition():
        assert time.monotonic() < deadline, "the passes did not get there"
        time.sleep(0.05)


@pytest.fixture
def small_passes(clean_app, monkeypatch):
    """Batches of 10 and a pass budget spent by its first batch: a pass sends 10 at most."""
    monkeypatch.setitem(clean_app.config, "PROCESSOR_BATCH_SIZE", 10)
    monkeypatch.setitem(clean_app.config, "PROCESSOR_TIME_BUDGET", 0)
    return clean_app


@pytest.mark.parametrize("hand_on", [True, False])
def test_a_pass_that_runs_out_of_time_hands_on_to_the_next(small_passes, monkeypatch, hand_on):
    app = small_passes
    monkeypatch.setitem(app.config, "PROCESSOR_HAND_ON", hand_on)
    with app.app_context():
        backlog(app, 35)
        first = jobs.process_due()
        assert first["sent"] == 10 and first["more_due"] is True
        if not hand_on:  # the rest waits for the next interval's pass
            time.sleep(0.5)
            assert sent_logs() == 10 and len(passes()) == 1
            return
        wait_for(lambda: sent_logs() == 35 and all(run.finished_at for run in passes()))
        runs = passes()
        # 10, 10, 10, then 5: the last claim came back short, nothing more was due.
        assert [run.stats["sent"] for run in runs] == [10, 10, 10, 5]
        assert [run.stats["more_due"] for run in runs] == [True, True, True, False]


def test_every_slot_of_a_job_lock_is_held_once(clean_app):
    with clean_app.app_context():
        with job_lock("slots", 2) as first, job_lock("slots", 2) as second:
            with job_lock("slots", 2) as third:
                assert (first, second, third) == (True, True, False)
        with job_lock("slots", 2) as again:
            assert again


def test_slots_are_shared_through_redis(clean_app, use_redis):  # noqa: F811
    connection, prefix, _ = use_redis
    with clean_app.app_context():
        with job_lock("slots", 2) as first, job_lock("slots", 2) as second:
            assert (first, second) == (True, True)
            assert connection.get(f"{prefix}job:slots:lock") is not None
            assert connection.get(f"{prefix}job:slots:lock:1") is not None
            with job_lock("slots", 2) as third:
                assert third is False
        assert connection.get(f"{prefix}job:slots:lock:1") is None


def test_a_backlog_is_worked_by_two_passes_at_once(clean_app, backend, monkeypatch):
    """Sends take 0.1 s each, two threads: a pass of 20 takes a second or more, long enough
    for the pass it asked for to start beside it (PostgreSQL: each claims rows the other does
    not hold). SQLite has no SKIP LOCKED: its passes go one at a time whatever the setting.
    Every message goes out once."""
    app = clean_app
    monkeypatch.setitem(app.config, "PROCESSOR_BATCH_SIZE", 20)
    monkeypatch.setitem(app.config, "PROCESSOR_CONCURRENT_PASSES", 2)
    monkeypatch.setitem(app.config, "PROCESSOR_HAND_ON", True)
    monkeypatch.setitem(app.config, "SEND_CONCURRENCY", 2)
    with FakeCloudApi(keep_bodies=0, latency_ms=100) as fake, app.app_context():
        org = backlog(app, 60)
        send_through_fake(app, db.session, org, fake, rate=1000)
        db.session.commit()
        jobs.process_due()
        wait_for(lambda: sent_logs() == 60 and all(run.finished_at for run in passes()))
        runs = [run for run in passes() if run.stats.get("sent")]
        overlapping = any(
            later.started_at < earlier.finished_at
            for i, earlier in enumerate(runs)
            for later in runs[i + 1 :]
        )
        assert overlapping is (backend == "postgresql"), [
            (run.started_at, run.finished_at, run.stats["sent"]) for run in runs
        ]
        assert sum(run.stats["sent"] for run in runs) == 60
        assert fake.requests == 60
        assert fake.stats()["callbacks_accepted_more_than_once"] == 0
