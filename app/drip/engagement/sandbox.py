"""What happens to sandbox messages (app.whatsapp.sandbox sends them): delivered, read, a
reply, a failure, simulated.

The simulation needs no table: a hash of the wamid seeds every draw, so a message's fate and
its times are the same whenever they are computed. `simulated_events` is that pure schedule;
`apply_due_sandbox_events` (the recurring job's body) applies the events whose time has come
through the same functions as real webhooks (app.drip.engagement), which apply each event
once, so running it again, or twice at the same time, changes nothing.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import and_, exists, or_, select
from sqlalchemy.orm import Session

from app.drip.engagement import apply as engagement
from app.drip.engagement.apply import apply_inbound, apply_status
from app.models import Contact, DripMessageLog, WhatsAppAccount
from app.whatsapp import WAMID_PREFIX, InboundMessageEvent, StatusUpdate

# Messages older than this get no more simulated events (a reply comes at most ~30 h later).
HORIZON = timedelta(days=3)
SCAN_BATCH = 1000
CANNED_REPLIES = (
    "Thanks!",
    "Sounds good, tell me more",
    "How much does it cost?",
    "Can someone call me?",
    "Great, thank you 👍",
    "Is this still available?",
)
# Outcomes that changed something (not a duplicate, not ignored).
_APPLIED_OUTCOMES = frozenset(
    {
        engagement.APPLIED,
        engagement.SETTLED,
        engagement.REPLY,
        engagement.ENROLLED,
        engagement.OPTED_OUT,
    }
)

Event = StatusUpdate | InboundMessageEvent


@dataclass(frozen=True)
class SandboxRates:
    """How simulated messages fare. delivered and failed are shares of all messages (the rest
    never get a receipt); read is a share of the delivered, reply a share of the read. Delays
    are (shortest, longest) in seconds, drawn log-uniformly: most happen early, a long tail
    late, as with real people. read counts from the delivery, reply from the read."""

    delivered: float = 0.96
    read: float = 0.70
    reply: float = 0.12
    failed: float = 0.02
    failed_code: int = 131026
    delivered_delay: tuple[float, float] = (2.0, 60.0)
    read_delay: tuple[float, float] = (60.0, 6 * 3600.0)
    reply_delay: tuple[float, float] = (120.0, 24 * 3600.0)

    def __post_init__(self) -> None:
        for name in ("delivered", "read", "reply", "failed"):
            if not 0.0 <= getattr(self, name) <= 1.0:
                raise ValueError(f"{name} is a share between 0 and 1")
        if self.delivered + self.failed > 1.0:
            raise ValueError("delivered + failed cannot exceed 1")
        for name in ("delivered_delay", "read_delay", "reply_delay"):
            low, high = getattr(self, name)
            if not 0.0 < low <= high:
                raise ValueError(f"{name} needs 0 < shortest <= longest")


def simulated_events(
    wamid: str,
    sent_at: datetime,
    rates: SandboxRates | None = None,
    *,
    from_phone: str | None = "",
    from_user_id: str | None = None,
) -> list[tuple[datetime, Event]]:
    """Everything that will happen to a sandbox message sent at `sent_at`, in time order: a
    sent status, then delivered or failed (or nothing more), read, a reply quoting it. The
    same wamid always gives the same events. `from_phone` (digits) is the replying contact, or
    None for a contact known by `from_user_id` (its BSUID) alone."""
    rates = rates or SandboxRates()
    draw = _draws(wamid)
    events: list[tuple[datetime, Event]] = [(sent_at, StatusUpdate(wamid, "sent", sent_at))]
    fate = draw[0]
    if fate < rates.failed:
        at = sent_at + _delay(rates.delivered_delay, draw[1])
        errors = [{"code": rates.failed_code, "title": "Message undeliverable (sandbox)"}]
        events.append((at, StatusUpdate(wamid, "failed", at, errors=errors)))
        return events
    if fate >= rates.failed + rates.delivered:
        return events
    delivered_at = sent_at + _delay(rates.delivered_delay, draw[1])
    events.append((delivered_at, StatusUpdate(wamid, "delivered", delivered_at)))
    if draw[2] >= rates.read:
        return events
    read_at = delivered_at + _delay(rates.read_delay, draw[3])
    events.append((read_at, StatusUpdate(wamid, "read", read_at)))
    if draw[4] >= rates.reply:
        return events
    reply_at = read_at + _delay(rates.reply_delay, draw[5])
    reply = InboundMessageEvent(
        message_id=f"{wamid}.REPLY",
        from_phone=from_phone,
        timestamp=reply_at,
        message_type="text",
        text=CANNED_REPLIES[int(draw[6] * len(CANNED_REPLIES))],
        context_wamid=wamid,
        from_user_id=from_user_id,
    )
    events.append((reply_at, reply))
    return events


def _draws(wamid: str) -> list[float]:
    """Eight uniform numbers in [0, 1) from the wamid's hash."""
    digest = hashlib.sha256(wamid.encode()).digest()
    return [int.from_bytes(digest[i : i + 4], "big") / 2**32 for i in range(0, 32, 4)]


def _delay(bounds: tuple[float, float], u: float) -> timedelta:
    low, high = bounds
    return timedelta(seconds=low * (high / low) ** u)


def apply_due_sandbox_events(
    session: Session, now: datetime, rates: SandboxRates | None = None, *, limit: int = 5000
) -> int:
    """Apply every simulated event whose time has come to the sandbox messages of the last
    three days (organizations without a WhatsApp account), at most `limit` of them; how many
    were applied. Events already reflected in a log are skipped before reaching the database.
    No commit: the job that calls this commits."""
    rates = rates or SandboxRates()
    applied, last_id = 0, 0
    while applied < limit:
        rows = session.execute(_candidates(now, last_id)).all()
        for row in rows:
            for event in _due(row, now, rates):
                if applied >= limit:
                    return applied
                applied += _apply(session, row.organization_id, event)
        if len(rows) < SCAN_BATCH:
            break
        last_id = rows[-1].id
    return applied


def _candidates(now: datetime, after_id: int):
    since = now - HORIZON
    return (
        select(
            DripMessageLog.id,
            DripMessageLog.organization_id,
            DripMessageLog.wamid,
            DripMessageLog.sent_at,
            DripMessageLog.delivered_at,
            DripMessageLog.read_at,
            DripMessageLog.replied_at,
            DripMessageLog.failed_at,
            Contact.phone,
            Contact.whatsapp_user_id,
        )
        .join(Contact, Contact.id == DripMessageLog.contact_id)
        .where(
            DripMessageLog.id > after_id,
            DripMessageLog.wamid.startswith(WAMID_PREFIX),
            or_(
                DripMessageLog.status.in_(("sent", "delivered")),
                and_(DripMessageLog.status == "read", DripMessageLog.replied_at.is_(None)),
            ),
            DripMessageLog.sent_at >= since,
            # A log is sent within hours of its creation: lets the created_at index help.
            DripMessageLog.created_at >= since - timedelta(days=2),
            ~exists().where(WhatsAppAccount.organization_id == DripMessageLog.organization_id),
        )
        .order_by(DripMessageLog.id)
        .limit(SCAN_BATCH)
    )


def _due(row, now: datetime, rates: SandboxRates) -> list[Event]:
    """The row's events that are due and not yet reflected in it."""
    phone = row.phone.lstrip("+") if row.phone else None
    events = simulated_events(
        row.wamid, row.sent_at, rates, from_phone=phone, from_user_id=row.whatsapp_user_id
    )
    return [event for at, event in events if at <= now and not _reflected(row, event)]


def _reflected(row, event: Event) -> bool:
    if isinstance(event, InboundMessageEvent):
        return row.replied_at is not None
    stamp = {
        "sent": row.sent_at,
        "delivered": row.delivered_at,
        "read": row.read_at,
        "failed": row.failed_at,
    }
    return stamp[event.status] is not None


def _apply(session: Session, organization_id: int, event: Event) -> int:
    if isinstance(event, InboundMessageEvent):
        outcome = apply_inbound(session, organization_id, event)
    else:
        outcome = apply_status(session, organization_id, event)
    return 1 if outcome in _APPLIED_OUTCOMES else 0
