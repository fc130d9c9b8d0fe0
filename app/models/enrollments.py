"""Enrollments (a contact's way through a campaign) and the log of every message sent."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal

from sqlalchemy import (
    Boolean,
    CheckConstraint,
    Index,
    Integer,
    Numeric,
    String,
    Text,
    UniqueConstraint,
    text,
)
from sqlalchemy.orm import Mapped, mapped_column

from app.models.base import Base, CreatedMixin, IdMixin, IdType, fk, org_fk, utcnow
from app.models.campaigns import in_list

ENROLLMENT_STATUSES = ("active", "paused", "completed", "stopped", "unsubscribed", "failed")
MESSAGE_STATUSES = ("pending", "sent", "delivered", "read", "failed")
LIVE_ENROLLMENT = "status IN ('active', 'paused')"


class DripEnrollment(IdMixin, Base):
    __tablename__ = "drip_enrollments"
    __table_args__ = (
        CheckConstraint(in_list("status", ENROLLMENT_STATUSES), name="status"),
        # At most one live enrollment per (campaign, contact); history rows are free.
        Index(
            "uq_drip_enrollments_live_campaign_contact",
            "campaign_id",
            "contact_id",
            unique=True,
            sqlite_where=text(LIVE_ENROLLMENT),
            postgresql_where=text(LIVE_ENROLLMENT),
        ),
        Index("ix_drip_enrollments_status_next_send_at", "status", "next_send_at"),
        Index("ix_drip_enrollments_campaign_status", "campaign_id", "status"),
        Index("ix_drip_enrollments_campaign_enrolled_at", "campaign_id", "enrolled_at"),
        Index("ix_drip_enrollments_campaign_completed_at", "campaign_id", "completed_at"),
        Index("ix_drip_enrollments_held_template", "held_template_id"),
    )

    organization_id: Mapped[int] = org_fk()
    campaign_id: Mapped[int] = fk("drip_campaigns.id", index=False)
    contact_id: Mapped[int] = fk("contacts.id")
    status: Mapped[str] = mapped_column(String(16), default="active")
    current_step_id: Mapped[int | None] = fk(
        "drip_campaign_steps.id", nullable=True, ondelete="SET NULL", index=False
    )
    # The furthest step a message was attempted for (set when the processor claims the
    # enrollment): the funnel's drop-off counts read it instead of every message log.
    last_step_id: Mapped[int | None] = fk(
        "drip_campaign_steps.id", nullable=True, ondelete="SET NULL", index=False
    )
    next_send_at: Mapped[datetime | None]
    # When the previous step went out, or when the branch that led to the current step was
    # decided: the current step's delay counts from here (from enrolled_at for the first step).
    last_sent_at: Mapped[datetime | None]
    # How the enrollment reached its current step: the step it came from and "next" (in
    # order), "timeout" or the event of that step's branch (read, replied, clicked, goal).
    # A branch that ended the journey leaves via_step_id = current_step_id, status completed.
    via_step_id: Mapped[int | None] = mapped_column(IdType)
    via: Mapped[str | None] = mapped_column(String(16))
    # Consecutive retryable failures of the current step, for the backoff.
    retry_count: Mapped[int] = mapped_column(Integer, default=0)
    enrolled_at: Mapped[datetime] = mapped_column(default=utcnow)
    paused_at: Mapped[datetime | None]
    completed_at: Mapped[datetime | None]
    stopped_at: Mapped[datetime | None]
    stop_reason: Mapped[str | None] = mapped_column(String(64))
    # Held at its current step because the step's template cannot be sent (paused, disabled,
    # rejected, gone): due but not claimed until the template is approved again.
    # Why next_send_at was pushed back by a sending rule (messaging_limit, frequency_cap,
    # marketing_cap): shown as "why waiting"; cleared when the message goes out.
    wait_reason: Mapped[str | None] = mapped_column(String(32))
    held_at: Mapped[datetime | None]
    # No foreign key: SQLite cannot add one to this table without rebuilding it, which the
    # rollup triggers forbid. Template rows are never deleted while the organization lives.
    held_template_id: Mapped[int | None] = mapped_column(IdType)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)


class DripMessageLog(IdMixin, CreatedMixin, Base):
    """One step sent (or attempted) to one enrollment; unique so it is never sent twice."""

    __tablename__ = "drip_message_logs"
    __table_args__ = (
        CheckConstraint(in_list("status", MESSAGE_STATUSES), name="status"),
        UniqueConstraint("enrollment_id", "step_id"),
        Index("ix_drip_message_logs_created_at", "created_at"),
        Index("ix_drip_message_logs_status_created_at", "status", "created_at"),
        Index("ix_drip_message_logs_campaign_step", "campaign_id", "step_id"),
        Index("ix_drip_message_logs_contact_created_at", "contact_id", "created_at"),
        # The messaging limit counts the people reached outside their window in 24 hours.
        Index(
            "ix_drip_message_logs_org_reached",
            "organization_id",
            "sent_at",
            sqlite_where=text("outside_window"),
            postgresql_where=text("outside_window"),
        ),
    )

    organization_id: Mapped[int] = org_fk()
    enrollment_id: Mapped[int] = fk("drip_enrollments.id", index=False)
    campaign_id: Mapped[int] = fk("drip_campaigns.id", index=False)
    step_id: Mapped[int] = fk("drip_campaign_steps.id", index=False)
    contact_id: Mapped[int] = fk("contacts.id", index=False)
    variant_id: Mapped[int | None] = fk("drip_ab_variants.id", nullable=True, ondelete="SET NULL")
    status: Mapped[str] = mapped_column(String(16), default="pending")
    wamid: Mapped[str | None] = mapped_column(String(128), unique=True)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    # Set after a retryable failure: from then on a resend is safe. A pending log without it
    # may have reached Meta (a timeout after sending) and is never resent automatically.
    retry_at: Mapped[datetime | None]
    error_code: Mapped[str | None] = mapped_column(String(16))
    error_message: Mapped[str | None] = mapped_column(Text)
    sent_at: Mapped[datetime | None]
    delivered_at: Mapped[datetime | None]
    read_at: Mapped[datetime | None]
    replied_at: Mapped[datetime | None]
    clicked_at: Mapped[datetime | None]
    failed_at: Mapped[datetime | None]
    # The enrollment's via_step_id and via when this step was claimed: the path it arrived by.
    via_step_id: Mapped[int | None] = mapped_column(IdType)
    via: Mapped[str | None] = mapped_column(String(16))
    # Meta's pricing category of what went out (MARKETING, UTILITY, AUTHENTICATION, SERVICE for
    # free text inside the window), and the template sent, if any (a fallback included).
    category: Mapped[str | None] = mapped_column(String(16))
    template_name: Mapped[str | None] = mapped_column(String(512))
    # Sent while the contact's 24-hour window was closed: one person reached against the
    # account's messaging limit.
    outside_window: Mapped[bool | None] = mapped_column(Boolean)
    # What Meta's status webhooks said it costs (pricing {billable, pricing_model, type,
    # category}) and what that is by the organization's rate card for the recipient's market.
    pricing_billable: Mapped[bool | None] = mapped_column(Boolean)
    pricing_model: Mapped[str | None] = mapped_column(String(16))
    pricing_type: Mapped[str | None] = mapped_column(String(32))
    pricing_category: Mapped[str | None] = mapped_column(String(32))
    market: Mapped[str | None] = mapped_column(String(64))
    cost: Mapped[Decimal | None] = mapped_column(Numeric(12, 6))
    currency: Mapped[str | None] = mapped_column(String(3))
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)
