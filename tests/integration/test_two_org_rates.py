"""Two organizations' numbers sending at once, through the same worker processes (PostgreSQL,
Redis): each number is held to its own rate, and a slow number does not hold a fast one to its
pace. Each number is its own fake Cloud API, which counts the sends it receives per second."""

from __future__ import annotations

import json

import pytest
from flask_migrate import upgrade
from sqlalchemy import text

from app import create_app
from app.config import TestConfig
from app.drip import accounts
from app.extensions import db
from tests.conftest import database_url
from tests.fakes.cloud_api import FakeCloudApi
from tests.integration.enrollment_world import make_campaign
from tests.integration.test_parallel_workers import assert_sent_at_most_once, start_worker
from tests.support.accounts import send_through_fake
from tests.support.scratch import enroll_generated_contacts

SLOW, FAST = 20, 50  # messages per second of the two numbers
PER_ORG = 160  # the slow number needs ~8.4 s for them, the fast one ~3.4 s


@pytest.fixture
def two_orgs(tmp_path_factory):
    url = database_url("postgresql", tmp_path_factory, "two_rates")
    app = create_app(TestConfig(database_url=url))
    slow = FakeCloudApi(phone_number_id="100000000000021", keep_bodies=0, latency_ms=20)
    fast = FakeCloudApi(phone_number_id="100000000000022", keep_bodies=0, latency_ms=20)
    with slow, fast, app.app_context():
        upgrade()
        session = db.session
        for name, fake, rate in (("Slow", slow, SLOW), ("Fast", fast, FAST)):
            org = accounts.create_organization(session, name)
            send_through_fake(app, session, org, fake, rate=rate)
            campaign = make_campaign(session, org.id, steps=((0, "minutes"),))
            enroll_generated_contacts(session, org.id, campaign, PER_ORG)
        # The two organizations' sends fall due alternately, as when two campaigns start at
        # once: a claim in due order takes as many of one as of the other.
        session.execute(
            text(
                "UPDATE drip_enrollments e SET next_send_at = now() - interval '1 hour'"
                " + (e.id - f.first) * 2 * interval '1 ms'"
                " + (e.organization_id - f.org0) * interval '1 ms'"
                " FROM (SELECT organization_id, min(id) AS first,"
                " (SELECT min(id) FROM organizations) AS org0"
                " FROM drip_enrollments GROUP BY organization_id) f"
                " WHERE f.organization_id = e.organization_id"
            )
        )
        session.commit()
        yield app, url, slow, fast
        db.session.remove()
        db.engine.dispose()


def seconds_and_pace(fake: FakeCloudApi) -> tuple[dict[int, int], float]:
    """Sends per wall-clock second, and the pace over the seconds between the first and the
    last (full seconds only: the first and last are partial)."""
    per_second = {int(k): v for k, v in fake.stats(detail=False)["per_second"].items()}
    seconds = sorted(per_second)
    inner = seconds[1:-1]
    pace = sum(per_second[s] for s in inner) / len(inner) if inner else 0.0
    return per_second, pace


def test_two_numbers_each_send_at_their_own_rate(two_orgs):
    app, url, slow, fast = two_orgs
    workers = [start_worker(url, "--batch", "100") for _ in range(2)]
    outputs = [w.communicate(timeout=120) for w in workers]
    assert all(w.returncode == 0 for w in workers), [o[1][-2000:] for o in outputs]
    totals = [json.loads(out.strip().splitlines()[-1]) for out, _ in outputs]
    assert sum(t["sent"] for t in totals) == 2 * PER_ORG
    assert slow.accepted() == fast.accepted() == PER_ORG
    assert_sent_at_most_once(slow, app)
    assert_sent_at_most_once(fast, app)
    for fake, rate in ((slow, SLOW), (fast, FAST)):
        per_second, pace = seconds_and_pace(fake)
        # Never over the number's rate in any wall-clock second, from both workers together.
        assert max(per_second.values()) <= rate, (rate, per_second)
        # And not held back by the other number: at least 80% of its own rate.
        assert pace >= 0.8 * rate, (rate, pace, per_second)
