"""The organization's WhatsApp message templates, as Meta last reported them."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Index, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from app.models.base import Base, CreatedMixin, IdMixin, JsonType, org_fk

TEMPLATE_STATUSES = (
    "APPROVED",
    "PENDING",
    "REJECTED",
    "PAUSED",
    "DISABLED",
    "IN_APPEAL",
    "PENDING_DELETION",
    "DELETED",
    "LIMIT_EXCEEDED",
)
TEMPLATE_CATEGORIES = ("MARKETING", "UTILITY", "AUTHENTICATION")
QUALITY_SCORES = ("GREEN", "YELLOW", "RED", "UNKNOWN")
PARAMETER_FORMATS = ("positional", "named")


class WhatsAppTemplate(IdMixin, CreatedMixin, Base):
    """One template (a name in one language) of the organization's WhatsApp Business Account,
    or of the built-in sandbox catalog (business_account_id None). A template deleted at Meta
    keeps its row (deleted_at) while steps may name it."""

    __tablename__ = "whatsapp_templates"
    __table_args__ = (
        UniqueConstraint("organization_id", "name", "language"),
        # Template webhooks arrive by WABA id.
        Index("ix_whatsapp_templates_business_account", "business_account_id"),
    )

    organization_id: Mapped[int] = org_fk()
    business_account_id: Mapped[str | None] = mapped_column(String(64))
    meta_id: Mapped[str | None] = mapped_column(String(64))
    name: Mapped[str] = mapped_column(String(512))
    language: Mapped[str] = mapped_column(String(16))
    category: Mapped[str] = mapped_column(String(32))
    status: Mapped[str] = mapped_column(String(32))
    quality_score: Mapped[str | None] = mapped_column(String(16))
    parameter_format: Mapped[str] = mapped_column(String(16), default="positional")
    parameters: Mapped[list] = mapped_column(JsonType, default=list)
    body_text: Mapped[str | None] = mapped_column(Text)
    header: Mapped[dict | None] = mapped_column(JsonType)
    footer_text: Mapped[str | None] = mapped_column(Text)
    buttons: Mapped[list | None] = mapped_column(JsonType)
    reason: Mapped[str | None] = mapped_column(Text)
    synced_at: Mapped[datetime]
    status_changed_at: Mapped[datetime | None]
    deleted_at: Mapped[datetime | None]
