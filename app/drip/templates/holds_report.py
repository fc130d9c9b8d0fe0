"""What the marketer sees of template holds: which template holds how many live enrollments,
at which step, since when (for a campaign, or the whole organization), and which templates of
live steps Meta rates low (RED quality).

An enrollment is held when its step's template cannot be sent (the processor sets held_at and
held_template_id; held_template_id None means the step names a template not in the catalog).
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import bindparam, func, or_, select
from sqlalchemy.orm import Session

from app.drip.enrollment import LIVE_STATUSES
from app.drip.sql import as_utc
from app.models import DripCampaignStep, DripEnrollment, WhatsAppTemplate

NOT_IN_CATALOG = "not in the catalog"
LOW_QUALITY = "RED"


@dataclass(frozen=True)
class Hold:
    """Enrollments held by one template (at one step, for a campaign's report)."""

    template_id: int | None
    name: str | None
    language: str | None
    # The catalog status (PAUSED, DISABLED, REJECTED, ...), "DELETED" for a template deleted at
    # Meta, NOT_IN_CATALOG when the catalog has no such template.
    status: str
    reason: str | None
    contacts: int
    since: datetime
    campaign_id: int | None = None
    step_id: int | None = None
    position: int | None = None


def campaign_holds(
    session: Session, organization_id: int, campaign_ids: list[int]
) -> dict[int, list[Hold]]:
    """Each campaign's holds, by template and step, the longest-held first."""
    result: dict[int, list[Hold]] = {cid: [] for cid in campaign_ids}
    if not campaign_ids:
        return result
    arguments = {"organization_id": organization_id, "campaign_ids": list(campaign_ids)}
    rows = session.execute(_CAMPAIGN_HELD, arguments).all()
    for row in rows:
        result[row.campaign_id].append(_hold(row, by_step=True))
    for holds in result.values():
        holds.sort(key=lambda h: (h.since, h.position or 0))
    return result


def organization_holds(session: Session, organization_id: int) -> list[Hold]:
    """The organization's holds by template (all campaigns together), the longest-held first."""
    merged: dict[tuple, list] = defaultdict(list)
    rows = session.execute(_ORGANIZATION_HELD, {"organization_id": organization_id})
    for row in rows:
        hold = _hold(row, by_step=False)
        key = (hold.template_id,) if hold.template_id else (None, hold.name, hold.language)
        merged[key].append(hold)
    holds = []
    for parts in merged.values():
        first = parts[0]
        holds.append(
            Hold(
                template_id=first.template_id,
                name=first.name,
                language=first.language,
                status=first.status,
                reason=first.reason,
                contacts=sum(h.contacts for h in parts),
                since=min(h.since for h in parts),
            )
        )
    return sorted(holds, key=lambda h: (h.since, h.name or ""))


def low_quality_templates(
    session: Session, organization_id: int, campaign_id: int
) -> list[WhatsAppTemplate]:
    """Catalog templates rated RED that a live step of the campaign sends (as its template or
    its fallback): Meta may pause them."""
    step = DripCampaignStep
    steps = session.execute(
        select(
            step.template_name,
            step.template_language,
            step.fallback_template_name,
            step.fallback_template_language,
        ).where(step.campaign_id == campaign_id, step.deleted_at.is_(None))
    ).all()
    wanted = set()
    for name, language, fallback_name, fallback_language in steps:
        wanted.update({(name, language), (fallback_name, fallback_language)})
    wanted = {pair for pair in wanted if pair[0] and pair[1]}
    if not wanted:
        return []
    template = WhatsAppTemplate
    rows = session.scalars(
        select(template)
        .where(
            template.organization_id == organization_id,
            template.quality_score == LOW_QUALITY,
            template.deleted_at.is_(None),
            or_(
                *(
                    (template.name == name) & (template.language == language)
                    for name, language in sorted(wanted)
                )
            ),
        )
        .order_by(template.name, template.language)
    )
    return list(rows)


def low_quality_among(rows) -> list[WhatsAppTemplate]:
    """low_quality_templates from catalog rows already read for the campaign's live steps'
    (name, language) pairs, deleted ones included: no statement of its own."""
    low = [
        row
        for row in rows
        if row.quality_score == LOW_QUALITY and row.deleted_at is None and row.language
    ]
    return sorted(low, key=lambda row: (row.name, row.language))


def _held_statement(*where, by: tuple):
    """The held enrollments grouped by `by`, the template and the step; the organization is
    the bind parameter organization_id."""
    enrollment, step, template = DripEnrollment, DripCampaignStep, WhatsAppTemplate
    organization_id = bindparam("organization_id")
    return (
        select(
            *by,
            enrollment.held_template_id,
            step.position,
            func.coalesce(step.template_name, step.fallback_template_name).label("step_name"),
            func.coalesce(step.template_language, step.fallback_template_language).label(
                "step_language"
            ),
            template.name,
            template.language,
            template.status,
            template.reason,
            template.deleted_at,
            func.count().label("contacts"),
            func.min(enrollment.held_at).label("since"),
        )
        .select_from(enrollment)
        .outerjoin(step, step.id == enrollment.current_step_id)
        .outerjoin(
            template,
            (template.id == enrollment.held_template_id)
            & (template.organization_id == organization_id),
        )
        .where(
            enrollment.organization_id == organization_id,
            enrollment.status.in_(LIVE_STATUSES),
            enrollment.held_at.is_not(None),
            *where,
        )
        .group_by(
            *by,
            enrollment.held_template_id,
            step.position,
            step.template_name,
            step.fallback_template_name,
            step.template_language,
            step.fallback_template_language,
            template.name,
            template.language,
            template.status,
            template.reason,
            template.deleted_at,
        )
    )


# Built once with bind parameters: the campaign page reads it at every view (issue 21).
_CAMPAIGN_HELD = _held_statement(
    DripEnrollment.campaign_id.in_(bindparam("campaign_ids", expanding=True)),
    by=(DripEnrollment.campaign_id, DripEnrollment.current_step_id),
)
_ORGANIZATION_HELD = _held_statement(by=(DripEnrollment.current_step_id,))


def _hold(row, *, by_step: bool) -> Hold:
    in_catalog = row.name is not None
    if not in_catalog:
        status = NOT_IN_CATALOG
    else:
        status = "DELETED" if row.deleted_at is not None else row.status
    return Hold(
        template_id=row.held_template_id if in_catalog else None,
        name=row.name if in_catalog else row.step_name,
        language=row.language if in_catalog else row.step_language,
        status=status,
        reason=row.reason if in_catalog else None,
        contacts=row.contacts,
        since=as_utc(row.since),
        campaign_id=getattr(row, "campaign_id", None) if by_step else None,
        step_id=row.current_step_id if by_step else None,
        position=row.position if by_step else None,
    )
