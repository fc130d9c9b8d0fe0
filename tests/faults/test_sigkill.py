"""Worker processes killed with SIGKILL at random points, again and again, while 4 of them
work through a two-step campaign on PostgreSQL and Redis; then restarted.

What the processor can know (app.drip.sending.processor): a log it claimed and committed, whose
outcome it never recorded, may or may not have reached Meta; it never resends such a log. A
status webhook from Meta settles one that went out; the 24-hour stale rule fails the rest.
So, for the logs "in doubt" after the kills (pending, no retry planned), and nothing else:
- none is ever requested again: the fake's count of each stays what it was at the kills;
- the ones the fake accepted are settled by their status webhook and end `sent`;
- the ones the fake never received end `failed` with code `stale`, exactly those.
Everything else ends as a fault-free run would: every enrollment completed, a log for every
(enrollment, step), each one `sent` and accepted by the fake exactly once.
"""

from __future__ import annotations

import random
import signal
import time
from datetime import timedelta

import pytest
from sqlalchemy import select

from app.drip.sending import housekeeping
from app.extensions import db
from app.models import DripCampaignStep, DripEnrollment, utcnow
from app.tasks.processing import run_processing_pass
from tests.fakes.cloud_api import FakeCloudApi
from tests.faults import meta
from tests.faults.world import (
    LEASE_PLUS,
    callback,
    dispose,
    enrollments,
    finish,
    in_doubt,
    logs,
    pg_app,
    populate,
    start_worker,
    unique_phone_number_id,
)
from tests.support.window import wrote_to_us

pytestmark = pytest.mark.slow  # registered for the fault tests; CI runs them all

CONTACTS = 2000
STEPS = ((0, "minutes"), (0, "minutes"))
WORKERS = 4
ROUNDS = 3
KILLS_PER_ROUND = 2
APP_SECRET = "s"  # tests.support.accounts.send_through_fake's


@pytest.fixture
def world(tmp_path_factory):
    app, url = pg_app(tmp_path_factory, "faults_sigkill")
    with FakeCloudApi(keep_bodies=0, phone_number_id=unique_phone_number_id()) as fake:
        populate(app, fake, CONTACTS, steps=STEPS)
        yield app, url, fake
    dispose(app)


def wait_for_requests(fake, target: int, workers, limit: float = 60) -> None:
    """Until the fake has seen `target` requests (or every worker has stopped)."""
    deadline = time.monotonic() + limit
    while fake.requests < target and time.monotonic() < deadline:
        if all(worker.poll() is not None for worker in workers):
            return
        time.sleep(0.01)


def kill(worker) -> None:
    worker.send_signal(signal.SIGKILL)
    worker.communicate(timeout=60)


def rounds_of_kills(url: str, fake, rng: random.Random) -> int:
    """Each round, 4 workers run at a clock past the last round's leases; a random one is
    killed after a random number of sends and replaced, a few times; then all are killed."""
    kills = 0
    for round_ in range(ROUNDS):
        args = ("--concurrency", "8", "--batch", "25", "--offset", str(round_ * LEASE_PLUS))
        workers = [start_worker(url, *args) for _ in range(WORKERS)]
        for _ in range(KILLS_PER_ROUND):
            wait_for_requests(fake, fake.requests + rng.randint(20, 300), workers)
            victim = workers.pop(rng.randrange(len(workers)))
            kill(victim)
            kills += 1
            workers.append(start_worker(url, *args))
        wait_for_requests(fake, fake.requests + rng.randint(20, 300), workers)
        for worker in workers:
            kill(worker)
            kills += 1
    return kills


def test_sigkilled_workers_end_as_a_fault_free_run_but_for_the_sends_in_doubt(world):
    app, url, fake = world
    fake.latency_ms = 15  # long enough for kills to land in the middle of sending
    kills = rounds_of_kills(url, fake, random.Random(11))
    doubt = {log.id: log for log in logs(app) if in_doubt(log)}
    assert doubt, "some kills came between a claim and its recording"
    assert not any(log.error_code for log in doubt.values())  # no fault but the kills
    at_kills = fake.stats()
    received = at_kills["received_by_callback"]

    # Restarted: the workers finish the work at a later clock, with no more faults.
    fake.latency_ms = 0
    later = str(ROUNDS * LEASE_PLUS)
    finish([start_worker(url, "--offset", later) for _ in range(WORKERS)])
    stats = fake.stats()
    assert stats["callbacks_accepted_more_than_once"] == 0
    for log_id in doubt:  # never requested again
        cb = callback(log_id)
        assert stats["received_by_callback"].get(cb, 0) == received.get(cb, 0) <= 1

    # Meta's status webhooks settle the ones that went out; a day later, the stale rule fails
    # the others; then passes move their enrollments on (the second steps go out).
    went_out = {i for i in doubt if fake.wamid_for(callback(i))}
    now = meta.unix(utcnow())
    statuses = [
        meta.status(fake.wamid_for(callback(i)), "sent", now, cb=callback(i)) for i in went_out
    ]
    client = app.test_client()
    for start in range(0, len(statuses), 200):
        body = meta.delivery(fake.phone_number_id, statuses[start : start + 200])
        assert meta.post(client, body, APP_SECRET).status_code == 200
    finish([start_worker(url, "--offset", later)])
    day_later = utcnow() + timedelta(seconds=ROUNDS * LEASE_PLUS) + timedelta(hours=25)
    with app.app_context():
        wrote_to_us(db.session, day_later)  # the second steps are text: the window is open
        while housekeeping.fail_stale_logs(db.session, day_later) == housekeeping.BATCH:
            db.session.commit()
        db.session.commit()
        while run_processing_pass(day_later, batch_size=500)["claimed"]:
            pass

    final = logs(app)
    stats = fake.stats()
    stale = {log.id for log in final if log.status == "failed"}
    never_received = {i for i in doubt if not stats["received_by_callback"].get(callback(i))}
    assert stale == set(doubt) - went_out == never_received
    assert all(log.error_code == "stale" for log in final if log.id in stale)
    # The rest is what a fault-free run gives.
    assert {(log.enrollment_id, log.step_id) for log in final} == every_step(app)
    assert len(final) == CONTACTS * len(STEPS)
    for log in final:
        if log.id not in stale:
            cb = callback(log.id)
            assert log.status == "sent" and log.wamid == fake.wamid_for(cb), log
            assert stats["accepted_by_callback"].get(cb) == 1, log
    assert stats["accepted"] == len(final) - len(stale)
    assert {e.status for e in enrollments(app).values()} == {"completed"}
    print({"kills": kills, "in doubt": len(doubt), "went out": len(went_out), "stale": len(stale)})


def every_step(app) -> set[tuple[int, int]]:
    """(enrollment, step) for every step of every enrollment's campaign."""
    with app.app_context():
        pairs = db.session.execute(
            select(DripEnrollment.id, DripCampaignStep.id).join(
                DripCampaignStep, DripCampaignStep.campaign_id == DripEnrollment.campaign_id
            )
        ).all()
        db.session.rollback()
    return {tuple(pair) for pair in pairs}
