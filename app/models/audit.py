"""Security records: the audit log of who changed what, and failed logins."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Index, String
from sqlalchemy.orm import Mapped, mapped_column

from app.models.base import Base, CreatedMixin, IdMixin, JsonType, fk, org_fk, utcnow


class AuditEvent(IdMixin, CreatedMixin, Base):
    """One change to a campaign (its settings, lifecycle, steps, enrollments, A/B tests) and
    who made it: a user, or an API key (user_id is then null). `actor` keeps the email or the
    key's name as it was, so the log still reads right after a user or key is gone."""

    __tablename__ = "audit_events"
    __table_args__ = (Index("ix_audit_events_campaign_created", "campaign_id", "created_at"),)

    organization_id: Mapped[int] = org_fk()
    user_id: Mapped[int | None] = fk("users.id", nullable=True, ondelete="SET NULL", index=False)
    api_key_id: Mapped[int | None] = fk(
        "api_keys.id", nullable=True, ondelete="SET NULL", index=False
    )
    actor: Mapped[str] = mapped_column(String(254))
    # Null for a change that is not a campaign's, or once the campaign is deleted.
    campaign_id: Mapped[int | None] = fk(
        "drip_campaigns.id", nullable=True, ondelete="SET NULL", index=False
    )
    action: Mapped[str] = mapped_column(String(64))
    details: Mapped[dict] = mapped_column(JsonType, default=dict)


class LoginAttempt(IdMixin, Base):
    """A failed login, counted per email and per client address for the rate limit. Not an
    organization's row: the email may belong to nobody. Kept only for the limit's window."""

    __tablename__ = "login_attempts"
    __table_args__ = (
        Index("ix_login_attempts_email_attempted", "email", "attempted_at"),
        Index("ix_login_attempts_address_attempted", "address", "attempted_at"),
    )

    email: Mapped[str] = mapped_column(String(254))
    address: Mapped[str] = mapped_column(String(64))
    attempted_at: Mapped[datetime] = mapped_column(default=utcnow, index=True)
