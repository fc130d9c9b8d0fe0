"""The pieces of applying a WhatsApp status to a message log: finding (or settling) the log,
recording the (wamid, status) once, merging it forward-only, and what a failure means for the
contact and the enrollment. app.drip.engagement.apply_status puts them together.

Merging is order-independent, so deliveries that repeat and arrive out of order end in the
state that applying them once, in time order, gives:
- status only moves up the ranks pending < sent < failed < delivered < read (a failure
  reported after the message arrived keeps delivered/read: it did arrive);
- each time is the earliest report of it: read implies delivered (at the read time, until the
  real delivery time comes), delivered and read imply sent (sent_at is kept once set).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from app.drip.engagement.keywords import REASON_META_OPT_OUT
from app.drip.engagement.opt_out import mark_undeliverable, opt_out_contact
from app.drip.engagement.replies import reconcile_replies
from app.drip.enrollment import end_enrollments_from
from app.drip.sql import insert_once
from app.models import DripEnrollment, DripMessageLog, WhatsAppStatusEvent
from app.whatsapp import SendError

STATUSES = ("sent", "delivered", "read", "failed")
RANK = {"pending": 0, "sent": 1, "failed": 2, "delivered": 3, "read": 4}
UNKNOWN_FAILURE = "WhatsApp reported the message as failed without saying why"
# Codes that end the enrollment of the failed message, with the reason recorded on it.
ENROLLMENT_ENDING = {
    "131026": "undeliverable",
    "131047": "outside_24h_window: use a template",
}


@dataclass(frozen=True)
class Failure:
    """errors[0] of a failed status: Meta's code and title, and a reason a marketer can act on."""

    code: str | None
    title: str | None
    reason: str

    @classmethod
    def from_errors(cls, errors: list[dict[str, Any]] | None) -> Failure:
        first = errors[0] if errors and isinstance(errors[0], dict) else None
        if first is None:
            return cls(None, None, UNKNOWN_FAILURE)
        error = SendError.from_api_error(first)
        return cls(error.code, error.title, error.reason)


def log_for_wamid(session: Session, organization_id: int, wamid: str) -> DripMessageLog | None:
    """The organization's log with this wamid, locked until the transaction ends (two
    statuses of one message applied at once must not overwrite each other)."""
    return _locked(
        session,
        DripMessageLog.organization_id == organization_id,
        DripMessageLog.wamid == wamid,
    )


# The key holds the month the events are partitioned by (0018): their log's created_at, the
# same for every status of a wamid, so a repeat meets its first copy whatever Meta's timestamp.
EVENT_KEY = ("organization_id", "wamid", "status", "message_created_at")


def event_row(log: DripMessageLog, wamid: str, status: str, at, failure) -> dict:
    """The whatsapp_status_events row recording (wamid, status) for a log."""
    return {
        "organization_id": log.organization_id,
        "message_log_id": log.id,
        "wamid": wamid,
        "status": status,
        "occurred_at": at,
        "message_created_at": log.created_at,
        "error_code": failure.code if failure else None,
        "error_title": failure.title if failure else None,
    }


def unsettled_log(
    session: Session, organization_id: int, log_id: int | None
) -> DripMessageLog | None:
    """The organization's pending log without a wamid named by a status's callback data: a send
    whose answer was lost (ambiguous timeout). None when there is no such log."""
    if log_id is None:
        return None
    return _locked(
        session,
        DripMessageLog.organization_id == organization_id,
        DripMessageLog.id == log_id,
        DripMessageLog.status == "pending",
        DripMessageLog.wamid.is_(None),
    )


def _locked(session: Session, *where) -> DripMessageLog | None:
    query = (
        select(DripMessageLog)
        .where(*where)
        .with_for_update()
        .execution_options(populate_existing=True)
    )
    return session.scalars(query).first()


def record_event(
    session: Session,
    log: DripMessageLog,
    wamid: str,
    status: str,
    at: datetime,
    failure: Failure | None,
) -> bool:
    """Record (wamid, status) once for the log's organization; False when it was recorded
    before (a repeat)."""
    values = event_row(log, wamid, status, at, failure)
    return insert_once(session, WhatsAppStatusEvent, values, EVENT_KEY) is not None


def retired_log_id(session: Session, organization_id: int, wamid: str) -> int | None:
    """The log that once had this wamid and no longer has it (a message Meta held back for
    the per-user marketing cap, 131049, tried again under a new wamid; app.drip.sending.
    marketing_cap), found by the events kept for it; None for a wamid never seen."""
    return session.scalar(
        select(WhatsAppStatusEvent.message_log_id)
        .where(
            WhatsAppStatusEvent.organization_id == organization_id,
            WhatsAppStatusEvent.wamid == wamid,
            WhatsAppStatusEvent.message_log_id.is_not(None),
        )
        .limit(1)
    )


def record_retired(
    session: Session,
    organization_id: int,
    log_id: int,
    wamid: str,
    status: str,
    at: datetime,
    failure: Failure | None,
) -> bool:
    """Keep a late status of a retired wamid as an event of its log (once), without applying
    it: the log has moved on to its next try. False for a repeat."""
    created_at = session.scalar(
        select(DripMessageLog.created_at).where(DripMessageLog.id == log_id)
    )
    values = {
        "organization_id": organization_id,
        "message_log_id": log_id,
        "wamid": wamid,
        "status": status,
        "occurred_at": at,
        # The log is there: its events cascade from it, and one of them named it.
        "message_created_at": created_at,
        "error_code": failure.code if failure else None,
        "error_title": failure.title if failure else None,
    }
    return insert_once(session, WhatsAppStatusEvent, values, EVENT_KEY) is not None


def settle(session: Session, log: DripMessageLog, wamid: str, now: datetime) -> None:
    """Give an ambiguous send its wamid, and wake its enrollment if it still waits on that step
    (parked by the processor), so the next processing pass moves it on."""
    log.wamid = wamid
    log.error_code = log.error_message = None  # the ambiguity is resolved
    session.execute(
        update(DripEnrollment)
        .where(
            DripEnrollment.id == log.enrollment_id,
            DripEnrollment.status == "active",
            DripEnrollment.current_step_id == log.step_id,
        )
        .values(next_send_at=now)
        .execution_options(synchronize_session="fetch")
    )


def merge(log: DripMessageLog, status: str, at: datetime, failure: Failure | None) -> None:
    """Apply one status to the log, forward-only, keeping the earliest time of each stage."""
    if status in ("sent", "delivered", "read") and log.sent_at is None:
        log.sent_at = at
    if status in ("delivered", "read"):
        log.delivered_at = _earliest(log.delivered_at, at)
    if status == "read":
        log.read_at = _earliest(log.read_at, at)
    if status == "failed":
        log.failed_at = _earliest(log.failed_at, at)
        log.error_code = failure.code if failure else None
        log.error_message = failure.reason if failure else UNKNOWN_FAILURE
    if RANK[status] > RANK.get(log.status, 0):
        log.status = status


def _earliest(current: datetime | None, at: datetime) -> datetime:
    return at if current is None or at < current else current


def apply_failure(session: Session, log: DripMessageLog, failure: Failure, at: datetime) -> None:
    """What a failure says beyond this message: 131050 opts the contact out everywhere,
    131026 marks the contact undeliverable (the earliest time kept); 131026 and 131047 end
    the enrollment when the message really failed (not when it had been delivered), again at
    this earlier time when a later event of the contact ended it. Replies after the failure
    are judged again for its enrollment: the message had failed when they came."""
    if failure.code == "131050":
        opt_out_contact(session, log.contact_id, REASON_META_OPT_OUT, at)
    if failure.code == "131026":
        mark_undeliverable(session, log.contact_id, at)
    reason = ENROLLMENT_ENDING.get(failure.code or "")
    if reason is not None and log.status == "failed":
        end_enrollments_from(
            session, DripEnrollment.id == log.enrollment_id, status="failed", reason=reason, at=at
        )
    if log.failed_at == at:  # this failure is the message's earliest
        reconcile_replies(session, log.contact_id, [log.enrollment_id], at)
