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

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from sqlalchemy import literal, select, update
from sqlalchemy.orm import Session

from app.drip import engagement, templates
from app.drip.ab import variants_for_batch
from app.drip.campaigns import contact_values, render
from app.drip.enrollment import (
    STOP_REASON_OPTED_OUT,
    STOP_REASON_OUTSIDE_WINDOW,
    end_enrollments,
)
from app.drip.sending.advance import Advancer
from app.drip.sending.gates import gate
from app.drip.sending.plan import Decisions, Plan, decide
from app.drip.sql import as_utc, id_in
from app.models import (
    Contact,
    DripCampaign,
    DripCampaignStep,
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
class Outgoing:
    """One message to send: everything the sender needs, no ORM objects."""

    log_id: int
    organization_id: int
    enrollment_id: int
    step_id: int
    contact_id: int
    to: str | None  # E.164; None for a contact known only by its business-scoped user id
    kind: str  # text | template
    attempts: int = 1  # sends of this log so far, this one included
    body: str | None = None
    template_name: str | None = None
    template_language: str | None = None
    template_parameters: list[str] = field(default_factory=list)
    # Meta's template components (header, body, buttons) with their parameters filled in.
    template_components: list[dict] = field(default_factory=list)
    recipient_user_id: str | None = None  # the contact's BSUID, sent when there is no phone
    category: str | None = None  # MARKETING, UTILITY, AUTHENTICATION, or SERVICE (free text)

    @property
    def callback_data(self) -> str:
        return f"log={self.log_id}"


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
    session: Session, now: datetime, batch_size: int, link_base_url: str | None = None
) -> Claim:
    """Lock and lease a batch of due enrollments and create (or reuse) their message logs.

    Enrollments whose step's template cannot be sent are held instead (not leased, no log);
    those whose free text would go outside the contact's window without a fallback template
    are ended. With link_base_url, URLs in text messages of campaigns that track links become
    short links under it; without, no text is rewritten."""
    rows = session.execute(_due_query(now, batch_size)).all()
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
    result.outgoing = _render(session, logs, decisions, link_base_url)
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


def _due_query(now: datetime, batch_size: int):
    return (
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


def _render(
    session: Session, logs: list[dict], decisions: Decisions, link_base_url: str | None = None
) -> list[Outgoing]:
    if not logs:
        return []
    contacts = {
        c.id: c
        for c in session.scalars(
            select(Contact).where(id_in(session, Contact.id, {log["contact_id"] for log in logs}))
        )
    }
    steps = decisions.steps
    tracking = _tracking_campaigns(session, steps.values()) if link_base_url else set()
    texts = [log for log in logs if decisions.plans[log["enrollment_id"]].kind == "text"]
    chosen = variants_for_batch(session, [(log["step_id"], log["contact_id"]) for log in texts])
    outgoing, tracked, written = [], [], defaultdict(list)
    for log in logs:
        contact, step = contacts[log["contact_id"]], steps[log["step_id"]]
        plan = decisions.plans[log["enrollment_id"]]
        message = Outgoing(
            log_id=log["id"],
            organization_id=log["organization_id"],
            enrollment_id=log["enrollment_id"],
            step_id=log["step_id"],
            contact_id=log["contact_id"],
            to=contact.phone,
            kind=plan.kind,
            attempts=log["attempts"],
            recipient_user_id=contact.whatsapp_user_id,
            category=plan.category,
        )
        variant = chosen.get((step.id, contact.id)) if plan.kind == "text" else None
        if plan.kind == "template":
            _fill_template(message, plan, step, contact_values(contact))
        else:
            message.body = render(
                variant[1] if variant else step.message_content or "", contact_values(contact)
            )
            if step.campaign_id in tracking:
                tracked.append(message)
        variant_id = variant[0] if variant else None
        written[(variant_id, message.category, message.template_name, plan.outside)].append(
            message.log_id
        )
        outgoing.append(message)
    if tracked:
        bodies = engagement.track_batch(
            session,
            [engagement.Message(m.organization_id, m.log_id, m.body) for m in tracked],
            link_base_url,
        )
        for message, body in zip(tracked, bodies, strict=True):
            message.body = body
    table = DripMessageLog.__table__
    for (variant_id, category, template_name, outside), ids in written.items():
        values = {"category": category, "template_name": template_name, "outside_window": outside}
        if variant_id is not None:
            values["variant_id"] = variant_id
        session.execute(update(table).where(id_in(session, table.c.id, ids)).values(**values))
    return outgoing


def _fill_template(message: Outgoing, plan: Plan, step: DripCampaignStep, values: dict) -> None:
    """The template's name, language, parameters and Meta's components: the step's own
    template, or the text step's fallback (which has only body parameters)."""
    template = plan.template
    if plan.fallback:
        parameters, header, buttons = step.fallback_template_parameters, None, None
    else:
        parameters, header = step.template_parameters, step.template_header
        buttons = step.template_buttons
    message.template_name = template.name
    message.template_language = template.language
    message.template_parameters = [render(p, values) for p in parameters or []]
    message.template_components = templates.build_components(
        template,
        message.template_parameters,
        render(header, values) if header else None,
        [render(b, values) for b in buttons or []],
    )


def _tracking_campaigns(session: Session, steps) -> set[int]:
    campaign_ids = {s.campaign_id for s in steps}
    return set(
        session.scalars(
            select(DripCampaign.id).where(
                DripCampaign.id.in_(campaign_ids), DripCampaign.track_links.is_(True)
            )
        )
    )
