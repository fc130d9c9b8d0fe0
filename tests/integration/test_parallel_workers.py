"""Several worker processes on PostgreSQL and Redis: every (enrollment, step) is sent exactly
once, also when workers are killed with SIGKILL in the middle of a pass."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from datetime import timedelta

import pytest
from flask_migrate import upgrade
from sqlalchemy import func, select

from app import create_app
from app.config import TestConfig
from app.drip import accounts
from app.extensions import db
from app.models import DripEnrollment, DripMessageLog
from tests.conftest import database_url
from tests.fakes.cloud_api import FakeCloudApi
from tests.integration.enrollment_world import make_campaign
from tests.support.accounts import send_through_fake
from tests.support.scratch import enroll_generated_contacts

REDIS_URL = os.environ.get("TEST_REDIS_URL", "redis://127.0.0.1:6379/15")
ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


@pytest.fixture
def pg_world(tmp_path_factory):
    """10,000 due enrollments of one organization that sends through the fake Cloud API."""
    url = database_url("postgresql", tmp_path_factory, "workers")
    app = create_app(TestConfig(database_url=url))
    with FakeCloudApi(keep_bodies=0) as fake, app.app_context():
        upgrade()
        session = db.session
        org = accounts.create_organization(session, "Workers")
        send_through_fake(app, session, org, fake, rate=1000)
        campaign = make_campaign(session, org.id, steps=((0, "minutes"),))
        enroll_generated_contacts(session, org.id, campaign, 10_000)
        session.commit()
        yield app, url, fake
        db.session.remove()
        db.engine.dispose()


def start_worker(url: str, *extra: str) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, "-m", "tests.support.run_passes", url, "--redis", REDIS_URL, *extra],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def wait_for_sends(fake, target: int, limit: float = 120) -> None:
    """Until the fake has seen `target` requests: workers are busy sending."""
    deadline = time.monotonic() + limit
    while fake.requests < target and time.monotonic() < deadline:
        time.sleep(0.05)


def counts(app) -> dict:
    with app.app_context():
        by_status = dict(
            db.session.execute(
                select(DripMessageLog.status, func.count()).group_by(DripMessageLog.status)
            ).all()
        )
        enrolled = dict(
            db.session.execute(
                select(DripEnrollment.status, func.count()).group_by(DripEnrollment.status)
            ).all()
        )
        return {"logs": by_status, "enrollments": enrolled}


def assert_sent_at_most_once(fake, app):
    with app.app_context():
        log_ids = db.session.scalars(select(DripMessageLog.id)).all()
    repeated = [i for i in log_ids if fake.received(callback=f"log={i}") > 1]
    assert repeated == []
    assert fake.requests <= len(log_ids)


def test_four_workers_send_every_step_exactly_once(pg_world):
    app, url, fake = pg_world
    workers = [start_worker(url) for _ in range(4)]
    outputs = [w.communicate(timeout=300) for w in workers]
    assert all(w.returncode == 0 for w in workers), [o[1][-2000:] for o in outputs]
    totals = [json.loads(out.strip().splitlines()[-1]) for out, _ in outputs]
    assert sum(t["sent"] for t in totals) == 10_000
    assert sum(1 for t in totals if t["sent"] > 0) >= 2  # the work was shared
    assert fake.requests == 10_000
    assert_sent_at_most_once(fake, app)
    assert counts(app) == {"logs": {"sent": 10_000}, "enrollments": {"completed": 10_000}}


def test_workers_killed_mid_pass_leave_no_duplicate_and_nothing_stuck(pg_world):
    app, url, fake = pg_world
    fake.latency_ms = 20  # long enough to be killed in the middle of sending
    lease = timedelta(minutes=11).total_seconds()
    for round_ in range(3):
        # Each round runs later than the last one's leases, then every worker is killed.
        workers = [
            start_worker(url, "--concurrency", "8", "--offset", str(round_ * lease))
            for _ in range(4)
        ]
        wait_for_sends(fake, fake.requests + 50)
        for victim in workers[:2]:
            victim.send_signal(signal.SIGKILL)
        wait_for_sends(fake, fake.requests + 50)
        for worker in workers:
            worker.send_signal(signal.SIGKILL)
            worker.communicate(timeout=60)
    killed_sends = fake.requests
    assert 0 < killed_sends < 10_000  # the kills really came in the middle of the work
    fake.latency_ms = 0
    final = start_worker(url, "--offset", str(3 * lease))
    _out, err = final.communicate(timeout=300)
    assert final.returncode == 0, err[-2000:]
    assert_sent_at_most_once(fake, app)
    state = counts(app)
    with app.app_context():
        stuck = db.session.scalar(
            select(func.count())
            .select_from(DripEnrollment)
            .where(DripEnrollment.status == "active")
        )
        waiting = db.session.execute(
            select(DripEnrollment.next_send_at, DripMessageLog.created_at)
            .join(
                DripMessageLog,
                (DripMessageLog.enrollment_id == DripEnrollment.id)
                & (DripMessageLog.step_id == DripEnrollment.current_step_id),
            )
            .where(
                DripEnrollment.status == "active",
                DripMessageLog.status == "pending",
                DripMessageLog.retry_at.is_(None),
            )
        ).all()
        park = timedelta(hours=24, minutes=5)
        parked_ok = sum(1 for next_at, created in waiting if next_at <= created + park)
    # Everything is sent, except sends cut off by a kill: those wait for the stale rule.
    assert stuck == parked_ok
    assert state["enrollments"].get("completed", 0) + stuck == 10_000
    assert state["logs"].get("sent", 0) == state["enrollments"].get("completed", 0)
    assert fake.accepted() >= state["logs"]["sent"]
