"""Shared pieces of the fault tests: a PostgreSQL schema of their own with due enrollments
that send through a fake Cloud API, worker processes, and readings of the end state.

Every test uses a phone number id of its own: the rate limiter's Redis timeline is keyed by
it, and other test runs share the test Redis.
"""

from __future__ import annotations

import itertools
import json
import os
import subprocess
import sys
import time
from datetime import timedelta
from pathlib import Path

from flask_migrate import upgrade
from sqlalchemy import create_engine, select, text

from app import create_app
from app.config import TestConfig
from app.drip import accounts
from app.extensions import db
from app.models import Contact, DripEnrollment, DripMessageLog
from tests.conftest import database_url, pg_base_url
from tests.integration.enrollment_world import make_campaign
from tests.support.accounts import send_through_fake
from tests.support.run_passes import write_atomically
from tests.support.scratch import enroll_generated_contacts

REDIS_URL = os.environ.get("TEST_REDIS_URL", "redis://127.0.0.1:6379/15")
ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
LEASE_PLUS = timedelta(minutes=11).total_seconds()  # past processor.LEASE
_numbers = itertools.count(1)


def unique_phone_number_id() -> str:
    return f"7{os.getpid() % 10**8:08d}{next(_numbers):06d}"


def with_application_name(url: str, name: str) -> str:
    """The URL with an application_name, so pg_stat_activity tells its connections apart."""
    return f"{url}{'&' if '?' in url else '?'}application_name={name}"


def pg_app(tmp_path_factory, name: str, application_name: str | None = None, **config):
    """An app on a fresh schema of the test database, built by the migrations."""
    url = database_url("postgresql", tmp_path_factory, name)
    if application_name:
        url = with_application_name(url, application_name)
    app = create_app(TestConfig(database_url=url, **config))
    with app.app_context():
        upgrade()
    return app, url


def populate(app, fake, contacts: int, *, steps=((0, "minutes"),), rate: int = 1000, **campaign):
    """One organization sending through `fake`, one active campaign, `contacts` enrolled (due
    now). Returns (org id, campaign id)."""
    with app.app_context():
        session = db.session
        org = accounts.create_organization(session, f"Faults {next(_numbers)}")
        send_through_fake(app, session, org, fake, rate=rate)
        made = make_campaign(session, org.id, steps=steps, **campaign)
        enroll_generated_contacts(session, org.id, made, contacts)
        session.commit()
        return org.id, made.id


def dispose(app) -> None:
    with app.app_context():
        db.session.remove()
        db.engine.dispose()


# --- worker processes -----------------------------------------------------------------------


def start_worker(url: str, *extra: str, redis: str | None = REDIS_URL) -> subprocess.Popen:
    command = [sys.executable, "-m", "tests.support.run_passes", url]
    if redis:
        command += ["--redis", redis]
    return subprocess.Popen(
        [*command, *extra],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


class Clock:
    """The clock offset of workers started with its args() (run_passes --control): they run
    passes at it until nothing is due, then wait for it to move on."""

    def __init__(self, directory: Path) -> None:
        self.path = directory / "clock"
        self.offset = 0.0
        write_atomically(self.path, str(self.offset))

    def args(self) -> list[str]:
        return ["--control", str(self.path)]

    def advance(self, seconds: float) -> None:
        self.offset += seconds
        write_atomically(self.path, str(self.offset))

    def stop(self) -> None:
        write_atomically(self.path, "stop")

    def wait_idle(self, workers: list[subprocess.Popen], limit: float = 300) -> None:
        """Until every worker has found nothing due at the current offset."""
        deadline = time.monotonic() + limit
        while not all(self._idle(worker) for worker in workers):
            assert all(worker.poll() is None for worker in workers), "a worker stopped"
            assert time.monotonic() < deadline, "the workers did not finish the round"
            time.sleep(0.02)

    def _idle(self, worker: subprocess.Popen) -> bool:
        done = self.path.with_name(f"{self.path.name}.idle.{worker.pid}")
        return done.exists() and done.read_text() == str(self.offset)


def finish(workers: list[subprocess.Popen], timeout: float = 300) -> list[dict]:
    """Wait for the workers; each one's totals (they must all exit cleanly). On a timeout,
    every worker still running is killed."""
    try:
        outputs = [worker.communicate(timeout=timeout) for worker in workers]
    except subprocess.TimeoutExpired:
        for worker in workers:
            worker.kill()
            worker.communicate()
        raise
    failed = [
        err[-3000:] for worker, (_, err) in zip(workers, outputs, strict=True) if worker.returncode
    ]
    assert failed == [], failed
    return [json.loads(out.strip().splitlines()[-1]) for out, _ in outputs]


# --- the database, from outside ---------------------------------------------------------------


def terminate_backends(application_name: str) -> int:
    """pg_terminate_backend every connection of this database with that application_name
    (only ours: other test runs share the database); waits until each one is gone."""
    engine = create_engine(
        pg_base_url().replace("postgresql://", "postgresql+psycopg://", 1),
        isolation_level="AUTOCOMMIT",
    )
    try:
        with engine.connect() as conn:
            return len(
                conn.execute(
                    text(
                        "SELECT pg_terminate_backend(pid, 5000) FROM pg_stat_activity "
                        "WHERE datname = current_database() AND pid <> pg_backend_pid() "
                        "AND application_name = :name"
                    ),
                    {"name": application_name},
                ).all()
            )
    finally:
        engine.dispose()


def logs(app) -> list:
    """Every message log: id, enrollment, status, attempts, error, retry_at, wamid, times."""
    with app.app_context():
        rows = db.session.execute(
            select(
                DripMessageLog.id,
                DripMessageLog.enrollment_id,
                DripMessageLog.step_id,
                DripMessageLog.status,
                DripMessageLog.attempts,
                DripMessageLog.error_code,
                DripMessageLog.error_message,
                DripMessageLog.retry_at,
                DripMessageLog.wamid,
                DripMessageLog.created_at,
                DripMessageLog.sent_at,
            ).order_by(DripMessageLog.id)
        ).all()
        db.session.rollback()
        return rows


def enrollments(app) -> dict:
    """Every enrollment by id: status, stop reason, current step, next_send_at."""
    with app.app_context():
        rows = db.session.execute(
            select(
                DripEnrollment.id,
                DripEnrollment.status,
                DripEnrollment.stop_reason,
                DripEnrollment.current_step_id,
                DripEnrollment.next_send_at,
            )
        ).all()
        db.session.rollback()
        return {row.id: row for row in rows}


def enrollment_phones(app) -> dict[int, str]:
    """Each enrollment's contact phone, as Meta's `to` (digits only)."""
    with app.app_context():
        rows = db.session.execute(
            select(DripEnrollment.id, Contact.phone).join(
                Contact, Contact.id == DripEnrollment.contact_id
            )
        ).all()
        db.session.rollback()
        return {row.id: row.phone.lstrip("+") for row in rows}


def callback(log_id: int) -> str:
    return f"log={log_id}"


def in_doubt(log) -> bool:
    """A pending log with no retry planned: a send that may have reached Meta whose outcome
    was never recorded (a kill, a lost answer). Never resent; the stale rule settles it."""
    return log.status == "pending" and log.retry_at is None
