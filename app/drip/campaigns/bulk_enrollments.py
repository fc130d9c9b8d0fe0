"""Many enrollments paused, resumed or stopped by someone at once, with one audit event that
counts them (app.drip.enrollment.bulk_action does the change; enrollment sits below audit)."""

from __future__ import annotations

from sqlalchemy.orm import Session

from app.drip import audit, enrollment
from app.drip.audit import Actor
from app.models import DripCampaign


def bulk_change_enrollments(
    session: Session,
    actor: Actor,
    campaign: DripCampaign,
    action: str,
    *,
    ids: list[int] | None = None,
    where: enrollment.EnrollmentFilter | None = None,
) -> enrollment.BulkResult:
    """bulk_action() and its audit event (only when something changed); the caller commits."""
    result = enrollment.bulk_action(
        session, campaign.organization_id, campaign.id, action, ids=ids, where=where
    )
    if result.changed:
        if ids is not None:
            target = {"enrollmentIds": len(set(ids))}
        else:
            target = {
                k: v
                for k, v in (
                    ("status", where.status),
                    ("q", where.q),
                    ("step", where.step),
                    ("reason", where.reason),
                )
                if v is not None
            } or {"all": True}
        audit.record(
            session,
            actor,
            campaign,
            audit.BULK_ENROLLMENT_ACTIONS[action],
            changed=result.changed,
            skipped=result.skipped,
            target=target,
        )
    return result
