"""Organizations and who acts for them: users, API keys, WhatsApp accounts."""

from __future__ import annotations

from datetime import datetime

from flask_login import UserMixin
from sqlalchemy import CheckConstraint, ForeignKey, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from app.models.base import Base, CreatedMixin, IdMixin, IdType, JsonType, fk, org_fk


class Organization(IdMixin, CreatedMixin, Base):
    __tablename__ = "organizations"

    name: Mapped[str] = mapped_column(String(120), unique=True)
    # Region used to read phone numbers written without a country code.
    default_region: Mapped[str] = mapped_column(String(2), default="US")
    timezone: Mapped[str] = mapped_column(String(64), default="UTC")
    opt_out_keywords: Mapped[list] = mapped_column(JsonType, default=list)
    # At most this many marketing messages per contact in this many days, across campaigns
    # (both None: no cap).
    frequency_cap_messages: Mapped[int | None] = mapped_column(Integer)
    frequency_cap_days: Mapped[int | None] = mapped_column(Integer)
    # How many times a message Meta held back for the per-user marketing cap (131049) is
    # tried again, a day apart at least.
    marketing_cap_retries: Mapped[int] = mapped_column(Integer, default=3, server_default="3")


class User(UserMixin, IdMixin, CreatedMixin, Base):
    __tablename__ = "users"
    __table_args__ = (CheckConstraint("role IN ('admin', 'member')", name="role"),)

    organization_id: Mapped[int] = org_fk()
    email: Mapped[str] = mapped_column(String(254), unique=True)
    password_hash: Mapped[str] = mapped_column(String(255))
    role: Mapped[str] = mapped_column(String(16), default="member")
    name: Mapped[str | None] = mapped_column(String(120))
    timezone: Mapped[str | None] = mapped_column(String(64))
    last_login_at: Mapped[datetime | None]

    # Not a column: the browser session this object was loaded for (set by app.auth). Flask-Login
    # keeps it in the cookies instead of the user id (app.auth sets its id_attribute to
    # get_session_token), so that a session can be ended on the server. get_id, and so equality,
    # stay the user's id.
    session_token = None

    def get_session_token(self) -> str | None:
        return self.session_token


class ApiKey(IdMixin, CreatedMixin, Base):
    """A per-organization key; only its SHA-256 is stored, the key is shown once."""

    __tablename__ = "api_keys"

    organization_id: Mapped[int] = org_fk()
    name: Mapped[str] = mapped_column(String(120))
    prefix: Mapped[str] = mapped_column(String(16))
    key_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_by_user_id: Mapped[int | None] = fk("users.id", nullable=True, ondelete="SET NULL")
    last_used_at: Mapped[datetime | None]
    revoked_at: Mapped[datetime | None]


class WhatsAppAccount(IdMixin, CreatedMixin, Base):
    """An organization's Cloud API phone number; secrets are Fernet-encrypted at rest."""

    __tablename__ = "whatsapp_accounts"

    organization_id: Mapped[int] = mapped_column(
        IdType, ForeignKey("organizations.id", ondelete="CASCADE"), unique=True
    )
    phone_number_id: Mapped[str] = mapped_column(String(64), unique=True)
    # Template webhooks arrive on the business account: they are routed by it.
    business_account_id: Mapped[str | None] = mapped_column(String(64), index=True)
    display_phone_number: Mapped[str | None] = mapped_column(String(32))
    # As Meta reported them when the account was verified.
    verified_name: Mapped[str | None] = mapped_column(String(200))
    quality_rating: Mapped[str | None] = mapped_column(String(16))
    verified_at: Mapped[datetime | None]
    access_token_encrypted: Mapped[str] = mapped_column(Text)
    app_secret_encrypted: Mapped[str] = mapped_column(Text)
    # Meta sends the verify token back in the handshake; a hash is enough to match it.
    verify_token_hash: Mapped[str | None] = mapped_column(String(64), index=True)
    api_base_url: Mapped[str] = mapped_column(String(255), default="https://graph.facebook.com")
    api_version: Mapped[str] = mapped_column(String(16), default="v21.0")
    messaging_tier: Mapped[str | None] = mapped_column(String(32))
    # Unique people reached outside their 24-hour window in any moving 24 hours (250, 2,000,
    # 10,000, 100,000); None: unlimited or not known.
    messaging_limit: Mapped[int | None] = mapped_column(Integer)
    rate_limit_per_second: Mapped[int] = mapped_column(Integer, default=80)
    sending_paused_at: Mapped[datetime | None]
    sending_paused_code: Mapped[str | None] = mapped_column(String(16))
    sending_paused_reason: Mapped[str | None] = mapped_column(Text)
    # Sends through the account keep failing (refused token, connection refused, every send
    # retrying) since this time: a banner on every page of the organization until one succeeds.
    failing_since: Mapped[datetime | None]
    failure_reason: Mapped[str | None] = mapped_column(Text)
