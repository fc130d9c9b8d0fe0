"""Webhook deliveries: routed to their accounts, recorded durably, then applied.

- accounts_for(session, phone_number_ids) -> {phone_number_id: its account's routing row (id,
  organization_id, phone_number_id, app_secret_encrypted)}
- record_delivery(session, body, organization_id) -> (event id, whether already applied)
- apply_batch(...) -> {"statuses": n, "messages": m} (no commit; a recorded delivery is
  applied again through app.drip.templates.apply_recorded, which also applies its template
  changes)
- mark_failed(session, event_id, error): attempts + 1 and the error (no commit)
- unapplied_deliveries / lock_unapplied: the deliveries whose application failed, which
  app.tasks.webhook_sweep applies again, one committed transaction each

The signature check is the caller's (app.api.webhooks), before anything here runs. Applying a
delivery twice changes nothing: engagement records each status and message once.
"""

from __future__ import annotations

import hashlib
import logging
from datetime import datetime, timedelta

from sqlalchemy import Row, String, bindparam, exists, func, null, select, update
from sqlalchemy.dialects.postgresql import insert as postgresql_insert
from sqlalchemy.orm import Session

from app import whatsapp
from app.drip.engagement import apply as engagement
from app.drip.sql import insert_once
from app.models import WebhookEvent, WhatsAppAccount, utcnow

log = logging.getLogger(__name__)

SWEEP_AFTER = timedelta(seconds=30)
SWEEP_LIMIT = 200
MAX_ERROR_CHARS = 2000


def accounts_for(session: Session, phone_number_ids: list[str]) -> dict[str, Row]:
    """The columns a delivery is routed and authenticated by: loading whole accounts as ORM
    objects was a tenth of a status delivery's CPU (issue 21)."""
    if not phone_number_ids:
        return {}
    rows = session.execute(_ROUTING, {"ids": phone_number_ids})
    return {account.phone_number_id: account for account in rows}


_ROUTING = select(
    WhatsAppAccount.id,
    WhatsAppAccount.organization_id,
    WhatsAppAccount.phone_number_id,
    WhatsAppAccount.app_secret_encrypted,
).where(WhatsAppAccount.phone_number_id.in_(bindparam("ids", expanding=True)))


def body_digest(body: bytes) -> str:
    return hashlib.sha256(body).hexdigest()


def record_delivery(session: Session, body: bytes, organization_id: int | None) -> tuple[int, bool]:
    """Insert the raw delivery once (unique body_sha256): (its row id, whether it was already
    applied). The caller commits: only then is it durable."""
    digest = body_digest(body)
    values = {
        "organization_id": organization_id,
        "body_sha256": digest,
        "body": body,
        "received_at": utcnow(),
        "attempts": 0,
    }
    # Partitioned by received_at (0018), the table cannot hold the hash unique on its own (a
    # repeat comes in at another time): copies of one body queue on a lock of its hash until
    # the first commits, then find it.
    if session.get_bind().dialect.name == "postgresql":
        session.execute(_LOCK_DIGEST, {"digest": digest})
        # One statement finds it or inserts it: its snapshot is taken after the lock above.
        row = session.execute(_RECORD_ONCE, values).one()
        return row.id, row.applied_at is not None
    found = session.execute(
        select(WebhookEvent.id, WebhookEvent.applied_at)
        .where(WebhookEvent.body_sha256 == digest)
        .limit(1)
    ).first()
    if found is not None:
        return found.id, found.applied_at is not None
    new_id = insert_once(session, WebhookEvent, values, ("body_sha256", "received_at"))
    return new_id, False


def _record_once():
    """WITH found AS (the delivery with this hash), new AS (INSERT it unless found) SELECT
    found's id and applied_at, else new's id (PostgreSQL)."""
    table = WebhookEvent.__table__
    names = ("organization_id", "body_sha256", "body", "received_at", "attempts")
    found = (
        select(table.c.id, table.c.applied_at)
        .where(table.c.body_sha256 == bindparam("body_sha256"))
        .limit(1)
        .cte("found")
    )
    new = (
        postgresql_insert(table)
        .from_select(
            names,
            select(*(bindparam(name, type_=table.c[name].type) for name in names)).where(
                ~exists(select(found.c.id))
            ),
        )
        .on_conflict_do_nothing(index_elements=["body_sha256", "received_at"])
        .returning(table.c.id)
        .cte("new")
    )
    return select(found.c.id, found.c.applied_at).union_all(
        select(new.c.id, null().label("applied_at"))
    )


_RECORD_ONCE = _record_once()
# Built once, as _RECORD_ONCE: a statement built for each delivery costs more CPU than it runs.
_LOCK_DIGEST = select(
    func.pg_advisory_xact_lock(func.hashtextextended(bindparam("digest", type_=String()), 0))
)
_MARK_APPLIED = (
    update(WebhookEvent)
    .where(WebhookEvent.id == bindparam("event_id"), WebhookEvent.applied_at.is_(None))
    .values(
        applied_at=bindparam("now", type_=WebhookEvent.applied_at.type),
        attempts=WebhookEvent.attempts + 1,
        last_error=None,
    )
    .execution_options(synchronize_session=False)
)


def apply_batch(
    session: Session,
    event_id: int,
    organization_id: int | None,
    batch: whatsapp.WebhookBatch,
    now: datetime | None = None,
    *,
    routes: dict[str, int] | None = None,
) -> dict:
    """Apply every status, message and opt-out of a recorded delivery to the organization
    of each routed account, and mark it applied. Statuses go in wamid order, so two
    deliveries touching the same logs lock them in the same order (no deadlock).

    `routes` (phone number id -> organization id) is the routing the caller authenticated
    the delivery with, in its transaction just before; without it, it is looked up."""
    now = now or utcnow()
    if routes is None:
        accounts = accounts_for(session, list(batch.accounts))
        routes = {pid: account.organization_id for pid, account in accounts.items()}
    statuses = messages = unknown = 0
    for phone_number_id, part in batch.accounts.items():
        org_id = routes.get(phone_number_id)
        if org_id is None:
            log.info("webhook event %s: unknown phone number id %s", event_id, phone_number_id)
            continue
        if organization_id is not None and org_id != organization_id:
            # Routed elsewhere when it was recorded (the number moved): not this org's to apply.
            log.warning("webhook event %s: %s is not its organization's", event_id, phone_number_id)
            continue
        ordered = sorted(part.statuses, key=lambda s: (s.wamid, s.status))
        outcomes = engagement.apply_statuses(session, org_id, ordered, now=now)
        statuses += len(ordered)
        unknown += outcomes.count(engagement.UNKNOWN)
        for message in sorted(part.messages, key=lambda m: (m.timestamp, m.message_id)):
            engagement.apply_inbound(session, org_id, message)
            messages += 1
        for opt_out in part.opt_outs:
            engagement.apply_marketing_opt_out(
                session, org_id, opt_out.wa_id, opt_out.timestamp, user_id=opt_out.user_id
            )
    session.execute(_MARK_APPLIED, {"event_id": event_id, "now": now})
    if unknown:
        # Not ours (sent by another tool on the same number) or a log purged by retention.
        log.info("webhook event %s: %d statuses of unknown messages ignored", event_id, unknown)
    return {"statuses": statuses, "messages": messages, "unknownStatuses": unknown}


def mark_failed(session: Session, event_id: int, error: BaseException) -> None:
    text = f"{error.__class__.__name__}: {error}"[:MAX_ERROR_CHARS]
    session.execute(
        update(WebhookEvent)
        .where(WebhookEvent.id == event_id)
        .values(attempts=WebhookEvent.attempts + 1, last_error=text)
        .execution_options(synchronize_session=False)
    )


def unapplied_deliveries(session: Session, now: datetime, limit: int = SWEEP_LIMIT) -> list[int]:
    """Recorded deliveries not applied yet and received more than 30 s ago (the request that
    recorded them failed to apply them, or died): the least-tried first."""
    return list(
        session.scalars(
            select(WebhookEvent.id)
            .where(WebhookEvent.applied_at.is_(None), WebhookEvent.received_at < now - SWEEP_AFTER)
            .order_by(WebhookEvent.attempts, WebhookEvent.received_at, WebhookEvent.id)
            .limit(limit)
        )
    )


def lock_unapplied(session: Session, event_id: int) -> WebhookEvent | None:
    """The delivery, locked, while it is still unapplied and no other sweeper holds it."""
    return session.scalar(
        select(WebhookEvent)
        .where(WebhookEvent.id == event_id, WebhookEvent.applied_at.is_(None))
        .with_for_update(skip_locked=True)
    )
