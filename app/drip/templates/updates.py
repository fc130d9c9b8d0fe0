"""Template webhooks applied to the catalog, and a whole recorded delivery applied.

- accounts_for_business(session, waba_ids) -> {waba id: [WhatsAppAccount]} (routing)
- apply_template_updates(session, batch, organization_id, routes) -> number applied
- apply_update(session, organization_id, update, now) -> whether the row changed
- apply_delivery(session, event_id, organization_id, batch, now, routes=, waba_routes=) and
  apply_recorded(session, event, now): the template updates here, then the phone numbers'
  statuses and messages by app.drip.engagement (which marks the delivery applied), in the
  caller's one transaction. They live here because templates may import engagement and not
  the reverse (the drip layers contract in pyproject.toml).

A template is matched by its Meta id within the organization, else by (name, language); one
not in the catalog yet gets a minimal row that the next sync fills in. A status change is kept
only when its event time (the entry's `time`) is newer than the stored status_changed_at, so a
replayed or late event never undoes a newer one; on a tie what is stored stays.
"""

from __future__ import annotations

import logging
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from app import whatsapp
from app.drip import accounts, engagement
from app.drip.sql import as_utc, insert_once
from app.drip.templates.holds import release_holds
from app.models import WebhookEvent, WhatsAppAccount, WhatsAppTemplate, utcnow

log = logging.getLogger(__name__)

# Meta's status events -> the status stored. FLAGGED warns of a coming disable: the template
# still sends (status APPROVED, the reason kept). REINSTATED and UNARCHIVED make it usable again.
# Events not listed (LOCKED, UNLOCKED: editing only) change no status.
STATUS_FOR_EVENT = {
    "APPROVED": "APPROVED",
    "REINSTATED": "APPROVED",
    "FLAGGED": "APPROVED",
    "UNARCHIVED": "APPROVED",
    "PENDING": "PENDING",
    "REJECTED": "REJECTED",
    "PAUSED": "PAUSED",
    "DISABLED": "DISABLED",
    "IN_APPEAL": "IN_APPEAL",
    "PENDING_DELETION": "PENDING_DELETION",
    "DELETED": "DELETED",
    "LIMIT_EXCEEDED": "LIMIT_EXCEEDED",
    "ARCHIVED": "ARCHIVED",
}
# A row made from an update before any sync: not usable until the sync says what it is.
UNKNOWN = "UNKNOWN"


def accounts_for_business(
    session: Session, business_account_ids: list[str]
) -> dict[str, list[WhatsAppAccount]]:
    """The accounts of each WABA id (several organizations may name the same WABA)."""
    if not business_account_ids:
        return {}
    rows = session.scalars(
        select(WhatsAppAccount)
        .where(WhatsAppAccount.business_account_id.in_(business_account_ids))
        .order_by(WhatsAppAccount.id)
    )
    found: dict[str, list[WhatsAppAccount]] = {}
    for account in rows:
        found.setdefault(account.business_account_id, []).append(account)
    return found


def apply_template_updates(
    session: Session,
    batch: whatsapp.WebhookBatch,
    organization_id: int | None,
    routes: dict[str, list[int]] | None = None,
    now: datetime | None = None,
) -> int:
    """Apply the delivery's template updates to each routed organization's catalog.

    `routes` (WABA id -> organization ids) is the routing the caller authenticated; without
    it, it is looked up. When the delivery was recorded for one organization, only that
    organization's catalog is touched."""
    now = now or utcnow()
    if routes is None:
        found = accounts_for_business(session, list(batch.templates))
        routes = {waba: [a.organization_id for a in accounts] for waba, accounts in found.items()}
    applied = 0
    for waba_id, updates in batch.templates.items():
        org_ids = routes.get(waba_id) or []
        if not org_ids:
            log.info("webhook: template updates of unknown WABA %s ignored", waba_id)
        for org_id in org_ids:
            if organization_id is not None and org_id != organization_id:
                continue
            for update in sorted(updates, key=lambda u: (u.occurred_at, u.kind)):
                apply_update(session, org_id, update, now)
                applied += 1
    return applied


def apply_update(
    session: Session, organization_id: int, update: whatsapp.TemplateUpdate, now: datetime
) -> bool:
    """Apply one update to the organization's catalog; whether anything changed."""
    row = _find(session, organization_id, update) or _create(session, organization_id, update, now)
    if update.kind == "status":
        changed = _apply_status(row, update)
        if changed and row.status == "APPROVED":
            release_holds(session, [row.id])  # the held enrollments go out in the next pass
        return changed
    if update.kind == "quality":
        return _set(row, "quality_score", update.value)
    return _set(row, "category", update.value)


def _apply_status(row: WhatsAppTemplate, update: whatsapp.TemplateUpdate) -> bool:
    status = STATUS_FOR_EVENT.get(update.value or "")
    if status is None:
        log.info("template %s: status event %s changes no status", row.id, update.value)
        return False
    stored = row.status_changed_at
    if stored is not None and as_utc(stored) >= update.occurred_at:
        return False  # a replay, or older than what is stored: the newer one stays
    row.status = status
    row.reason = update.reason
    row.status_changed_at = update.occurred_at
    if status != "DELETED":
        row.deleted_at = None  # Meta knows it again (a send refused 132001 had marked it gone)
    return True


def _set(row: WhatsAppTemplate, column: str, value: str | None) -> bool:
    if value is None or getattr(row, column) == value:
        return False
    setattr(row, column, value)
    return True


def _find(
    session: Session, organization_id: int, update: whatsapp.TemplateUpdate
) -> WhatsAppTemplate | None:
    in_org = select(WhatsAppTemplate).where(WhatsAppTemplate.organization_id == organization_id)
    row = None
    if update.template_id is not None:
        row = session.scalar(in_org.where(WhatsAppTemplate.meta_id == update.template_id).limit(1))
    if row is None:
        row = session.scalar(
            in_org.where(
                WhatsAppTemplate.name == update.name, WhatsAppTemplate.language == update.language
            )
        )
        if row is not None and update.template_id is not None:
            row.meta_id = update.template_id
    return row


def _create(
    session: Session, organization_id: int, update: whatsapp.TemplateUpdate, now: datetime
) -> WhatsAppTemplate:
    """A minimal row for a template the catalog does not know yet (inserted once: a
    concurrent delivery may make the same row). Its status is set by _apply_status, so the
    time rule holds for it too."""
    values = {
        "organization_id": organization_id,
        "business_account_id": update.business_account_id,
        "meta_id": update.template_id,
        "name": update.name,
        "language": update.language,
        "category": update.category or UNKNOWN,
        "status": UNKNOWN,
        "parameter_format": "positional",
        "parameters": [],
        "synced_at": now,
        "created_at": now,
    }
    insert_once(session, WhatsAppTemplate, values, ("organization_id", "name", "language"))
    return _find(session, organization_id, update)


def apply_delivery(
    session: Session,
    event_id: int,
    organization_id: int | None,
    batch: whatsapp.WebhookBatch,
    now: datetime | None = None,
    *,
    routes: dict[str, int] | None = None,
    waba_routes: dict[str, list[int]] | None = None,
) -> dict:
    """Apply a recorded delivery: its template updates and the messaging limit it reports,
    then (engagement.apply_batch) its statuses, messages and opt-outs, marking it applied. No
    commit: one transaction."""
    now = now or utcnow()
    applied = apply_template_updates(session, batch, organization_id, waba_routes, now)
    if batch.limits:
        accounts.apply_limit_updates(session, batch.limits, organization_id, waba_routes)
    counts = engagement.apply_batch(session, event_id, organization_id, batch, now, routes=routes)
    return {**counts, "templates": applied}


def apply_recorded(session: Session, event: WebhookEvent, now: datetime | None = None) -> dict:
    """Apply a recorded delivery again (the sweeper), routed as it is now."""
    batch = whatsapp.parse_delivery(whatsapp.decode_delivery(event.body))
    return apply_delivery(session, event.id, event.organization_id, batch, now)
