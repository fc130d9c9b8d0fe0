"""Job entry points, the recurring-job list, the in-process scheduler and the processing
pass (transactions, threads, rate limits)."""

from app.tasks.jobs import RECURRING, process_due, run_contact_import
from app.tasks.processing import PassStats, routes_for
from app.tasks.queue import enqueue
from app.tasks.scheduler import start_embedded
from app.tasks.template_sync import sync_catalog

__all__ = [
    "RECURRING",
    "PassStats",
    "enqueue",
    "process_due",
    "routes_for",
    "run_contact_import",
    "start_embedded",
    "sync_catalog",
]
