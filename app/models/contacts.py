"""Contacts and their tags."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import CheckConstraint, Index, Integer, LargeBinary, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from app.models.base import Base, CreatedMixin, IdMixin, JsonType, fk, org_fk, utcnow


class Contact(IdMixin, CreatedMixin, Base):
    __tablename__ = "contacts"
    __table_args__ = (
        UniqueConstraint("organization_id", "phone"),
        UniqueConstraint("organization_id", "whatsapp_user_id"),
        Index("ix_contacts_org_created", "organization_id", "created_at"),
        # A contact is reachable by its phone number, its business-scoped user id, or both.
        CheckConstraint("phone IS NOT NULL OR whatsapp_user_id IS NOT NULL", name="reachable"),
    )

    organization_id: Mapped[int] = org_fk()
    phone: Mapped[str | None] = mapped_column(String(20))  # E.164
    # Meta's business-scoped user id (BSUID, "US.13491208655302741918"): how a WhatsApp user who
    # hides their number behind a username is known and reached.
    whatsapp_user_id: Mapped[str | None] = mapped_column(String(160))
    first_name: Mapped[str | None] = mapped_column(String(120))
    last_name: Mapped[str | None] = mapped_column(String(120))
    timezone: Mapped[str | None] = mapped_column(String(64))
    attributes: Mapped[dict] = mapped_column(JsonType, default=dict)
    opted_out_at: Mapped[datetime | None]
    opt_out_reason: Mapped[str | None] = mapped_column(String(64))
    undeliverable_at: Mapped[datetime | None]
    # Opens Meta's 24-hour window for free-text messages.
    last_inbound_at: Mapped[datetime | None]
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)


class Tag(IdMixin, CreatedMixin, Base):
    __tablename__ = "tags"
    __table_args__ = (UniqueConstraint("organization_id", "name"),)

    organization_id: Mapped[int] = org_fk()
    name: Mapped[str] = mapped_column(String(64))


class ContactTag(CreatedMixin, Base):
    """A tag on a contact; created_at drives the tag-added trigger."""

    __tablename__ = "contact_tags"

    contact_id: Mapped[int] = fk("contacts.id", primary_key=True, index=False)
    tag_id: Mapped[int] = fk("tags.id", primary_key=True)
    organization_id: Mapped[int] = org_fk()


IMPORT_STATUSES = ("queued", "running", "done", "failed")


class ContactImport(IdMixin, CreatedMixin, Base):
    """A CSV import: the file is kept in the database so any worker machine can run it, and
    the counters are the progress bar."""

    __tablename__ = "contact_imports"
    __table_args__ = (
        CheckConstraint("status IN ('queued', 'running', 'done', 'failed')", name="status"),
    )

    organization_id: Mapped[int] = org_fk()
    created_by_user_id: Mapped[int | None] = fk("users.id", nullable=True, ondelete="SET NULL")
    filename: Mapped[str] = mapped_column(String(255))
    content: Mapped[bytes | None] = mapped_column(LargeBinary)
    status: Mapped[str] = mapped_column(String(16), default="queued")
    total_rows: Mapped[int | None] = mapped_column(Integer)
    processed_rows: Mapped[int] = mapped_column(Integer, default=0)
    created_count: Mapped[int] = mapped_column(Integer, default=0)
    updated_count: Mapped[int] = mapped_column(Integer, default=0)
    error_count: Mapped[int] = mapped_column(Integer, default=0)
    # [{"row": n, "message": "..."}], the first few hundred.
    errors: Mapped[list] = mapped_column(JsonType, default=list)
    last_error: Mapped[str | None] = mapped_column(Text)
    started_at: Mapped[datetime | None]
    finished_at: Mapped[datetime | None]
