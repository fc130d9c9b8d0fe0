"""The one way to load an organization's rows: every request-driven read goes through here."""

from __future__ import annotations

from typing import TypeVar

from sqlalchemy import Select, select
from sqlalchemy.orm import Session

from app.drip.errors import NotFound

T = TypeVar("T")


def scoped(model: type[T], organization_id: int) -> Select:
    """SELECT of model rows belonging to one organization."""
    return select(model).where(model.organization_id == organization_id)


def get_scoped(session: Session, model: type[T], organization_id: int, row_id: int) -> T:
    """The row with this id in this organization, or NotFound (never another org's row)."""
    row = session.scalars(scoped(model, organization_id).where(model.id == row_id)).first()
    if row is None:
        raise NotFound(f"{_label(model)} {row_id} not found")
    return row


def _label(model: type) -> str:
    return getattr(model, "__label__", model.__name__)
