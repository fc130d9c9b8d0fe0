"""Holds: enrollments waiting at a step whose template cannot be sent (paused, disabled,
rejected, pending, deleted at Meta, or not in the catalog at all).

A held enrollment keeps its status (active) and its next_send_at; the processor's due query
skips it (held_at set) until the template is approved again, when release_holds clears the
hold and the next processing pass sends it.

- hold_enrollments(session, enrollment_ids, template_id, now): hold them on that template
  (None: the template is not in the catalog); an earlier held_at is kept.
- release_holds(session, template_ids): release the enrollments held on these templates, and
  those held on no catalog row (None) whose current step names one of them (as its template or
  as its fallback template).
- release_step_holds(session, step_ids): release those held at these steps (edited, deleted).
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime

from sqlalchemy import and_, func, or_, select, update
from sqlalchemy.orm import Session

from app.drip.enrollment import LIVE_STATUSES
from app.drip.sql import id_in
from app.models import DripCampaignStep, DripEnrollment, WhatsAppTemplate


def hold_enrollments(
    session: Session, enrollment_ids: Iterable[int], template_id: int | None, now: datetime
) -> int:
    """Hold the live enrollments among `enrollment_ids` on `template_id`; how many."""
    ids = list(enrollment_ids)
    if not ids:
        return 0
    result = session.execute(
        update(DripEnrollment)
        .where(id_in(session, DripEnrollment.id, ids), DripEnrollment.status.in_(LIVE_STATUSES))
        .values(
            held_at=func.coalesce(DripEnrollment.held_at, now),
            held_template_id=template_id,
            updated_at=now,
        )
        .execution_options(synchronize_session=False)
    )
    return result.rowcount


def release_holds(session: Session, template_ids: Iterable[int]) -> int:
    """Release the enrollments held on these templates (call when they are approved again, or
    appear in the catalog); how many were released."""
    ids = list(set(template_ids))
    if not ids:
        return 0
    released = _release(session, id_in(session, DripEnrollment.held_template_id, ids))
    templates = session.execute(
        select(
            WhatsAppTemplate.organization_id, WhatsAppTemplate.name, WhatsAppTemplate.language
        ).where(id_in(session, WhatsAppTemplate.id, ids))
    ).all()
    for organization_id, name, language in templates:
        steps = select(DripCampaignStep.id).where(
            DripCampaignStep.organization_id == organization_id,
            or_(
                and_(
                    DripCampaignStep.template_name == name,
                    DripCampaignStep.template_language == language,
                ),
                and_(
                    DripCampaignStep.fallback_template_name == name,
                    DripCampaignStep.fallback_template_language == language,
                ),
            ),
        )
        released += _release(
            session,
            DripEnrollment.organization_id == organization_id,
            DripEnrollment.held_template_id.is_(None),
            DripEnrollment.current_step_id.in_(steps),
        )
    return released


def release_step_holds(session: Session, step_ids: Iterable[int]) -> int:
    """Release the enrollments held at these steps (the step's message was edited, or the step
    deleted): the next claim looks at the step as it is now, and holds them again only if its
    template still cannot be sent."""
    ids = list(set(step_ids))
    if not ids:
        return 0
    return _release(session, id_in(session, DripEnrollment.current_step_id, ids))


def _release(session: Session, *where) -> int:
    result = session.execute(
        update(DripEnrollment)
        .where(DripEnrollment.held_at.is_not(None), *where)
        .values(held_at=None, held_template_id=None)
        .execution_options(synchronize_session=False)
    )
    return result.rowcount
