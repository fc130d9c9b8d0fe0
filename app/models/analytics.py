"""Rollups the analytics read instead of every message log."""

from __future__ import annotations

from sqlalchemy import BigInteger, Index, Integer, SmallInteger, String
from sqlalchemy.orm import Mapped, mapped_column

from app.models.base import Base, IdMixin, IdType, fk, org_fk

# axis: what `bucket` counts. Metrics are numbered in app.drip.analytics.activity.METRICS order.
AXIS_EVENT = 0  # bucket = the 15-minute UTC bucket of the event itself
AXIS_COHORT = 1  # bucket = the 15-minute UTC bucket of the enrollment
AXIS_DELAY = 2  # bucket = whole seconds from send to read (metric read) or reply (replied)
AXIS_FAILURE = 3  # bucket = a failure's error code: its number, -1 "stale", 0 none
# bucket = the step a purged log's enrollment came from (via_step_id, 0 for none), metric =
# VIA_CODES of its via: the funnel's paths outlive the logs retention purges.
AXIS_PATH = 4
VIA_CODES = {None: 0, "next": 1, "timeout": 2, "read": 3, "replied": 4, "clicked": 5, "goal": 6}


class DripActivityRollup(IdMixin, Base):
    """Signed counts of what happened to a campaign's messages, written by database triggers
    on drip_message_logs (migration 0006) as deltas and merged by the compact job. A purged
    log keeps its counts here: the funnel does not shrink with the logs' retention."""

    __tablename__ = "drip_activity_rollups"
    __table_args__ = (
        Index("ix_drip_activity_rollups_key", "campaign_id", "axis", "bucket", "step_id", "metric"),
    )

    organization_id: Mapped[int] = org_fk()
    campaign_id: Mapped[int] = fk("drip_campaigns.id", index=False)
    # No foreign key: steps are soft-deleted, and a campaign's delete takes its rows anyway.
    step_id: Mapped[int] = mapped_column(IdType)
    axis: Mapped[int] = mapped_column(SmallInteger)
    metric: Mapped[int] = mapped_column(SmallInteger)
    bucket: Mapped[int] = mapped_column(BigInteger)
    count: Mapped[int] = mapped_column(Integer)


class DripEnrollmentRollup(IdMixin, Base):
    """Signed counts of a campaign's enrollments by when they enrolled and completed, how far
    they got and how they stand, kept like DripActivityRollup by triggers on
    drip_enrollments. No NULL in the key: -1 is "not completed", 0 "no step reached"."""

    __tablename__ = "drip_enrollment_rollups"
    __table_args__ = (
        Index(
            "ix_drip_enrollment_rollups_key",
            "campaign_id",
            "enrolled_bucket",
            "completed_bucket",
            "last_step_id",
            "status",
            "replied",
        ),
    )

    organization_id: Mapped[int] = org_fk()
    campaign_id: Mapped[int] = fk("drip_campaigns.id", index=False)
    enrolled_bucket: Mapped[int] = mapped_column(BigInteger)
    completed_bucket: Mapped[int] = mapped_column(BigInteger)
    last_step_id: Mapped[int] = mapped_column(IdType)
    status: Mapped[str] = mapped_column(String(16))
    replied: Mapped[int] = mapped_column(SmallInteger)
    count: Mapped[int] = mapped_column(Integer)
