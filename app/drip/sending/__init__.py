"""Sending: the processor (claim, render, record, advance), send outcomes, housekeeping
and the sending health the pages show."""

from app.drip.sending.health import PROCESSING_JOB, queue_health
from app.drip.sending.housekeeping import (
    BATCH,
    delete_old_job_runs,
    delete_old_logs_batch,
    fail_stale_logs,
    refresh_campaign_counters,
)
from app.drip.sending.outcomes import record
from app.drip.sending.processor import Claim, Outgoing, claim

__all__ = [
    "BATCH",
    "PROCESSING_JOB",
    "Claim",
    "Outgoing",
    "claim",
    "delete_old_job_runs",
    "delete_old_logs_batch",
    "fail_stale_logs",
    "queue_health",
    "record",
    "refresh_campaign_counters",
]
