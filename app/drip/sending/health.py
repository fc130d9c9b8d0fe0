"""Queue health for one organization: is sending working, what is waiting, what is failing.

Every figure is one aggregate query. The last processing pass is system-wide (one pass serves
every organization), so only its time and outcome are told: its counts and its error are other
organizations' business too, and stay in the operator's job records and logs.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from app.drip.sending.gates import used_slots
from app.drip.templates import Hold, organization_holds
from app.models import DripCampaign, DripEnrollment, DripMessageLog, JobRun, WhatsAppAccount

PROCESSING_JOB = "process_due"
SENT_WINDOW = timedelta(hours=1)
FAILURE_WINDOW = timedelta(hours=24)
# Bounds on created_at that let the created_at indexes narrow the counts: a log sent in the
# last hour was created at most a day or so before (pending logs older than 24 hours are
# failed), and Meta reports a failure at most 30 days after the send.
SENT_CREATED_WITHIN = timedelta(hours=48)
FAILED_CREATED_WITHIN = timedelta(days=31)


@dataclass(frozen=True)
class PassSummary:
    started_at: datetime
    finished_at: datetime | None
    ok: bool | None


@dataclass(frozen=True)
class PausedSending:
    since: datetime
    code: str | None
    reason: str | None


@dataclass(frozen=True)
class LimitUse:
    """The account's messaging limit: unique people reached outside their window in the
    moving 24 hours, and when the oldest of them leaves it (the next free slot, when full)."""

    limit: int
    used: int
    next_slot: datetime | None

    @property
    def full(self) -> bool:
        return self.used >= self.limit


@dataclass(frozen=True)
class QueueHealth:
    last_pass: PassSummary | None
    due_now: int
    sent_last_hour: int
    failures_by_code: list[tuple[str | None, int]]
    paused: PausedSending | None
    # Enrollments waiting on a template that cannot be sent, by template: not "due now".
    held: list[Hold] = field(default_factory=list)
    limit: LimitUse | None = None  # None: no messaging limit set

    @property
    def failed_last_day(self) -> int:
        return sum(count for _, count in self.failures_by_code)

    @property
    def held_total(self) -> int:
        return sum(hold.contacts for hold in self.held)


def queue_health(session: Session, organization_id: int, now: datetime) -> QueueHealth:
    return QueueHealth(
        last_pass=last_pass(session),
        due_now=due_now(session, organization_id, now),
        sent_last_hour=sent_since(session, organization_id, now - SENT_WINDOW, now),
        failures_by_code=failures_by_code(session, organization_id, now - FAILURE_WINDOW, now),
        paused=paused_sending(session, organization_id),
        held=organization_holds(session, organization_id),
        limit=limit_use(session, organization_id, now),
    )


def limit_use(session: Session, organization_id: int, now: datetime) -> LimitUse | None:
    limit = session.scalar(
        select(WhatsAppAccount.messaging_limit).where(
            WhatsAppAccount.organization_id == organization_id
        )
    )
    if limit is None:
        return None
    used, next_slot = used_slots(session, organization_id, now)
    return LimitUse(limit, used, next_slot)


def last_pass(session: Session) -> PassSummary | None:
    run = session.scalars(
        select(JobRun)
        .where(JobRun.name == PROCESSING_JOB)
        .order_by(JobRun.started_at.desc(), JobRun.id.desc())
        .limit(1)
    ).first()
    if run is None:
        return None
    return PassSummary(run.started_at, run.finished_at, run.ok)


def due_now(session: Session, organization_id: int, now: datetime) -> int:
    """Active enrollments of active campaigns whose step is due (held ones wait on their
    template, and are counted apart)."""
    return session.scalar(
        select(func.count())
        .select_from(DripEnrollment)
        .join(DripCampaign, DripCampaign.id == DripEnrollment.campaign_id)
        .where(
            DripEnrollment.organization_id == organization_id,
            DripEnrollment.status == "active",
            DripEnrollment.next_send_at <= now,
            DripEnrollment.held_at.is_(None),
            DripCampaign.status == "active",
        )
    )


def sent_since(session: Session, organization_id: int, since: datetime, now: datetime) -> int:
    log = DripMessageLog
    return session.scalar(
        select(func.count()).where(
            log.organization_id == organization_id,
            log.created_at >= now - SENT_CREATED_WITHIN,
            log.sent_at >= since,
        )
    )


def failures_by_code(
    session: Session, organization_id: int, since: datetime, now: datetime
) -> list[tuple[str | None, int]]:
    """Failed messages by error code, most frequent first."""
    log = DripMessageLog
    count = func.count().label("n")
    rows = session.execute(
        select(log.error_code, count)
        .where(
            log.organization_id == organization_id,
            log.status == "failed",
            log.created_at >= now - FAILED_CREATED_WITHIN,
            log.failed_at >= since,
        )
        .group_by(log.error_code)
        .order_by(count.desc(), log.error_code)
    )
    return [(code, n) for code, n in rows]


def paused_sending(session: Session, organization_id: int) -> PausedSending | None:
    account = WhatsAppAccount
    row = session.execute(
        select(
            account.sending_paused_at, account.sending_paused_code, account.sending_paused_reason
        ).where(account.organization_id == organization_id, account.sending_paused_at.is_not(None))
    ).first()
    return PausedSending(*row) if row else None
