"""The catalog, the read side: a page of the organization's templates, with filters."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from app.drip.paging import PageOf
from app.drip.scope import scoped
from app.models import WhatsAppTemplate


@dataclass
class TemplatePage(PageOf):
    templates: list[WhatsAppTemplate]
    total: int
    page: int
    per_page: int


def list_templates(
    session: Session,
    organization_id: int,
    *,
    status: str | None = None,
    category: str | None = None,
    q: str | None = None,
    include_deleted: bool = False,
    page: int = 1,
    per_page: int = 50,
) -> TemplatePage:
    """A page of the catalog by name then language; templates deleted at Meta are left out
    unless asked for. Status and category match whatever the case; q is part of the name."""
    query = scoped(WhatsAppTemplate, organization_id)
    if not include_deleted:
        query = query.where(WhatsAppTemplate.deleted_at.is_(None))
    if status:
        query = query.where(WhatsAppTemplate.status == status.strip().upper())
    if category:
        query = query.where(WhatsAppTemplate.category == category.strip().upper())
    if q and q.strip():
        like = "%" + _escape_like(q.strip().lower()) + "%"
        query = query.where(func.lower(WhatsAppTemplate.name).like(like, escape="\\"))
    total = session.scalar(select(func.count()).select_from(query.subquery())) or 0
    rows = session.scalars(
        query.order_by(WhatsAppTemplate.name, WhatsAppTemplate.language, WhatsAppTemplate.id)
        .limit(per_page)
        .offset((page - 1) * per_page)
    )
    return TemplatePage(list(rows), total, page, per_page)


def _escape_like(text: str) -> str:
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
