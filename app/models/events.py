"""What comes back from WhatsApp and from contacts: webhook deliveries, status events,
inbound messages, and tracked links with their clicks."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Index, Integer, LargeBinary, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from app.models.base import Base, IdMixin, JsonType, fk, utcnow


class WebhookEvent(IdMixin, Base):
    """A raw webhook delivery, recorded before it is applied so a crash loses nothing."""

    __tablename__ = "webhook_events"
    # Partitioned by month of received_at on PostgreSQL (migration 0018), so the key must hold
    # it; a repeat comes in at another time, so record_delivery keeps the hash unique itself.
    __table_args__ = (
        Index("ix_webhook_events_applied_received", "applied_at", "received_at"),
        Index("ix_webhook_events_body_sha256", "body_sha256"),
        UniqueConstraint("body_sha256", "received_at"),
    )

    # Null until routed: a delivery is recorded before its phone number id is looked up.
    organization_id: Mapped[int | None] = fk("organizations.id", nullable=True)
    body_sha256: Mapped[str] = mapped_column(String(64))
    body: Mapped[bytes] = mapped_column(LargeBinary)
    received_at: Mapped[datetime] = mapped_column(default=utcnow)
    applied_at: Mapped[datetime | None]
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    last_error: Mapped[str | None] = mapped_column(Text)


def _occurred_at(context) -> datetime:
    # Engagement always gives the log's created_at; an event built without it (a test, a
    # script) falls back to Meta's time, as migration 0018 does for an event whose log is gone.
    return context.get_current_parameters()["occurred_at"]


class WhatsAppStatusEvent(IdMixin, Base):
    """One (wamid, status) as Meta reported it; unique, so a repeat is applied once."""

    __tablename__ = "whatsapp_status_events"
    # Per organization: another organization's webhook cannot take a key this one needs. The
    # key holds the month it is partitioned by (0018): its log's created_at, one per wamid, so
    # a repeat meets its first copy whatever timestamp Meta puts on it.
    __table_args__ = (
        UniqueConstraint(
            "organization_id",
            "wamid",
            "status",
            "message_created_at",
            name="uq_whatsapp_status_events_key",
        ),
    )

    organization_id: Mapped[int] = fk("organizations.id")
    message_log_id: Mapped[int | None] = fk("drip_message_logs.id", nullable=True)
    wamid: Mapped[str] = mapped_column(String(128))
    status: Mapped[str] = mapped_column(String(16))
    occurred_at: Mapped[datetime]
    # The created_at of the log the event belongs to: the events of a month's messages sit in
    # that month's partition and go when it is dropped, with the month's logs.
    message_created_at: Mapped[datetime] = mapped_column(default=_occurred_at)
    error_code: Mapped[str | None] = mapped_column(String(16))
    error_title: Mapped[str | None] = mapped_column(Text)
    received_at: Mapped[datetime] = mapped_column(default=utcnow)


class InboundMessage(IdMixin, Base):
    """A message a contact sent us; unique on Meta's message id."""

    __tablename__ = "inbound_messages"
    __table_args__ = (
        Index("ix_inbound_messages_contact_received", "contact_id", "received_at"),
        # With Meta's timestamp, the month it is partitioned by (0018): a repeat carries it too.
        UniqueConstraint("organization_id", "wa_message_id", "occurred_at"),
    )

    organization_id: Mapped[int] = fk("organizations.id")
    contact_id: Mapped[int | None] = fk("contacts.id", nullable=True, index=False)
    wa_message_id: Mapped[str] = mapped_column(String(128))
    message_type: Mapped[str] = mapped_column(String(32))
    text: Mapped[str | None] = mapped_column(Text)
    payload: Mapped[dict | None] = mapped_column(JsonType)
    context_wamid: Mapped[str | None] = mapped_column(String(128))
    occurred_at: Mapped[datetime]
    received_at: Mapped[datetime] = mapped_column(default=utcnow)


class Link(IdMixin, Base):
    """A tracked short link, unique to one message; only stored URLs are redirect targets."""

    __tablename__ = "links"

    organization_id: Mapped[int] = fk("organizations.id")
    message_log_id: Mapped[int | None] = fk("drip_message_logs.id", nullable=True)
    code: Mapped[str] = mapped_column(String(32), unique=True)
    url: Mapped[str] = mapped_column(Text)
    click_count: Mapped[int] = mapped_column(Integer, default=0)
    first_clicked_at: Mapped[datetime | None]
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class LinkClick(IdMixin, Base):
    __tablename__ = "link_clicks"

    organization_id: Mapped[int] = fk("organizations.id")
    link_id: Mapped[int] = fk("links.id")
    clicked_at: Mapped[datetime] = mapped_column(default=utcnow)
    user_agent: Mapped[str | None] = mapped_column(String(512))
    details: Mapped[dict | None] = mapped_column(JsonType)


class JobRun(IdMixin, Base):
    """One run of a background job (processing pass, housekeeping): the queue health page
    reads these, in embedded mode as well as with Redis."""

    __tablename__ = "job_runs"
    __table_args__ = (Index("ix_job_runs_name_started", "name", "started_at"),)

    name: Mapped[str] = mapped_column(String(64))
    started_at: Mapped[datetime] = mapped_column(default=utcnow)
    finished_at: Mapped[datetime | None]
    ok: Mapped[bool | None]
    stats: Mapped[dict | None] = mapped_column(JsonType)
    error: Mapped[str | None] = mapped_column(Text)
