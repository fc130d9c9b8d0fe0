"""The enrollment list: a page of a campaign's enrollments with their contact and step, why
each one waits, filtered by status, a name or phone search, or a funnel drop-off (the
contacts behind a figure of app.drip.analytics.funnels: same step, same reason, same count)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import and_, func, or_, select
from sqlalchemy.orm import Session

from app.drip.enrollment.audience import contact_filter
from app.drip.enrollment.endings import STOP_REASON_CONVERTED, STOP_REASON_REPLIED
from app.drip.enrollment.enrolling import LIVE_STATUSES
from app.drip.enrollment.timing import campaign_window
from app.drip.enrollment.waiting import WaitFacts, Waiting, branch_places, explain_wait
from app.drip.errors import ValidationError
from app.drip.limits import SEARCH_TEXT_MAX
from app.drip.scope import get_scoped
from app.drip.zones import organization_zone_name
from app.models import (
    Contact,
    DripCampaign,
    DripCampaignStep,
    DripEnrollment,
    DripMessageLog,
    WhatsAppTemplate,
    utcnow,
)
from app.models.enrollments import ENROLLMENT_STATUSES

# The funnel's drop-off reasons (app.drip.analytics: dropOffReasons), marketingCap included.
DROP_OFF_REASONS = (
    "replied",
    "unsubscribed",
    "failed",
    "stopped",
    "converted",
    "waiting",
    "marketingCap",
)
MARKETING_CAP_WAIT = "marketing_cap"
# ?step=0: the enrollments that dropped off before their first message (beforeFirstStep).
BEFORE_FIRST_STEP = 0


@dataclass(frozen=True)
class EnrollmentFilter:
    """Which of a campaign's enrollments a list or a bulk action takes (all None: all)."""

    status: str | None = None
    q: str | None = None
    step: int | None = None
    reason: str | None = None
    ids: tuple[int, ...] | None = field(default=None, repr=False)

    def __bool__(self) -> bool:
        return any(v not in (None, "") for v in (self.status, self.q, self.step, self.reason))


def enrollment_filter(status=None, q=None, step=None, reason=None) -> EnrollmentFilter:
    """The filter from a client's values (strings from a query string, or JSON values), or a
    ValidationError naming each bad one."""
    errors = {}
    status = status or None
    if status is not None and status not in ENROLLMENT_STATUSES:
        errors["status"] = "One of " + ", ".join(ENROLLMENT_STATUSES) + "."
    q = q or None
    if q is not None and (not isinstance(q, str) or len(q) > SEARCH_TEXT_MAX):
        errors["q"] = f"A name or phone number of at most {SEARCH_TEXT_MAX} characters."
    step_id = None
    if step not in (None, ""):
        text = str(step)
        if isinstance(step, bool) or not (text.isascii() and text.isdigit()) or len(text) > 18:
            errors["step"] = "A step id (a whole number; 0: before the first message)."
        else:
            step_id = int(text)
    reason = reason or None
    if reason is not None and reason not in DROP_OFF_REASONS:
        errors["reason"] = "One of " + ", ".join(DROP_OFF_REASONS) + "."
    if errors:
        raise ValidationError("Those filters are not valid: " + "; ".join(errors) + ".", errors)
    return EnrollmentFilter(status=status, q=(q and q.strip()) or None, step=step_id, reason=reason)


def filter_conditions(organization_id: int, campaign_id: int, where: EnrollmentFilter) -> list:
    """WHERE conditions on DripEnrollment for the filter. A drop-off (step, reason) counts
    exactly as the funnel does: the enrollments that did not complete whose furthest step is
    that step, by enrollment_counts.reason_of, with the marketing cap's waits apart."""
    e = DripEnrollment
    conditions = [e.organization_id == organization_id, e.campaign_id == campaign_id]
    if where.ids is not None:
        conditions.append(e.id.in_(where.ids))
    if where.status:
        conditions.append(e.status == where.status)
    if where.q:
        conditions.append(e.contact_id.in_(contact_filter(organization_id, q=where.q)))
    if where.step is not None or where.reason:
        conditions.append(e.status != "completed")
    if where.step == BEFORE_FIRST_STEP:
        conditions.append(e.last_step_id.is_(None))
    elif where.step is not None:
        conditions.append(e.last_step_id == where.step)
    capped = and_(e.status == "active", e.wait_reason == MARKETING_CAP_WAIT)
    by_reason = {
        "waiting": and_(e.status.in_(LIVE_STATUSES), ~capped),
        "marketingCap": capped,
        "unsubscribed": e.status == "unsubscribed",
        "failed": e.status == "failed",
        "replied": and_(e.status == "stopped", e.stop_reason == STOP_REASON_REPLIED),
        "converted": and_(e.status == "stopped", e.stop_reason == STOP_REASON_CONVERTED),
        "stopped": and_(
            e.status == "stopped",
            or_(
                e.stop_reason.is_(None),
                e.stop_reason.not_in((STOP_REASON_REPLIED, STOP_REASON_CONVERTED)),
            ),
        ),
    }
    if where.reason:
        conditions.append(by_reason[where.reason])
    return conditions


@dataclass(frozen=True)
class EnrollmentRow:
    """One line of the enrollment list: the enrollment with its contact, current step and
    why its next message waits."""

    enrollment: DripEnrollment
    contact_name: str
    contact_phone: str
    step_name: str | None
    step_position: int | None
    contact_zone: str | None = None  # the contact's IANA zone, else the organization's
    waiting: Waiting | None = None


def count_enrollments(
    session: Session, organization_id: int, campaign_id: int, where: EnrollmentFilter
) -> int:
    conditions = filter_conditions(organization_id, campaign_id, where)
    return session.scalar(select(func.count()).select_from(DripEnrollment).where(*conditions))


def list_enrollments(
    session: Session,
    organization_id: int,
    campaign_id: int,
    status: str | None = None,
    page: int = 1,
    per_page: int = 50,
    *,
    where: EnrollmentFilter | None = None,
    now: datetime | None = None,
    viewer_zone: str | None = None,
) -> tuple[list[EnrollmentRow], int]:
    """A page of the campaign's enrollments (newest first) and the total, optionally of one
    status or matching a filter. Contact, step, held template and a retried message's error
    come in the same query: templates must not run queries."""
    campaign = get_scoped(session, DripCampaign, organization_id, campaign_id)
    where = where or enrollment_filter(status=status)
    if status and not where.status:
        where = enrollment_filter(status, where.q, where.step, where.reason)
    conditions = filter_conditions(organization_id, campaign_id, where)
    total = session.scalar(select(func.count()).select_from(DripEnrollment).where(*conditions))
    e, step, log = DripEnrollment, DripCampaignStep, DripMessageLog
    rows = session.execute(
        select(
            e,
            Contact.first_name,
            Contact.last_name,
            Contact.phone,
            Contact.timezone,
            step.name,
            step.position,
            step.delay_amount,
            step.delay_unit,
            WhatsAppTemplate.name.label("template_name"),
            WhatsAppTemplate.status.label("template_status"),
            log.error_code,
        )
        .join(Contact, Contact.id == e.contact_id)
        .outerjoin(step, step.id == e.current_step_id)
        .outerjoin(WhatsAppTemplate, WhatsAppTemplate.id == e.held_template_id)
        .outerjoin(
            log,
            and_(
                e.retry_count > 0,
                log.enrollment_id == e.id,
                log.step_id == e.current_step_id,
                log.status == "pending",
            ),
        )
        .where(*conditions)
        .order_by(e.enrolled_at.desc(), e.id.desc())
        .limit(per_page)
        .offset((page - 1) * per_page)
    ).all()
    window = campaign_window(campaign)
    org_zone = organization_zone_name(session, organization_id)
    now = now or utcnow()
    places = branch_places(session, campaign_id)
    result = []
    for row in rows:
        facts = WaitFacts(
            window=window,
            org_zone=org_zone,
            contact_zone=row.timezone,
            step_position=row.position,
            delay_amount=row.delay_amount,
            delay_unit=row.delay_unit,
            held_template=row.template_name,
            held_template_status=row.template_status,
            retry_code=row.error_code,
            step_name=row.name,
            places=places,
            viewer_zone=viewer_zone,
        )
        result.append(
            EnrollmentRow(
                enrollment=row[0],
                contact_name=" ".join(p for p in (row.first_name, row.last_name) if p),
                contact_phone=row.phone,
                step_name=row.name,
                step_position=row.position,
                contact_zone=row.timezone or org_zone,
                waiting=explain_wait(row[0], facts, now),
            )
        )
    return result, total
