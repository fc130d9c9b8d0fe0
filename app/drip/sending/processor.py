"""One processing pass, as domain steps the caller (app.tasks.processing) runs in its transactions:

1. claim(): due enrollments of active campaigns, locked with SKIP LOCKED on PostgreSQL, are
   leased (next_send_at pushed out) and get their message log inserted first: the unique
   (enrollment, step) log is the guard against a second send. Commit, then
2. the messages go out (app.tasks.processing, outside any transaction), then
3. record(): wamids, failures and retries are written and enrollments advance. Commit.

A crash between 1 and 3 leaves logs pending without retry_at: they may have reached Meta, so
they are never resent; a status webhook settles them or the 24-hour stale rule fails them.
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from sqlalchemy import literal, select, update
from sqlalchemy.orm import Session

from app.drip import templates
from app.drip.enrollment import (
    STOP_REASON_OPTED_OUT,
    STOP_REASON_OUTSIDE_WINDOW,
    end_enrollments,
)
from app.drip.sending.advance import Advancer
from app.drip.sending.gates import gate
from app.drip.sending.messages import Outgoing, render_messages
from app.drip.sending.plan import Decisions, decide
from app.drip.sql import as_utc, id_in
from app.models import (
    Contact,
    DripCampaign,
    DripEnrollment,
    DripMessageLog,
    WhatsAppAccount,
)
from app.models.base import UTCDateTime

LEASE = timedelta(minutes=10)
# A pending log without retry_at may have been accepted by Meta: wait for its status webhook
# or for the stale rule (24 h) before moving the enrollment on.
PARK = timedelta(hours=24, minutes=5)


@dataclass
class Claim:
    outgoing: list[Outgoing] = field(default_factory=list)
    claimed: int = 0
    reconciled: int = 0  # enrollments whose step was already settled: moved on, nothing sent
    unsubscribed: int = 0  # the contact had opted out: enrollment ended, nothing sent
    parked: int = 0  # waiting for an ambiguous send to settle
    held: int = 0  # the step's template cannot be sent: held at the step, nothing sent
    outside_window: int = 0  # free text outside the 24-hour window, no fallback: ended
    deferred: int = 0  # over the messaging limit or the frequency cap: waits, nothing sent


def claim(
    session: Session,
    now: datetime,
    batch_size: int,
    link_base_url: str | None = None,
    skip: Collection[int] = (),
) -> Claim:
    """Lock and lease a batch of due enrollments and create (or reuse) their message logs.

    Enrollments whose step's template cannot be sent are held instead (not leased, no log);
    those whose free text would go outside the contact's window without a fallback template
    are ended. With link_base_url, URLs in text messages of campaigns that track links become
    short links under it; without, no text is rewritten. Organizations in `skip` are left
    out (their number already has enough messages on the way)."""
    rows = session.execute(_due_query(now, batch_size, skip)).all()
    result = Claim(claimed=len(rows))
    opted_out = [row.id for row in rows if row.opted_out_at is not None]
    if opted_out:
        # Every opt-out path ends the contact's enrollments; this catches one that did not
        # (a direct write, a path added later): the last check before anything goes out.
        result.unsubscribed = end_enrollments(
            session,
            id_in(session, DripEnrollment.id, opted_out),
            status="unsubscribed",
            reason=STOP_REASON_OPTED_OUT,
            at=now,
        )
        rows = [row for row in rows if row.opted_out_at is None]
    if not rows:
        return result
    existing = _existing_logs(session, rows)
    rows = _not_before_retry(session, rows, existing, now, result)
    if not rows:
        return result
    sending = [row for row in rows if _sends(existing.get((row.id, row.current_step_id)))]
    decisions = decide(session, sending, now)
    rows = _hold_or_end(session, rows, decisions, now, result)
    sending = [row for row in rows if row.id in decisions.plans and _sends(_log_of(existing, row))]
    deferred = gate(session, sending, decisions.plans, now) if sending else set()
    if deferred:
        result.deferred = len(deferred)
        rows = [row for row in rows if row.id not in deferred]
    if not rows:
        return result
    ids = [row.id for row in rows]
    session.execute(
        update(DripEnrollment)
        .where(id_in(session, DripEnrollment.id, ids))
        .values(
            next_send_at=now + LEASE,
            last_step_id=DripEnrollment.current_step_id,
            wait_reason=None,
        )
        .execution_options(synchronize_session=False)
    )
    fresh, resend = [], []
    advancer = Advancer(session, now)
    for row in rows:
        log = existing.get((row.id, row.current_step_id))
        if log is None:
            fresh.append(row)
        elif log.status == "pending" and log.retry_at is not None:
            resend.append(log)
        elif log.status == "pending":
            result.parked += 1
            advancer.park(row.id, log.created_at + PARK)
        else:  # sent, delivered, read, or failed by the stale rule: the step is settled
            result.reconciled += 1
            advancer.after_settled(row, log)
    advancer.flush()
    logs = _insert_logs(session, fresh, now) + _mark_resend(session, resend)
    result.outgoing = render_messages(session, logs, decisions, link_base_url)
    return result


def _not_before_retry(session: Session, rows, existing: dict, now: datetime, result: Claim):
    """A message waiting for a retry is not sent before its retry_at, whatever made its
    enrollment due (an edit of the step's timing or of the send window reschedules it): it
    waits until then, keeping its reason (a 131049 retry is at least a day after the last
    try)."""
    later = {}
    for row in rows:
        log = _log_of(existing, row)
        if log is not None and log.status == "pending" and log.retry_at is not None:
            retry_at = as_utc(log.retry_at)
            if retry_at > now:
                later[row.id] = retry_at
    if not later:
        return rows
    advancer = Advancer(session, now)
    for enrollment_id, retry_at in later.items():
        advancer.park(enrollment_id, retry_at)
    advancer.flush()
    result.parked += len(later)
    return [row for row in rows if row.id not in later]


def _log_of(existing: dict, row):
    return existing.get((row.id, row.current_step_id))


def _sends(log) -> bool:
    """Whether the claim sends for this step: no log yet, or one waiting for a retry."""
    return log is None or (log.status == "pending" and log.retry_at is not None)


def _hold_or_end(session: Session, rows, decisions: Decisions, now: datetime, result: Claim):
    """Hold the enrollments whose template cannot be sent, end those outside their window
    without a fallback; the rows left go on."""
    for template_id, ids in decisions.holds.items():
        result.held += templates.hold_enrollments(session, ids, template_id, now)
    if decisions.outside_window:
        result.outside_window = end_enrollments(
            session,
            id_in(session, DripEnrollment.id, decisions.outside_window),
            status="stopped",
            reason=STOP_REASON_OUTSIDE_WINDOW,
            at=now,
        )
    gone = decisions.held | set(decisions.outside_window)
    return [row for row in rows if row.id not in gone]


def _due_query(now: datetime, batch_size: int, skip: Collection[int] = ()):
    query = (
        select(
            DripEnrollment.id,
            DripEnrollment.organization_id,
            DripEnrollment.campaign_id,
            DripEnrollment.contact_id,
            DripEnrollment.current_step_id,
            Contact.opted_out_at,
            Contact.last_inbound_at,
            DripCampaign.frequency_cap_exempt,
            WhatsAppAccount.messaging_limit,
        )
        .join(DripCampaign, DripCampaign.id == DripEnrollment.campaign_id)
        .join(Contact, Contact.id == DripEnrollment.contact_id)
        .outerjoin(
            WhatsAppAccount, WhatsAppAccount.organization_id == DripEnrollment.organization_id
        )
        .where(
            DripEnrollment.status == "active",
            DripEnrollment.next_send_at <= now,
            # Held at a template that cannot be sent: skipped until it is approved again.
            DripEnrollment.held_at.is_(None),
            DripCampaign.status == "active",
            WhatsAppAccount.sending_paused_at.is_(None),
        )
        .order_by(DripEnrollment.next_send_at)
        .limit(batch_size)
        # Any number of workers: each takes rows no other transaction holds.
        .with_for_update(of=DripEnrollment, skip_locked=True)
    )
    if skip:
        query = query.where(DripEnrollment.organization_id.not_in(sorted(skip)))
    return query


def _existing_logs(session: Session, rows) -> dict[tuple[int, int], object]:
    logs = session.execute(
        select(
            DripMessageLog.id,
            DripMessageLog.organization_id,
            DripMessageLog.enrollment_id,
            DripMessageLog.step_id,
            DripMessageLog.contact_id,
            DripMessageLog.status,
            DripMessageLog.retry_at,
            DripMessageLog.attempts,
            DripMessageLog.created_at,
            DripMessageLog.sent_at,
        ).where(id_in(session, DripMessageLog.enrollment_id, [r.id for r in rows]))
    )
    return {(log.enrollment_id, log.step_id): log for log in logs}


def _insert_logs(session: Session, rows, now: datetime) -> list[dict]:
    """One INSERT ... SELECT from the claimed enrollments: the log row comes first."""
    ids = [row.id for row in rows if row.current_step_id is not None]
    if not ids:
        return []
    e = DripEnrollment.__table__
    source = select(
        e.c.organization_id,
        e.c.id,
        e.c.campaign_id,
        e.c.current_step_id,
        e.c.contact_id,
        e.c.via_step_id,
        e.c.via,
        literal("pending"),
        literal(1),
        literal(now, UTCDateTime()),
        literal(now, UTCDateTime()),
    ).where(id_in(session, e.c.id, ids))
    columns = [
        "organization_id",
        "enrollment_id",
        "campaign_id",
        "step_id",
        "contact_id",
        "via_step_id",
        "via",
        "status",
        "attempts",
        "created_at",
        "updated_at",
    ]
    logs = DripMessageLog.__table__
    inserted = session.execute(
        logs.insert()
        .from_select(columns, source)
        .returning(
            logs.c.id,
            logs.c.organization_id,
            logs.c.enrollment_id,
            logs.c.step_id,
            logs.c.contact_id,
            logs.c.attempts,
        )
    ).all()
    return [row._asdict() for row in inserted]


def _mark_resend(session: Session, logs: list) -> list[dict]:
    """Logs whose last attempt failed retryably: safe to send again, one more attempt."""
    if not logs:
        return []
    table = DripMessageLog.__table__
    session.execute(
        update(table)
        .where(id_in(session, table.c.id, [log.id for log in logs]))
        .values(attempts=table.c.attempts + 1, retry_at=None)
    )
    return [
        {
            "id": log.id,
            "organization_id": log.organization_id,
            "enrollment_id": log.enrollment_id,
            "step_id": log.step_id,
            "contact_id": log.contact_id,
            "attempts": log.attempts + 1,
        }
        for log in logs
    ]
