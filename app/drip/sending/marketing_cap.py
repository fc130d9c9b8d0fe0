"""Meta's per-user marketing cap: a marketing template failed with 131049 ("not delivered to
maintain healthy ecosystem engagement") is tried again for the same step, as the same message
log, at most `organizations.marketing_cap_retries` times, each try at least 24 hours after the
last one and inside the campaign's send window. 131050 (the contact stopped marketing
messages) is never retried.

Two ways a 131049 arrives:
- a synchronous send error: app.drip.sending.outcomes.record holds the log for a retry
  (`retry_time`, `retries_left`) and the enrollment stays at its step;
- a failed status webhook, after the send was accepted with a wamid and the enrollment moved
  on: `schedule_retries`, run at the start of each processing pass, puts the log back to
  pending (its wamid retired: that message's late statuses are kept as events but never
  change the log again, app.drip.engagement.statuses) and the enrollment back at the step.
  The webhook itself only records the failure, so deliveries stay replay-safe and
  order-independent: a replayed 131049 is a duplicate event and schedules nothing.

While waiting: the log is pending with retry_at; the enrollment is active at the step with
next_send_at = the retry time and wait_reason "marketing_cap" (cleared when the step goes out).
The processor resends a pending log with retry_at when its enrollment is due (a new wamid,
attempts + 1). After the last retry the failure stands as it did before this rule.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import and_, bindparam, exists, select, update
from sqlalchemy.orm import Session, aliased

from app.drip.enrollment import Scheduler
from app.models import Contact, DripCampaign, DripEnrollment, DripMessageLog, Organization
from app.whatsapp import SendError

CODE = "131049"
WAIT_REASON = "marketing_cap"
RETRY_AFTER_HOURS = 24
RETRYING_REASON = (
    "WhatsApp held back this marketing message (Meta's per-user marketing cap, 131049): "
    "trying again a day later, inside the send window"
)
# A failure webhook comes minutes after the send; one older than this is left as it is.
LOOKBACK = timedelta(days=3)
# The logs considered are at most this old (their first try): bounds the index range scanned.
OLDEST = timedelta(days=180)
BATCH = 500

_LOGS = DripMessageLog.__table__
_ENROLLMENTS = DripEnrollment.__table__

_later = aliased(DripMessageLog)
# Built once: each processing pass runs it, and building it cost more CPU than running it.
_RETRYABLE = (
    select(
        DripMessageLog.id,
        DripMessageLog.enrollment_id,
        DripMessageLog.step_id,
        DripMessageLog.sent_at,
        DripMessageLog.failed_at,
        DripEnrollment.campaign_id,
        Contact.timezone,
    )
    .join(DripEnrollment, DripEnrollment.id == DripMessageLog.enrollment_id)
    .join(Contact, Contact.id == DripEnrollment.contact_id)
    .join(Organization, Organization.id == DripMessageLog.organization_id)
    .where(
        DripMessageLog.status == "failed",
        DripMessageLog.created_at >= bindparam("oldest"),
        DripMessageLog.error_code == CODE,
        DripMessageLog.failed_at >= bindparam("looked_back"),
        DripMessageLog.attempts <= Organization.marketing_cap_retries,
        DripEnrollment.status.in_(("active", "completed")),
        ~exists().where(
            and_(
                _later.enrollment_id == DripMessageLog.enrollment_id,
                _later.id > DripMessageLog.id,
            )
        ),
    )
    .order_by(DripMessageLog.id)
    .limit(bindparam("batch"))
    # A worker claiming the enrollment right now holds it: leave it to the next pass.
    .with_for_update(of=DripEnrollment, skip_locked=True)
)


def is_cap_error(outcome) -> bool:
    """Whether a send's outcome is Meta's 131049 refusal."""
    return isinstance(outcome, SendError) and outcome.code == CODE


def retries_left(attempts: int, allowed: int) -> bool:
    """Whether a log tried `attempts` times may be tried again (N retries: N + 1 tries)."""
    return attempts <= allowed


class RetryTimes:
    """Retry times for one batch: 24 hours after the last try, in the campaign's send window,
    never in the past. Campaign schedulers are made once per batch."""

    def __init__(self, session: Session, now: datetime):
        self.session, self.now = session, now
        self._schedulers: dict[int, Scheduler] = {}

    def at(self, campaign_id: int, last_try: datetime, contact_zone: str | None) -> datetime:
        if campaign_id not in self._schedulers:
            campaign = self.session.get(DripCampaign, campaign_id)
            self._schedulers[campaign_id] = Scheduler(self.session, campaign, self.now)
        scheduler = self._schedulers[campaign_id]
        return scheduler.due(last_try, RETRY_AFTER_HOURS, "hours", contact_zone)


def allowed_retries(session: Session, organization_ids: set[int]) -> dict[int, int]:
    rows = session.execute(
        select(Organization.id, Organization.marketing_cap_retries).where(
            Organization.id.in_(organization_ids)
        )
    )
    return {org_id: (value if value is not None else 3) for org_id, value in rows}


def send_targets(session: Session, enrollment_ids: list[int]) -> dict[int, tuple[int, str | None]]:
    """enrollment id -> (campaign id, contact time zone)."""
    rows = session.execute(
        select(DripEnrollment.id, DripEnrollment.campaign_id, Contact.timezone)
        .join(Contact, Contact.id == DripEnrollment.contact_id)
        .where(DripEnrollment.id.in_(enrollment_ids))
    )
    return {row.id: (row.campaign_id, row.timezone) for row in rows}


def schedule_retries(session: Session, now: datetime, batch: int = BATCH) -> int:
    """Put messages that failed with 131049 by status webhook back for a retry; how many.

    A log qualifies while it has tries left, its enrollment is active or completed (this send
    completed it) and no later step of the enrollment has been attempted (the step is still
    the enrollment's latest). A log that does not qualify keeps its failure."""
    rows = session.execute(
        _RETRYABLE,
        {"oldest": now - OLDEST, "looked_back": now - LOOKBACK, "batch": batch},
    ).all()
    times = RetryTimes(session, now)
    done = 0
    for row in rows:
        last_try = max(t for t in (row.sent_at, row.failed_at) if t is not None)
        at = times.at(row.campaign_id, last_try, row.timezone)
        # The log first, still failed (a status applied meanwhile wins), then its enrollment
        # (locked above) back at the step.
        retried = session.execute(
            update(_LOGS)
            .where(_LOGS.c.id == row.id, _LOGS.c.status == "failed")
            .values(
                status="pending",
                # The held-back message's wamid is retired: its events stay (whatsapp_status_
                # events), its late statuses never reach this log again.
                wamid=None,
                retry_at=at,
                sent_at=None,
                failed_at=None,
                error_message=RETRYING_REASON,
                updated_at=now,
            )
        ).rowcount
        if not retried:
            continue
        session.execute(
            update(_ENROLLMENTS)
            .where(_ENROLLMENTS.c.id == row.enrollment_id)
            .values(
                status="active",
                current_step_id=row.step_id,
                next_send_at=at,
                wait_reason=WAIT_REASON,
                completed_at=None,
                updated_at=now,
            )
        )
        done += 1
    return done
