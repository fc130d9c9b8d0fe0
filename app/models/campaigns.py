"""Drip campaigns and their ordered steps."""

from __future__ import annotations

from datetime import datetime, time

from sqlalchemy import Boolean, CheckConstraint, Index, Integer, String, Text, Time, false
from sqlalchemy.orm import Mapped, mapped_column

from app.models.base import Base, CreatedMixin, IdMixin, JsonType, NullableJson, fk, org_fk, utcnow

CAMPAIGN_STATUSES = ("draft", "active", "paused", "archived")
TRIGGER_TYPES = ("manual", "tag_added", "contact_created", "keyword")
DELAY_UNITS = ("minutes", "hours", "days")
MESSAGE_TYPES = ("text", "template")


def in_list(column: str, values: tuple[str, ...]) -> str:
    """SQL for a CHECK that a column holds one of the given values."""
    quoted = ", ".join(f"'{value}'" for value in values)
    return f"{column} IN ({quoted})"


class DripCampaign(IdMixin, CreatedMixin, Base):
    __tablename__ = "drip_campaigns"
    __table_args__ = (
        CheckConstraint(in_list("status", CAMPAIGN_STATUSES), name="status"),
        CheckConstraint(in_list("trigger_type", TRIGGER_TYPES), name="trigger_type"),
        Index("ix_drip_campaigns_org_status", "organization_id", "status"),
    )

    organization_id: Mapped[int] = org_fk()
    name: Mapped[str] = mapped_column(String(200))
    description: Mapped[str | None] = mapped_column(Text)
    status: Mapped[str] = mapped_column(String(16), default="draft")
    trigger_type: Mapped[str] = mapped_column(String(32), default="manual")
    trigger_value: Mapped[str | None] = mapped_column(String(200))
    stop_on_reply: Mapped[bool] = mapped_column(Boolean, default=True)
    allow_reenrollment: Mapped[bool] = mapped_column(Boolean, default=False)
    track_links: Mapped[bool] = mapped_column(Boolean, default=False)
    # Utility flows (receipts, reminders) are not counted against the frequency cap.
    frequency_cap_exempt: Mapped[bool] = mapped_column(
        Boolean, default=False, server_default=false()
    )
    # The goal (issue 19): an event name reached within goal_within_days of enrolling; with
    # exit_on_goal the enrollment ends "converted". holdout_percent of new enrollments, picked
    # by a hash salted with holdout_salt (sticky per contact), are never messaged (kept in
    # drip_holdouts instead of drip_enrollments).
    goal_event: Mapped[str | None] = mapped_column(String(100))
    goal_within_days: Mapped[int | None] = mapped_column(Integer)
    exit_on_goal: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    holdout_percent: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    holdout_salt: Mapped[str | None] = mapped_column(String(32))
    # Send window; no start/end means any time of day. "contact" = the contact's own zone.
    window_start: Mapped[time | None] = mapped_column(Time)
    window_end: Mapped[time | None] = mapped_column(Time)
    window_weekdays: Mapped[list] = mapped_column(JsonType, default=lambda: [1, 2, 3, 4, 5, 6, 7])
    window_timezone: Mapped[str] = mapped_column(String(64), default="UTC")
    # Counters refreshed by housekeeping; the funnel computes exact figures itself.
    total_enrolled: Mapped[int] = mapped_column(Integer, default=0)
    active_count: Mapped[int] = mapped_column(Integer, default=0)
    completed_count: Mapped[int] = mapped_column(Integer, default=0)
    sent_count: Mapped[int] = mapped_column(Integer, default=0)
    delivered_count: Mapped[int] = mapped_column(Integer, default=0)
    read_count: Mapped[int] = mapped_column(Integer, default=0)
    replied_count: Mapped[int] = mapped_column(Integer, default=0)
    clicked_count: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    failed_count: Mapped[int] = mapped_column(Integer, default=0)
    stats_refreshed_at: Mapped[datetime | None]
    created_by_user_id: Mapped[int | None] = fk("users.id", nullable=True, ondelete="SET NULL")
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)
    activated_at: Mapped[datetime | None]
    archived_at: Mapped[datetime | None]


class DripCampaignStep(IdMixin, CreatedMixin, Base):
    """One message of a campaign. Soft-deleted so logs and analytics keep their step."""

    __tablename__ = "drip_campaign_steps"
    __table_args__ = (
        CheckConstraint(in_list("delay_unit", DELAY_UNITS), name="delay_unit"),
        CheckConstraint(in_list("message_type", MESSAGE_TYPES), name="message_type"),
        CheckConstraint("delay_amount >= 0", name="delay_amount_non_negative"),
        Index("ix_drip_campaign_steps_campaign_position", "campaign_id", "position"),
    )

    organization_id: Mapped[int] = org_fk()
    campaign_id: Mapped[int] = fk("drip_campaigns.id", index=False)
    position: Mapped[int] = mapped_column(Integer)
    name: Mapped[str] = mapped_column(String(200))
    delay_amount: Mapped[int] = mapped_column(Integer, default=0)
    delay_unit: Mapped[str] = mapped_column(String(16), default="days")
    message_type: Mapped[str] = mapped_column(String(16), default="text")
    message_content: Mapped[str | None] = mapped_column(Text)
    template_name: Mapped[str | None] = mapped_column(String(512))
    template_language: Mapped[str | None] = mapped_column(String(16))
    template_parameters: Mapped[list | None] = mapped_column(JsonType)
    # The template's header parameter (a media link, or the text of a {{1}} in a text header)
    # and its URL buttons' parameters, in button order; variables allowed as in the body's.
    template_header: Mapped[str | None] = mapped_column(Text)
    template_buttons: Mapped[list | None] = mapped_column(JsonType)
    # A text step's template for contacts whose 24-hour window is closed at send time.
    fallback_template_name: Mapped[str | None] = mapped_column(String(512))
    fallback_template_language: Mapped[str | None] = mapped_column(String(16))
    fallback_template_parameters: Mapped[list | None] = mapped_column(JsonType)
    # What the step waits for once sent, and where each outcome leads
    # (app.drip.enrollment.branching.Branch); None: the next step follows after its delay.
    branch: Mapped[dict | None] = mapped_column(NullableJson)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)
    deleted_at: Mapped[datetime | None]
