"""Pricing on message logs: what Meta's status webhooks say a message costs (pricing
{billable, pricing_model, type, category}) stored on its log, with the recipient's market and
the cost by the organization's rate card. One card load and one market query per batch.

Idempotent and order-independent: a repeat is never applied (the status event is recorded
once), billable is true once any status said so, and the date priced is the earliest of the
status's time and the log's sent_at (a "sent" and a "delivered" carrying pricing end at the
same date whatever their order)."""

from __future__ import annotations

from sqlalchemy.orm import Session

from app.drip import pricing
from app.drip.sql import as_utc
from app.models import DripMessageLog
from app.whatsapp import StatusUpdate


def price_logs(
    session: Session, organization_id: int, items: list[tuple[DripMessageLog, StatusUpdate]]
) -> None:
    """Store the pricing of newly applied statuses on their logs (after merge())."""
    items = [(log, update) for log, update in items if update.pricing]
    if not items:
        return
    card = pricing.rate_card(session, organization_id)
    markets = pricing.contact_markets(session, [log.contact_id for log, _ in items])
    for log, update in items:
        at = as_utc(update.timestamp)
        if log.sent_at is not None and as_utc(log.sent_at) < at:
            at = as_utc(log.sent_at)
        values = pricing.priced_values(card, markets.get(log.contact_id), update.pricing, at)
        if log.pricing_billable:  # billable once any status said so
            values["pricing_billable"] = True
            if update.pricing.get("billable") is False:
                continue
        for name, value in values.items():
            setattr(log, name, value)
