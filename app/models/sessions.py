"""Logged-in browsers, kept on the server so that a session can be ended there."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import String
from sqlalchemy.orm import Mapped, mapped_column

from app.models.base import Base, CreatedMixin, IdMixin, fk, org_fk


class UserSession(IdMixin, CreatedMixin, Base):
    """One login of one user in one browser. The browser's cookies carry a random token; only
    its SHA-256 is stored. The token works while the row is neither revoked (logout, log out
    everywhere, a password change) nor idle longer than SESSION_IDLE_HOURS; a remember-me
    cookie's use replaces the token (app.drip.accounts.sessions)."""

    __tablename__ = "user_sessions"

    organization_id: Mapped[int] = org_fk()
    user_id: Mapped[int] = fk("users.id")
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    last_seen_at: Mapped[datetime]
    revoked_at: Mapped[datetime | None]
