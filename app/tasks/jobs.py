"""Job entry points (RQ, or app.tasks.queue's embedded thread): they take ids, load, call drip,
commit. Each runs inside an app context (worker.py's, or the embedded thread's).

The recurring jobs are declared once, in RECURRING: worker.py registers them with RQ's cron
scheduler, app.tasks.scheduler runs them in-process without Redis. Each is safe to run twice and
never runs beside itself (app.tasks.scheduler.job_lock); each run is recorded as a JobRun.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import datetime

from flask import current_app
from sqlalchemy.orm import Session

from app.drip import ab, analytics, contacts, engagement, sending
from app.drip.sending import PROCESSING_JOB
from app.extensions import db
from app.models import JobRun, utcnow
from app.tasks import partitions as history_partitions
from app.tasks import processing
from app.tasks.queue import enqueue
from app.tasks.scheduler import RecurringJob, claim_interval, job_lock
from app.tasks.template_sync import sync_all
from app.tasks.webhook_sweep import sweep_webhook_events

log = logging.getLogger(__name__)

SKIPPED = {"skipped": True, "reason": "already running"}
# A job enqueued twice for one interval (two cron schedulers) runs once: the second copy
# finds the first's mark, which lasts this share of the interval. Half, so that a run that
# started late does not make the next, punctual one skip.
INTERVAL_MARK_SHARE = 0.5


def run_contact_import(import_id: int) -> None:
    """Import a queued CSV, one committed chunk at a time.

    Safe to run again after a crash: it continues after the rows already committed; an import
    that is done is left alone.
    """
    session = db.session
    run = contacts.start(session, import_id)
    if run is None:
        return
    session.commit()
    try:
        for chunk in contacts.pending_chunks(session, run):
            contacts.apply_chunk(session, run, chunk)
            session.commit()
        contacts.finish(session, run)
        session.commit()
    except Exception as exc:
        session.rollback()
        contacts.fail(session, import_id, f"{exc.__class__.__name__}: {exc}")
        session.commit()
        raise


# --- recurring jobs ------------------------------------------------------------------------


def process_due() -> dict:
    """One processing pass: send every step that is due (app.tasks.processing commits).

    With PROCESSOR_CONCURRENT_PASSES above 1, a pass that finds a full batch due asks for
    another pass beside it (which runs when a slot and a worker are free, else is skipped),
    so a backlog is worked by up to that many workers at once. With PROCESSOR_HAND_ON, a pass
    that stopped on its time budget with more due is followed at once by the next one
    instead of at the next interval."""
    config = current_app.config
    # SQLite has no SKIP LOCKED: two passes would claim the same rows (the log's unique guard
    # would stop the second send, and fail that pass). One pass at a time there.
    slots = config.get("PROCESSOR_CONCURRENT_PASSES", 1) if _skips_locked() else 1
    beside = (lambda: enqueue(process_due)) if slots > 1 else None
    stats = run_job(
        PROCESSING_JOB,
        lambda session, now: processing.run_processing_pass(on_backlog=beside),
        slots=slots,
    )
    if stats.get("more_due") and config.get("PROCESSOR_HAND_ON"):
        enqueue(process_due)  # after this pass's lock is released: the next one takes it
    return stats


def _skips_locked() -> bool:
    return db.engine.dialect.name == "postgresql"


def sandbox_tick() -> dict:
    """Deliver the simulated statuses and replies of sandbox messages whose time has come."""
    return run_job(
        "sandbox_tick",
        lambda session, now: {"applied": engagement.apply_due_sandbox_events(session, now)},
    )


def sweep_webhooks() -> dict:
    """Apply recorded webhook deliveries whose application failed (one transaction each)."""
    return run_job(
        "sweep_webhooks",
        lambda session, now: sweep_webhook_events(session, now, engagement.SWEEP_LIMIT),
    )


def refresh_counters() -> dict:
    return run_job(
        "refresh_counters",
        lambda session, now: {"campaigns": sending.refresh_campaign_counters(session, now)},
    )


def compact_rollups() -> dict:
    """Merge the analytics rollup rows appended since the last run."""
    return run_job(
        analytics.JOB_NAME,
        lambda session, now: analytics.compact_all(session, analytics.last_watermarks(session)),
    )


def check_ab_tests() -> dict:
    return run_job(
        "check_ab_tests",
        lambda session, now: {"winners": ab.check_for_winners(session, now)},
    )


def sync_templates() -> dict:
    """Sync the template catalog of every organization with a WhatsApp account."""
    return run_job("sync_templates", sync_all)


def fail_stale() -> dict:
    """Mark pending logs older than 24 hours failed, a committed batch at a time."""

    def body(session: Session, now: datetime) -> dict:
        failed, batches = in_batches(
            session, lambda batch: sending.fail_stale_logs(session, now, batch=batch)
        )
        return {"failed": failed, "batches": batches}

    return run_job("fail_stale", body)


def purge_old_logs() -> dict:
    """Delete message logs past LOG_RETENTION_DAYS, a committed batch at a time (no long
    lock), and job runs past their own retention."""

    def body(session: Session, now: datetime) -> dict:
        days = current_app.config["LOG_RETENTION_DAYS"]
        # On PostgreSQL the months of status events, deliveries and inbound messages past
        # retention go first, whole (app.drip.sending.partitions); the logs then go up to the
        # same month boundary, so their cascade finds no event left to delete row by row.
        sending.drop_expired_partitions(session, now, days=days)
        session.commit()
        cutoff = sending.logs_cutoff(session, now, days=days)
        deleted, batches = in_batches(
            session,
            lambda batch: sending.delete_old_logs_batch(session, cutoff, days=0, batch=batch),
        )
        job_runs = sending.delete_old_job_runs(session, now)
        return {"deleted": deleted, "batches": batches, "job_runs_deleted": job_runs}

    return run_job("purge_old_logs", body)


def manage_partitions() -> dict:
    return run_job(history_partitions.JOB_NAME, history_partitions.manage_partitions)


RECURRING = [
    RecurringJob(PROCESSING_JOB, process_due, 30, interval_setting="PROCESSOR_INTERVAL_SECONDS"),
    RecurringJob("sandbox_tick", sandbox_tick, 30),
    RecurringJob("sweep_webhooks", sweep_webhooks, 60),
    RecurringJob("refresh_counters", refresh_counters, 5 * 60),
    RecurringJob("check_ab_tests", check_ab_tests, 5 * 60),
    RecurringJob(analytics.JOB_NAME, compact_rollups, 5 * 60),
    RecurringJob("fail_stale", fail_stale, 60 * 60),
    RecurringJob("sync_templates", sync_templates, 60 * 60),
    RecurringJob("purge_old_logs", purge_old_logs, 24 * 60 * 60, timeout_seconds=3 * 60 * 60),
    RecurringJob(history_partitions.JOB_NAME, manage_partitions, 24 * 60 * 60),
]


def run_recurring(name: str) -> dict:
    """What RQ's cron enqueues: the recurring job `name`, at most once per interval however
    many cron schedulers enqueued it."""
    job = next(job for job in RECURRING if job.name == name)
    seconds = job.interval(current_app.config) * INTERVAL_MARK_SHARE
    if not claim_interval(name, seconds):
        log.info("job %s already ran in this interval; skipped", name)
        return {"skipped": True, "reason": "already ran in this interval"}
    return job.func()


# --- running a job -------------------------------------------------------------------------


def run_job(name: str, body: Callable[[Session, datetime], dict | None], slots: int = 1) -> dict:
    """Run body(session, now) under one of the job's `slots` locks, recorded as a JobRun;
    its stats.

    Returns SKIPPED at once when another run of the job holds the lock. A failure is recorded
    and raised again (RQ marks the job failed; the embedded runner logs it).
    """
    with job_lock(name, slots) as acquired:
        if not acquired:
            log.info("job %s is already running; skipped", name)
            return dict(SKIPPED)
        return _recorded(name, body)


def _recorded(name: str, body: Callable[[Session, datetime], dict | None]) -> dict:
    session = db.session
    now = utcnow()
    run = JobRun(name=name, started_at=now)
    session.add(run)
    session.commit()
    run_id = run.id
    try:
        stats = body(session, now) or {}
        session.commit()
    except Exception as exc:
        session.rollback()
        _finish(session, run_id, ok=False, error=f"{exc.__class__.__name__}: {exc}"[:2000])
        raise
    _finish(session, run_id, ok=True, stats=stats)
    return stats


def _finish(session: Session, run_id: int, *, ok: bool, stats=None, error=None) -> None:
    run = session.get(JobRun, run_id)
    run.finished_at, run.ok, run.stats, run.error = utcnow(), ok, stats, error
    session.commit()


def in_batches(session: Session, step: Callable[[int], int]) -> tuple[int, int]:
    """Call step(batch) and commit until a batch comes back short: (rows, batches)."""
    batch = sending.BATCH
    total = batches = 0
    while True:
        done = step(batch)
        session.commit()
        total, batches = total + done, batches + 1
        if done < batch:
            return total, batches
