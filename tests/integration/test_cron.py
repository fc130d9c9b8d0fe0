"""POST /api/cron/drip-processor, and worker.py's cron on real Redis: two schedulers enqueue,
the work is done once per interval; only the leader enqueues, a successor keeps the schedule."""

from __future__ import annotations

import time
from datetime import timedelta

import pytest
from rq import Queue, SimpleWorker
from rq.cron import CronScheduler
from sqlalchemy import select

import worker
from app import create_app
from app.config import TestConfig
from app.extensions import db
from app.models import DripEnrollment, DripMessageLog, JobRun, utcnow
from app.tasks import jobs
from app.tasks import processing as sending
from tests.integration import test_jobs
from tests.integration.enrollment_world import live_steps, make_campaign, make_contacts
from tests.support.window import wrote_to_us

SECRET = "s3cret"
# The Redis fixtures of test_jobs: real Redis, keys and queues of this test alone.
redis_connection = test_jobs.redis_connection
use_redis = test_jobs.use_redis


@pytest.fixture
def cron_app(app):
    """The same database, with a CRON_SECRET."""
    application = create_app(
        TestConfig(database_url=app.config["SQLALCHEMY_DATABASE_URI"], cron_secret=SECRET)
    )
    yield application
    with application.app_context():
        db.engine.dispose()


def post(app, authorization: str | None):
    headers = {"Authorization": authorization} if authorization is not None else {}
    return app.test_client().post("/api/cron/drip-processor", headers=headers)


def fake_pass(calls: list):
    def run_processing_pass(now=None, **kwargs):
        calls.append(now)
        return {"claimed": 2, "sent": 1, "paused_accounts": 0}

    return run_processing_pass


# --- the endpoint --------------------------------------------------------------------------


@pytest.mark.parametrize(
    "authorization",
    [None, "", "Bearer", "Bearer wrong", f"Basic {SECRET}", f"Bearer {SECRET}x", SECRET],
)
def test_cron_refuses_a_missing_or_wrong_secret(cron_app, clean_app, authorization, monkeypatch):
    calls = []
    monkeypatch.setattr(sending, "run_processing_pass", fake_pass(calls))
    response = post(cron_app, authorization)
    assert response.status_code == 401
    assert response.json["error"]["code"] == "unauthorized"
    assert calls == []


def test_cron_refuses_everyone_when_no_secret_is_configured(clean_app, org_a, monkeypatch):
    calls = []
    monkeypatch.setattr(sending, "run_processing_pass", fake_pass(calls))
    for authorization in (
        f"Bearer {SECRET}",
        "Bearer ",
        "Bearer None",
        org_a.auth["Authorization"],
    ):
        response = post(clean_app, authorization)
        assert response.status_code == 401, authorization
        assert response.json["error"]["code"] == "unauthorized"
    assert calls == []


def test_an_api_key_is_not_the_cron_secret(cron_app, clean_app, org_a):
    assert post(cron_app, org_a.auth["Authorization"]).status_code == 401


def test_cron_runs_one_pass_and_answers_its_counts(cron_app, clean_app, monkeypatch):
    calls = []
    monkeypatch.setattr(sending, "run_processing_pass", fake_pass(calls))
    response = post(cron_app, f"bearer {SECRET}")
    assert response.status_code == 200
    assert response.json == {"data": {"claimed": 2, "sent": 1, "pausedAccounts": 0}}
    assert len(calls) == 1
    with cron_app.app_context():
        [run] = db.session.scalars(select(JobRun)).all()
        assert (run.name, run.ok) == ("process_due", True)


def test_cron_sends_what_is_due_through_the_sandbox(cron_app, clean_app, org_a):
    with clean_app.app_context():
        session = db.session
        campaign = make_campaign(session, org_a.org_id)
        contact = make_contacts(session, org_a.org_id, 1)[0]
        wrote_to_us(session, utcnow())  # a text step: the contact's window is open
        session.add(
            DripEnrollment(
                organization_id=org_a.org_id,
                campaign_id=campaign.id,
                contact_id=contact.id,
                current_step_id=live_steps(session, campaign)[0].id,
                next_send_at=utcnow() - timedelta(minutes=1),
            )
        )
        session.commit()
    response = post(cron_app, f"Bearer {SECRET}")
    assert response.status_code == 200, response.json
    assert (response.json["data"]["claimed"], response.json["data"]["sent"]) == (1, 1)
    with clean_app.app_context():
        assert db.session.scalars(select(DripMessageLog.status)).all() == ["sent"]


def test_the_cron_endpoint_is_documented(clean_app):
    doc = clean_app.test_client().get("/api/openapi.json").json
    operation = doc["paths"]["/api/cron/drip-processor"]["post"]
    assert operation["summary"]
    assert {"200", "401"} <= set(operation["responses"])


# --- worker.py's cron on Redis -------------------------------------------------------------


PROCESS_DUE_ONLY = [job for job in jobs.RECURRING if job.name == "process_due"]


def test_two_cron_schedulers_enqueue_and_the_pass_runs_once(clean_app, use_redis, monkeypatch):
    connection, _, queue_name = use_redis
    calls = []
    monkeypatch.setattr(sending, "run_processing_pass", fake_pass(calls))
    schedulers = [CronScheduler(connection, name=f"{queue_name}-{i}") for i in (1, 2)]
    for cron in schedulers:
        worker.register_recurring(cron, PROCESS_DUE_ONLY, clean_app.config, queue_name)
        assert [job.name for job in cron.enqueue_jobs()] == ["process_due"]
    queue = Queue(queue_name, connection=connection)
    assert queue.count == 2  # both enqueued ...
    with clean_app.app_context():
        SimpleWorker([queue], connection=connection).work(burst=True)
        runs = db.session.scalars(select(JobRun)).all()
    assert len(calls) == 1  # ... the work was done once
    assert [run.name for run in runs] == ["process_due"]
    results = [job.return_value() for job in _finished(queue)]
    assert sorted(results, key=str) == sorted(
        [
            {"claimed": 2, "sent": 1, "paused_accounts": 0},
            {"skipped": True, "reason": "already ran in this interval"},
        ],
        key=str,
    )


def _finished(queue: Queue):
    registry = queue.finished_job_registry
    return [queue.fetch_job(job_id) for job_id in registry.get_job_ids()]


def test_only_the_cron_leader_enqueues_and_a_successor_keeps_the_schedule(clean_app, use_redis):
    connection, prefix, queue_name = use_redis
    config = clean_app.config
    first = worker.CronLeader(connection, jobs.RECURRING, config, queue_name=queue_name)
    second = worker.CronLeader(connection, jobs.RECURRING, config, queue_name=queue_name)
    queue = Queue(queue_name, connection=connection)
    try:
        assert sorted(first.tick()) == sorted(job.name for job in jobs.RECURRING)
        assert second.tick() == [] and not second.leading
        assert first.tick() == []  # nothing due again yet
        assert queue.count == len(jobs.RECURRING)

        first.resign()  # a worker stops (or dies, and its lease runs out)
        assert second.tick() == []  # took over, and knows what was enqueued when
        assert second.leading
        assert queue.count == len(jobs.RECURRING)

        # As if process_due was last enqueued a minute ago: the successor enqueues it now.
        connection.hset(second.times_key, "process_due", time.time() - 60)
        second.resign()
        third = worker.CronLeader(connection, jobs.RECURRING, config, queue_name=queue_name)
        assert third.tick() == ["process_due"]
        third.resign()
    finally:
        first.resign()
        second.resign()
    assert connection.get(f"{prefix}cron:leader") is None


def test_worker_needs_redis(monkeypatch, tmp_path, capsys):
    monkeypatch.delenv("REDIS_URL", raising=False)
    monkeypatch.setenv("DATABASE_URL", f"sqlite:///{tmp_path / 'drip.db'}")
    monkeypatch.setenv("SECRET_KEY", "worker-test")
    assert worker.main([]) == 2
    assert "REDIS_URL" in capsys.readouterr().err
