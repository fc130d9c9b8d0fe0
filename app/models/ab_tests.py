"""A/B tests of a step's message: tests, variants and sticky contact assignments."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal

from sqlalchemy import (
    Boolean,
    CheckConstraint,
    Float,
    ForeignKey,
    Index,
    Integer,
    Numeric,
    String,
    Text,
    UniqueConstraint,
    text,
)
from sqlalchemy.orm import Mapped, mapped_column

from app.models.base import Base, CreatedMixin, IdMixin, IdType, JsonType, fk, org_fk, utcnow
from app.models.campaigns import in_list

TEST_STATUSES = ("draft", "running", "paused", "completed")
WINNING_METRICS = ("read_rate", "reply_rate", "delivery_rate", "click_rate", "conversion_rate")


class DripAbTest(IdMixin, CreatedMixin, Base):
    __tablename__ = "drip_ab_tests"
    __table_args__ = (
        CheckConstraint(in_list("status", TEST_STATUSES), name="status"),
        CheckConstraint(in_list("winning_metric", WINNING_METRICS), name="winning_metric"),
        CheckConstraint(
            "confidence_threshold > 0 AND confidence_threshold < 1", name="confidence_range"
        ),
        # One running test per step.
        Index(
            "uq_drip_ab_tests_running_step",
            "step_id",
            unique=True,
            sqlite_where=text("status = 'running'"),
            postgresql_where=text("status = 'running'"),
        ),
    )

    organization_id: Mapped[int] = org_fk()
    campaign_id: Mapped[int] = fk("drip_campaigns.id")
    step_id: Mapped[int] = fk("drip_campaign_steps.id")
    name: Mapped[str] = mapped_column(String(200))
    status: Mapped[str] = mapped_column(String(16), default="draft")
    winning_metric: Mapped[str] = mapped_column(String(32), default="read_rate")
    confidence_threshold: Mapped[float] = mapped_column(Float, default=0.95)
    min_sample_size: Mapped[int] = mapped_column(Integer, default=100)
    # The sends per arm the always-valid test is tuned for (None: the default tuning), and the
    # days after which a running test ends "no difference found" (None: no end).
    planned_sample_size: Mapped[int | None] = mapped_column(Integer)
    max_duration_days: Mapped[int | None] = mapped_column(Integer)
    # Hours after a send before its outcome counts for the auto-winner decision.
    outcome_window_hours: Mapped[int] = mapped_column(Integer, default=72)
    # Allocation edits on a running test start a new analysis phase.
    phase: Mapped[int] = mapped_column(Integer, default=1)
    phase_started_at: Mapped[datetime | None]
    # use_alter: tests and variants point at each other.
    winner_variant_id: Mapped[int | None] = mapped_column(
        IdType, ForeignKey("drip_ab_variants.id", ondelete="SET NULL", use_alter=True)
    )
    decided_by: Mapped[str | None] = mapped_column(String(16))
    decision_snapshot: Mapped[dict | None] = mapped_column(JsonType)
    started_at: Mapped[datetime | None]
    ended_at: Mapped[datetime | None]


class DripAbVariant(IdMixin, CreatedMixin, Base):
    __tablename__ = "drip_ab_variants"
    __table_args__ = (
        CheckConstraint(
            "traffic_allocation >= 0 AND traffic_allocation <= 100", name="allocation_range"
        ),
    )

    organization_id: Mapped[int] = org_fk()
    test_id: Mapped[int] = fk("drip_ab_tests.id")
    name: Mapped[str] = mapped_column(String(200))
    message_content: Mapped[str | None] = mapped_column(Text)
    # Percent with two decimals, exact, so that 33.33 + 33.33 + 33.34 is 100.
    traffic_allocation: Mapped[Decimal] = mapped_column(Numeric(5, 2))
    is_control: Mapped[bool] = mapped_column(Boolean, default=False)
    # No counter columns: a variant's counts are its assignments' flags, aggregated per phase
    # (app.drip.ab.results); triggers on drip_message_logs keep the flags (migration 0007).


class DripVariantAssignment(IdMixin, Base):
    """The variant a contact got in a test: stored once, never changed. The flags copy the
    contact's message log of the test's step (message_log_id): database triggers on
    drip_message_logs (migration 0007) keep them in step in the same transaction."""

    __tablename__ = "drip_variant_assignments"
    __table_args__ = (
        UniqueConstraint("test_id", "contact_id"),
        Index("ix_drip_variant_assignments_test_variant", "test_id", "variant_id"),
    )

    organization_id: Mapped[int] = org_fk()
    test_id: Mapped[int] = fk("drip_ab_tests.id", index=False)
    variant_id: Mapped[int] = fk("drip_ab_variants.id", index=False)
    contact_id: Mapped[int] = fk("contacts.id")
    message_log_id: Mapped[int | None] = fk(
        "drip_message_logs.id", nullable=True, ondelete="SET NULL", index=False
    )
    phase: Mapped[int] = mapped_column(Integer, default=1)
    assigned_at: Mapped[datetime] = mapped_column(default=utcnow)
    sent_at: Mapped[datetime | None]
    delivered_at: Mapped[datetime | None]
    read_at: Mapped[datetime | None]
    replied_at: Mapped[datetime | None]
    clicked_at: Mapped[datetime | None]
