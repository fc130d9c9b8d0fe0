"""The enrollment list: a page of a campaign's enrollments with their contact and step."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from app.drip.errors import ValidationError
from app.drip.scope import get_scoped
from app.models import Contact, DripCampaign, DripCampaignStep, DripEnrollment
from app.models.enrollments import ENROLLMENT_STATUSES


@dataclass(frozen=True)
class EnrollmentRow:
    """One line of the enrollment list: the enrollment with its contact and current step."""

    enrollment: DripEnrollment
    contact_name: str
    contact_phone: str
    step_name: str | None
    step_position: int | None


def list_enrollments(
    session: Session,
    organization_id: int,
    campaign_id: int,
    status: str | None = None,
    page: int = 1,
    per_page: int = 50,
) -> tuple[list[EnrollmentRow], int]:
    """A page of the campaign's enrollments (newest first) and the total, optionally of one
    status. Contact and step come in the same query: templates must not run queries."""
    get_scoped(session, DripCampaign, organization_id, campaign_id)
    if status and status not in ENROLLMENT_STATUSES:
        raise ValidationError(
            f"Unknown status {status!r}.", {"status": "One of " + ", ".join(ENROLLMENT_STATUSES)}
        )
    conditions = [
        DripEnrollment.organization_id == organization_id,
        DripEnrollment.campaign_id == campaign_id,
    ]
    if status:
        conditions.append(DripEnrollment.status == status)
    total = session.scalar(select(func.count()).select_from(DripEnrollment).where(*conditions))
    rows = session.execute(
        select(
            DripEnrollment,
            Contact.first_name,
            Contact.last_name,
            Contact.phone,
            DripCampaignStep.name,
            DripCampaignStep.position,
        )
        .join(Contact, Contact.id == DripEnrollment.contact_id)
        .outerjoin(DripCampaignStep, DripCampaignStep.id == DripEnrollment.current_step_id)
        .where(*conditions)
        .order_by(DripEnrollment.enrolled_at.desc(), DripEnrollment.id.desc())
        .limit(per_page)
        .offset((page - 1) * per_page)
    ).all()
    return [
        EnrollmentRow(
            enrollment=row[0],
            contact_name=" ".join(p for p in (row.first_name, row.last_name) if p),
            contact_phone=row.phone,
            step_name=row.name,
            step_position=row.position,
        )
        for row in rows
    ], total
