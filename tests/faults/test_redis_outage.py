"""Redis stopped in the middle of a processing pass and started again later, on a Redis server
of the test's own (another port), with the app on PostgreSQL.

Proven: while Redis is down the web app serves (the login page, dashboard pages, JSON API
reads and writes, a CSV import that would be queued on RQ) and the webhook accepts signed
deliveries and applies them; processing passes go on without Redis (pacing sends in-process)
and so does the cron endpoint; once Redis is back, passes use it again and finish the work.
In the end every enrollment's message went out exactly once (the fake's count per log) and
every delivery was applied once.
"""

from __future__ import annotations

import io
import socket
import subprocess
import threading
import time
from datetime import timedelta

import pytest
from redis import Redis
from sqlalchemy import func, select

from app.extensions import db
from app.models import (
    Contact,
    ContactImport,
    DripEnrollment,
    DripMessageLog,
    InboundMessage,
    Organization,
    WebhookEvent,
    utcnow,
)
from app.tasks import jobs
from app.whatsapp import rate_limit
from tests.conftest import login, make_org
from tests.fakes.cloud_api import FakeCloudApi
from tests.faults import meta
from tests.faults.world import callback, dispose, in_doubt, logs, pg_app, unique_phone_number_id
from tests.integration.enrollment_world import make_campaign
from tests.support.accounts import send_through_fake
from tests.support.scratch import enroll_generated_contacts
from tests.support.window import wrote_to_us

pytestmark = pytest.mark.slow  # registered for the fault tests; CI runs them all

CONTACTS = 400
EXTRA = 100  # enrolled while Redis is down, sent once it is back
CRON_SECRET = "cron-secret-for-the-outage"
APP_SECRET = "s"  # tests.support.accounts.send_through_fake's


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class RedisServer:
    """redis-server on a port of its own, nothing saved to disk; stopped and started again."""

    def __init__(self, directory) -> None:
        self.port, self.directory = free_port(), directory
        self.process: subprocess.Popen | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> None:
        command = ["redis-server", "--port", str(self.port), "--bind", "127.0.0.1"]
        command += ["--save", "", "--appendonly", "no", "--dir", str(self.directory)]
        self.process = subprocess.Popen(
            command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
        )
        client = Redis.from_url(self.url)
        deadline = time.monotonic() + 10
        while True:
            try:
                client.ping()
                break
            except Exception:
                if time.monotonic() > deadline or self.process.poll() is not None:
                    raise
                time.sleep(0.02)
        client.close()

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            self.process.wait(10)
        self.process = None


@pytest.fixture
def redis_server(tmp_path):
    server = RedisServer(tmp_path)
    server.start()
    yield server
    server.stop()


@pytest.fixture
def world(tmp_path_factory, redis_server):
    app, _ = pg_app(
        tmp_path_factory, "faults_redis", redis_url=redis_server.url, cron_secret=CRON_SECRET
    )
    app.config.update(PROCESSOR_BATCH_SIZE=50, SEND_CONCURRENCY=8)
    org = make_org(app, "Outage")
    fake = FakeCloudApi(keep_bodies=0, phone_number_id=unique_phone_number_id(), latency_ms=10)
    with fake:
        with app.app_context():  # not held while the test runs: requests bring their own
            session = db.session
            send_through_fake(app, session, session.get(Organization, org.org_id), fake, rate=200)
            campaign = make_campaign(session, org.org_id, steps=((0, "minutes"), (1, "days")))
            enroll_generated_contacts(session, org.org_id, campaign, CONTACTS)
            extra = [
                Contact(organization_id=org.org_id, phone=f"+1303555{n:04d}", first_name=f"E{n}")
                for n in range(EXTRA)
            ]
            session.add_all(extra)
            session.commit()
            campaign_id = campaign.id
        yield app, org, fake, campaign_id
    dispose(app)


def in_background(app, func):
    """Run func() in an app context on a thread; (thread, box of its result or error)."""
    box = {}

    def target():
        with app.app_context():
            try:
                box["result"] = func()
            except BaseException as exc:
                box["error"] = exc

    thread = threading.Thread(target=target, daemon=True)
    thread.start()
    return thread, box


def wait_for(predicate, limit: float = 60) -> None:
    deadline = time.monotonic() + limit
    while not predicate():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.01)


def sent_logs(app) -> list:
    return [log for log in logs(app) if log.status != "pending"]


def csv_of(rows: int) -> bytes:
    lines = ["phone,first_name"] + [f"+1303{2000000 + n:07d},Imported{n}" for n in range(rows)]
    return ("\n".join(lines) + "\n").encode()


def create_a_contact_who_wrote_to_us(app, web, api: dict) -> int:
    """Through the API while Redis is down; they wrote to us, so free text reaches them."""
    created = web.post(
        "/api/contacts", json={"phone": "+12025550123", "firstName": "Late"}, headers=api
    )
    assert created.status_code == 201, created.json
    with app.app_context():
        wrote_to_us(db.session, utcnow(), contact_ids=[created.json["data"]["id"]])
        db.session.commit()
    return created.json["data"]["id"]


def test_the_app_serves_and_sending_resumes_through_a_redis_outage(
    world, redis_server, monkeypatch
):
    app, org, fake, campaign_id = world
    # The rate limiter asks Redis again at every send, so the pass after the restart uses it.
    monkeypatch.setattr(rate_limit, "REDIS_RETRY_SECONDS", 0)
    web = app.test_client()
    assert login(web, org.email).status_code == 302

    # Redis goes away in the middle of a pass that is sending.
    thread, box = in_background(app, jobs.process_due)
    wait_for(lambda: fake.requests >= 60)
    redis_server.stop()
    assert fake.requests < CONTACTS, "Redis stopped while the pass was sending"
    thread.join(120)
    assert "error" not in box, f"the pass failed without Redis: {box.get('error')!r}"
    assert box["result"]["sent"] == CONTACTS, box["result"]

    # The web app serves: pages, API reads and writes, a CSV import, the webhook.
    api = {"Authorization": f"Bearer {org.api_key}"}
    assert web.get("/login").status_code in (200, 302)
    assert app.test_client().get("/login").status_code == 200
    assert web.get("/campaigns").status_code == 200
    assert web.get(f"/campaigns/{campaign_id}").status_code == 200
    answer = web.get(f"/api/drip-campaigns/{campaign_id}/enrollments", headers=api)
    assert answer.status_code == 200 and answer.json["meta"]["total"] == CONTACTS
    late_id = create_a_contact_who_wrote_to_us(app, web, api)
    upload = web.post(
        "/api/contacts/import",
        data={"file": (io.BytesIO(csv_of(5001)), "big.csv")},
        headers=api,
        content_type="multipart/form-data",
    )
    assert upload.status_code == 202, upload.json
    apply_deliveries_without_redis(app, web, fake)

    # A pass without Redis (the cron endpoint) sends what became due meanwhile.
    enrolled = web.post(
        f"/api/drip-campaigns/{campaign_id}/enrollments",
        json={"contactIds": [late_id]},
        headers=api,
    )
    assert enrolled.status_code in (200, 201) and enrolled.json["data"]["enrolled"] == 1
    cron = {"Authorization": f"Bearer {CRON_SECRET}"}
    answer = web.post("/api/cron/drip-processor", headers=cron)
    assert answer.status_code == 200, answer.json
    assert answer.json["data"]["sent"] == 1
    with app.app_context():  # as RQ's cron would run it: the interval check needs no Redis
        assert "campaigns" in jobs.run_recurring("refresh_counters")

    # More enrollments while Redis is down; Redis comes back and a pass sends them through it.
    with app.app_context():
        extra = db.session.scalars(select(Contact.id).where(Contact.phone.like("+1303555%")))
        extra = list(extra)
        wrote_to_us(db.session, utcnow(), contact_ids=extra)  # so free text reaches them
        db.session.commit()
    enrolled = web.post(
        f"/api/drip-campaigns/{campaign_id}/enrollments", json={"contactIds": extra}, headers=api
    )
    assert enrolled.status_code in (200, 201) and enrolled.json["data"]["enrolled"] == EXTRA
    redis_server.start()
    with app.app_context():
        stats = jobs.process_due()
        assert (stats["claimed"], stats["sent"]) == (EXTRA, EXTRA), stats
        assert jobs.process_due()["claimed"] == 0
        wait_for(lambda: import_done(upload.json["data"]["importId"]), limit=120)
        imported = db.session.scalar(
            select(func.count()).select_from(Contact).where(Contact.first_name.like("Imported%"))
        )
        assert imported == 5001
    rate_keys = Redis.from_url(redis_server.url).keys("drip:rate:*")
    assert rate_keys, "the rate limiter uses Redis again"
    assert_everything_sent_once(app, fake, CONTACTS + 1 + EXTRA)


def import_done(import_id: int) -> bool:
    db.session.rollback()
    return db.session.get(ContactImport, import_id).status == "done"


def apply_deliveries_without_redis(app, web, fake):
    """Statuses of the first messages and replies to some: 200, applied, a repeat ignored."""
    sent = sorted(sent_logs(app), key=lambda log: log.id)[:30]
    now = meta.unix(utcnow())
    statuses = [meta.status(log.wamid, "delivered", now + 1) for log in sent]
    statuses += [meta.status(log.wamid, "read", now + 2) for log in sent[:10]]
    with app.app_context():
        phones = dict(
            db.session.execute(
                select(DripEnrollment.id, Contact.phone).join(
                    Contact, Contact.id == DripEnrollment.contact_id
                )
            ).all()
        )
    replies = [
        meta.text_message(f"wamid.IN.{log.id}", phones[log.enrollment_id][1:], now + 5, "hi")
        for log in sent[:5]
    ]
    for body in (
        meta.delivery(fake.phone_number_id, statuses=statuses[:20]),
        meta.delivery(fake.phone_number_id, statuses=statuses[20:], messages=replies),
    ):
        for _ in range(2):  # Meta delivers at least once
            answer = meta.post(web, body, APP_SECRET)
            assert answer.status_code == 200, answer.json
            assert "deferred" not in answer.json["data"]
    with app.app_context():
        by_id = {
            log.id: log
            for log in db.session.scalars(
                select(DripMessageLog).where(DripMessageLog.id.in_([x.id for x in sent]))
            )
        }
        assert [by_id[x.id].status for x in sent] == ["read"] * 10 + ["delivered"] * 20
        assert all(by_id[x.id].replied_at is not None for x in sent[:5])
        stopped = db.session.scalars(
            select(DripEnrollment.status).where(
                DripEnrollment.id.in_([x.enrollment_id for x in sent[:5]])
            )
        ).all()
        assert stopped == ["stopped"] * 5
        assert db.session.scalar(select(func.count()).select_from(InboundMessage)) == 5
        events = db.session.scalars(select(WebhookEvent.applied_at)).all()
        assert len(events) == 2 and all(events)
        db.session.rollback()


def assert_everything_sent_once(app, fake, expected: int) -> None:
    final = logs(app)
    assert not [log for log in final if in_doubt(log)]
    stats = fake.stats()
    assert len(final) == expected
    assert all(log.status in ("sent", "delivered", "read") for log in final)
    assert all(stats["accepted_by_callback"].get(callback(log.id)) == 1 for log in final)
    assert stats["callbacks_accepted_more_than_once"] == 0
    assert stats["accepted"] == expected
    with app.app_context():
        waiting = db.session.scalar(
            select(func.count())
            .select_from(DripEnrollment)
            .where(
                DripEnrollment.status == "active",
                DripEnrollment.next_send_at <= utcnow() + timedelta(hours=1),
            )
        )
        assert waiting == 0
        db.session.rollback()
