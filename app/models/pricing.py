"""Organizations' rate cards: what a delivered message costs, by market and category, from a
date on (Meta changes its rates on set dates). Organizations without rows of their own use the
default card shipped with the app (app/drip/pricing)."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

from sqlalchemy import Date, Numeric, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from app.models.base import Base, CreatedMixin, IdMixin, org_fk


class RateCardEntry(IdMixin, CreatedMixin, Base):
    __tablename__ = "rate_card_entries"
    __table_args__ = (UniqueConstraint("organization_id", "market", "category", "effective_from"),)

    organization_id: Mapped[int] = org_fk()
    market: Mapped[str] = mapped_column(String(64))
    category: Mapped[str] = mapped_column(String(32))
    price: Mapped[Decimal] = mapped_column(Numeric(12, 6))
    currency: Mapped[str] = mapped_column(String(3))
    effective_from: Mapped[date] = mapped_column(Date)
