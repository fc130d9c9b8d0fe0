"""Several worker processes on PostgreSQL and Redis: every (enrollment, step) is sent exactly
once. Workers killed with SIGKILL in the middle of a pass: tests/faults/test_sigkill.py."""

from __future__ import annotations

import json
import os
import subprocess
import sys

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
