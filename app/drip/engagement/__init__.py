"""What comes back from WhatsApp: statuses, replies, opt-out keywords, tracked links, webhook
deliveries recorded and applied, and the sandbox's simulated events."""

from app.drip.engagement.keywords import REASON_KEYWORD, REASON_META_OPT_OUT
from app.drip.engagement.links import Message, find_urls, lookup, record_click, track_batch
from app.drip.engagement.opt_out import mark_undeliverable, opt_out_contact
from app.drip.engagement.sandbox import apply_due_sandbox_events
from app.drip.engagement.statuses import ENROLLMENT_ENDING, Failure
from app.drip.engagement.webhooks import (
    SWEEP_LIMIT,
    accounts_for,
    apply_batch,
    lock_unapplied,
    mark_failed,
    record_delivery,
    unapplied_deliveries,
)
from app.drip.engagement.window import SERVICE_WINDOW, window_open

__all__ = [
    "ENROLLMENT_ENDING",
    "REASON_KEYWORD",
    "REASON_META_OPT_OUT",
    "SERVICE_WINDOW",
    "SWEEP_LIMIT",
    "Failure",
    "Message",
    "accounts_for",
    "apply_batch",
    "apply_due_sandbox_events",
    "find_urls",
    "lock_unapplied",
    "lookup",
    "mark_failed",
    "mark_undeliverable",
    "opt_out_contact",
    "record_click",
    "record_delivery",
    "track_batch",
    "unapplied_deliveries",
    "window_open",
]
