"""PostgreSQL connections of a worker killed (pg_terminate_backend) in the middle of a
processing pass. Only the worker's own connections are killed: its URL carries an
application_name of its own, and the test database is shared with other test runs.

Proven, for a kill at each point where it can hurt:
- in the claim's transaction (after the lease, at the log insert): the pass fails, its job run
  is recorded as failed, and nothing of the claim remains (no log, no lease, nothing sent);
- in the recording's transaction (the sends are out; the logs' update done, the enrollments'
  next): the pass fails and nothing of the recording remains; the sent messages are left
  pending, never resent (the processor cannot know whether they went out); Meta's status
  webhooks (with the callback data) settle them;
- while the sends are in flight (the connection idle in the pool): the pass completes;
- at random, again and again, during passes run one after another: whatever failed, the end
  is every message sent exactly once and every enrollment completed.
After each kill, the next passes complete the work and the fake counts one request per log.
"""

from __future__ import annotations

import os
import random
import threading
import time
from datetime import timedelta

import pytest
from sqlalchemy import event, select
from sqlalchemy.exc import OperationalError

from app.drip.sending import housekeeping
from app.extensions import db
from app.models import JobRun, utcnow
from app.tasks import jobs
from app.tasks.processing import run_processing_pass, sender_for_app
from tests.fakes.cloud_api import FakeCloudApi
from tests.faults import meta
from tests.faults.world import (
    callback,
    dispose,
    enrollments,
    in_doubt,
    logs,
    pg_app,
    populate,
    terminate_backends,
    unique_phone_number_id,
)

pytestmark = pytest.mark.slow  # registered for the fault tests; CI runs them all

CONTACTS = 300
BATCH = 50
APP_SECRET = "s"  # tests.support.accounts.send_through_fake's
# The statement the kill comes before: in the claim, the log insert (after the lease update);
# in the recording, the enrollments' completion (after the logs' update).
KILL_POINTS = {
    "claim": "INSERT INTO drip_message_logs",
    "record": "UPDATE drip_enrollments SET status",
}


@pytest.fixture
def world(tmp_path_factory, request):
    name = f"drip_faults_{os.getpid()}_{request.node.name[-24:]}".replace("[", "_")
    name = name.replace("]", "")
    app, _ = pg_app(tmp_path_factory, "faults_pgkill", application_name=name)
    app.config.update(PROCESSOR_BATCH_SIZE=BATCH, SEND_CONCURRENCY=8)
    with FakeCloudApi(keep_bodies=0, phone_number_id=unique_phone_number_id()) as fake:
        populate(app, fake, CONTACTS)
        yield app, name, fake
    dispose(app)


class KillBefore:
    """Kills the app's connections (from outside) right before the first statement that
    starts with `prefix`, once: that statement then meets a dead connection."""

    def __init__(self, app, application_name: str, prefix: str):
        self.name, self.prefix = application_name, prefix
        self.killed = 0
        with app.app_context():
            self.engine = db.engine
        event.listen(self.engine, "before_cursor_execute", self)

    def __call__(self, conn, cursor, statement, parameters, context, executemany):
        if not self.killed and statement.startswith(self.prefix):
            self.killed = terminate_backends(self.name)

    def remove(self) -> None:
        event.remove(self.engine, "before_cursor_execute", self)


def process_due(app) -> dict:
    with app.app_context():
        return jobs.process_due()


def last_run(app) -> JobRun:
    with app.app_context():
        run = db.session.scalars(select(JobRun).order_by(JobRun.id.desc())).first()
        db.session.expunge(run)
        db.session.rollback()
        return run


def drain_sends(app) -> None:
    """Until the sends a failed pass left queued on the sender's lanes are done."""
    with app.app_context():
        assert sender_for_app().drain(timeout=90)


def settle_with_status_webhooks(app, fake, ids: set[int] | None = None) -> int:
    """Meta's "sent" status of every send whose outcome was not recorded (of those `ids`), as
    Meta delivers it: with the callback data, through the signed endpoint. How many."""
    unsettled = [log for log in logs(app) if in_doubt(log) and (ids is None or log.id in ids)]
    now = meta.unix(utcnow())
    statuses = [
        meta.status(fake.wamid_for(callback(log.id)), "sent", now, cb=callback(log.id))
        for log in unsettled
    ]
    if statuses:
        answer = meta.post(
            app.test_client(), meta.delivery(fake.phone_number_id, statuses), APP_SECRET
        )
        assert answer.status_code == 200 and "deferred" not in answer.json["data"], answer.json
    return len(unsettled)


def finish_and_check(app, fake, stale: set[int] = frozenset()) -> None:
    """Passes until nothing is due; then every message but the `stale` ones went out exactly
    once, and every enrollment completed."""
    while process_due(app)["claimed"]:
        pass
    final = [log for log in logs(app) if log.id not in stale]
    stats = fake.stats()
    assert len(final) + len(stale) == CONTACTS
    assert all(log.status == "sent" and log.wamid for log in final)
    assert all(stats["accepted_by_callback"].get(callback(log.id)) == 1 for log in final)
    assert all(log.wamid == fake.wamid_for(callback(log.id)) for log in final)
    assert stats["requests"] == stats["accepted"] == len(final)
    assert {e.status for e in enrollments(app).values()} == {"completed"}


@pytest.mark.parametrize("point", sorted(KILL_POINTS))
def test_a_kill_inside_a_transaction_fails_the_pass_cleanly(world, point):
    app, name, fake = world
    before = enrollments(app)
    kill = KillBefore(app, name, KILL_POINTS[point])
    try:
        with pytest.raises(OperationalError):
            process_due(app)
    finally:
        kill.remove()
    assert kill.killed >= 1
    run = last_run(app)
    assert run.ok is False and "OperationalError" in run.error

    drain_sends(app)
    after = logs(app)
    # Nothing half-written: no log has a wamid, an error or a retry (the recording's update
    # was rolled back whole); enrollments without a log are untouched.
    assert all(in_doubt(log) and not log.wamid and not log.error_code for log in after)
    leased = {log.enrollment_id for log in after}
    now = enrollments(app)
    assert all(now[e] == before[e] for e in before if e not in leased)
    if point == "claim":
        assert after == [] and fake.requests == 0  # rolled back before anything went out
    else:
        # The claimed batches went out (the recording died after): each reached the fake once.
        assert len(after) >= BATCH and fake.requests == len(after) == fake.accepted()

    # The next passes send the rest and leave the unsettled sends alone (never resent) ...
    while process_due(app)["claimed"]:
        pass
    assert sum(1 for log in logs(app) if in_doubt(log)) == len(after)
    # ... until Meta's status webhooks settle them; then they complete.
    assert settle_with_status_webhooks(app, fake) == len(after)
    finish_and_check(app, fake)


def test_a_kill_while_the_sends_are_in_flight_is_survived(world):
    """The pass's connection is back in the pool while the batch is sent (one batch here):
    the pool notices the dead connection when the pass records, and takes a new one."""
    app, name, fake = world
    app.config["PROCESSOR_BATCH_SIZE"] = CONTACTS + 1
    fake.latency_ms = 30
    killer = threading.Thread(
        target=lambda: (wait_until(lambda: fake.requests >= 20), terminate_backends(name))
    )
    killer.start()
    stats = process_due(app)
    killer.join(30)
    assert stats["sent"] == CONTACTS
    assert last_run(app).ok is True
    finish_and_check(app, fake)


def test_random_kills_during_passes_end_with_every_message_sent_once(world):
    app, name, fake = world
    app.config["PROCESSOR_BATCH_SIZE"] = 20
    fake.latency_ms = 40
    stop = threading.Event()
    kills = []

    def killer():
        rng = random.Random(5)
        while not stop.wait(rng.uniform(0.02, 0.12)):
            kills.append(terminate_backends(name))

    thread = threading.Thread(target=killer, daemon=True)
    thread.start()
    failed = 0
    try:
        for _ in range(200):
            try:
                if not process_due(app)["claimed"]:
                    break
            except OperationalError:
                failed += 1
    finally:
        stop.set()
        thread.join(10)
    assert sum(kills) > 0
    drain_sends(app)
    # Passes go on; whatever a kill cut short stays pending and is never sent again.
    while process_due(app)["claimed"]:
        pass
    unsettled = [log for log in logs(app) if in_doubt(log)]
    stats = fake.stats()
    assert stats["callbacks_accepted_more_than_once"] == 0
    assert all(stats["received_by_callback"].get(callback(log.id), 0) <= 1 for log in unsettled)
    # Meta's status webhooks settle the ones that went out; the stale rule, a day later,
    # fails the ones a kill stopped between the claim and the send (the processor cannot
    # tell them apart: both are claimed logs without an outcome).
    went_out = {log.id for log in unsettled if fake.wamid_for(callback(log.id))}
    assert settle_with_status_webhooks(app, fake, went_out) == len(went_out)
    later = utcnow() + timedelta(hours=25)
    with app.app_context():
        housekeeping.fail_stale_logs(db.session, later)
        db.session.commit()
        while run_processing_pass(later)["claimed"]:
            pass
    final = logs(app)
    stale = {log.id for log in final if log.status == "failed"}
    assert stale == {log.id for log in unsettled} - went_out
    assert all(log.error_code == "stale" for log in final if log.id in stale)
    assert all(stats["received_by_callback"].get(callback(i), 0) == 0 for i in stale)
    finish_and_check(app, fake, stale=stale)
    print({"kills": len(kills), "failed": failed, "went out": len(went_out), "stale": len(stale)})


def wait_until(predicate, limit: float = 30) -> None:
    deadline = time.monotonic() + limit
    while not predicate() and time.monotonic() < deadline:
        time.sleep(0.005)
