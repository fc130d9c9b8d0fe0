"""What contacts did that a campaign aims for: events posted through the API, and the goal
conversions they made, attributed to a campaign's enrollment (issue 19)."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal

from sqlalchemy import CheckConstraint, Index, Numeric, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from app.models.base import Base, IdMixin, IdType, fk, utcnow


class DripEvent(IdMixin, Base):
    """An event a contact did (a purchase, a sign-up...), posted by the organization's systems.
    `external_id` is the sender's idempotency key: a repeat is the same event."""

    __tablename__ = "drip_events"
    __table_args__ = (
        UniqueConstraint("organization_id", "external_id"),
        Index("ix_drip_events_contact_occurred", "contact_id", "occurred_at"),
        Index("ix_drip_events_org_name_occurred", "organization_id", "name", "occurred_at"),
    )

    organization_id: Mapped[int] = fk("organizations.id")
    contact_id: Mapped[int] = fk("contacts.id", index=False)
    name: Mapped[str] = mapped_column(String(100))
    value: Mapped[Decimal | None] = mapped_column(Numeric(14, 4))
    currency: Mapped[str | None] = mapped_column(String(3))
    occurred_at: Mapped[datetime]
    external_id: Mapped[str | None] = mapped_column(String(200))
    received_at: Mapped[datetime] = mapped_column(default=utcnow)


class DripHoldout(IdMixin, Base):
    """A contact in a campaign's holdout: enrolled in the measurement, never messaged. Kept
    apart from drip_enrollments so that the funnel, cohorts and their rollups stay those of
    the messaged; the sticky hash puts the same contact here every time (issue 19)."""

    __tablename__ = "drip_holdouts"
    __table_args__ = (UniqueConstraint("campaign_id", "contact_id"),)

    organization_id: Mapped[int] = fk("organizations.id")
    campaign_id: Mapped[int] = fk("drip_campaigns.id", index=False)
    contact_id: Mapped[int] = fk("contacts.id")
    assigned_at: Mapped[datetime] = mapped_column(default=utcnow)


class DripConversion(IdMixin, Base):
    """An enrollment (or a holdout) that reached its campaign's goal: the first goal event
    within the goal's days of enrolling, at most one each. Attributed to the last message sent
    to the enrollment before the event; the log id has no foreign key because the message logs
    are purged by retention."""

    __tablename__ = "drip_conversions"
    __table_args__ = (
        UniqueConstraint("enrollment_id"),
        UniqueConstraint("holdout_id"),
        CheckConstraint(
            "(enrollment_id IS NULL) <> (holdout_id IS NULL)", name="enrollment_or_holdout"
        ),
        Index("ix_drip_conversions_campaign_occurred", "campaign_id", "occurred_at"),
    )

    organization_id: Mapped[int] = fk("organizations.id")
    campaign_id: Mapped[int] = fk("drip_campaigns.id", index=False)
    enrollment_id: Mapped[int | None] = fk("drip_enrollments.id", nullable=True, index=False)
    holdout_id: Mapped[int | None] = fk("drip_holdouts.id", nullable=True, index=False)
    contact_id: Mapped[int] = fk("contacts.id")
    event_id: Mapped[int] = fk("drip_events.id")
    occurred_at: Mapped[datetime]
    value: Mapped[Decimal | None] = mapped_column(Numeric(14, 4))
    currency: Mapped[str | None] = mapped_column(String(3))
    attributed_log_id: Mapped[int | None] = mapped_column(IdType)
    attributed_step_id: Mapped[int | None] = mapped_column(IdType)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
