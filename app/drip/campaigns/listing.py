"""The campaign list: a page of an organization's campaigns, by part of the name and status."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from app.drip.errors import ValidationError
from app.drip.limits import SEARCH_TEXT_MAX
from app.drip.paging import PageOf
from app.drip.scope import scoped
from app.models import DripCampaign
from app.models.campaigns import CAMPAIGN_STATUSES


@dataclass(frozen=True)
class CampaignPage(PageOf):
    rows: list[DripCampaign]
    total: int
    page: int
    per_page: int


def check_filters(q, status) -> tuple[str | None, str | None]:
    """The filters, trimmed, or a ValidationError naming the one that is wrong."""
    if q is not None and not isinstance(q, str):
        raise ValidationError("q must be text.", {"q": "Part of a campaign's name."})
    q = (q or "").strip() or None
    if q is not None and len(q) > SEARCH_TEXT_MAX:
        raise ValidationError(
            f"The search has {len(q):,} characters; at most {SEARCH_TEXT_MAX:,}.",
            {"q": f"At most {SEARCH_TEXT_MAX:,} characters."},
        )
    if isinstance(status, str) or status is None:
        status = (status or "").strip() or None
    if status is not None and status not in CAMPAIGN_STATUSES:
        raise ValidationError(
            "Unknown status.", {"status": "One of: " + ", ".join(CAMPAIGN_STATUSES) + "."}
        )
    return q, status


def list_campaigns(
    session: Session,
    organization_id: int,
    *,
    q: str | None = None,
    status: str | None = None,
    page: int = 1,
    per_page: int = 50,
) -> CampaignPage:
    """Newest first; q is part of the name (any case), status one of CAMPAIGN_STATUSES."""
    q, status = check_filters(q, status)
    query = scoped(DripCampaign, organization_id)
    if status:
        query = query.where(DripCampaign.status == status)
    if q:
        like = "%" + _escape_like(q.lower()) + "%"
        query = query.where(func.lower(DripCampaign.name).like(like, escape="\\"))
    total = session.scalar(select(func.count()).select_from(query.subquery())) or 0
    rows = session.scalars(
        query.order_by(DripCampaign.created_at.desc(), DripCampaign.id.desc())
        .limit(per_page)
        .offset((page - 1) * per_page)
    )
    return CampaignPage(list(rows), total, page, per_page)


def _escape_like(text: str) -> str:
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
