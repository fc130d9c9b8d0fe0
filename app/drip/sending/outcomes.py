"""Recording what happened to each message of a batch: wamids, retries, failures, paused
accounts, template refusals that hold their step (app.drip.sending.refusals), and the
enrollments that follow from them."""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import BigInteger, DateTime, String, case, func, update
from sqlalchemy.orm import Session

from app.drip.engagement import mark_undeliverable, opt_out_contact
from app.drip.sending import marketing_cap
from app.drip.sending.advance import Advancer
from app.drip.sending.messages import Outgoing
from app.drip.sending.processor import PARK
from app.drip.sending.refusals import HELD_NOTE, TemplateRefusals, is_template_refusal
from app.drip.sql import Rows
from app.models import DripMessageLog, WhatsAppAccount
from app.whatsapp import ErrorKind, SendError, SendResult, gave_up_reason

_LOGS = DripMessageLog.__table__
# Permanent errors that say something about the contact, not only this message.
UNSUBSCRIBE_CODES = {"131050"}
UNDELIVERABLE_CODES = {"131026"}
# An error row's values (_error_row), as app.drip.sql.Rows types them.
_ERROR_TYPES = {
    "b_id": BigInteger(),
    "b_code": String(),
    "b_message": String(),
    "b_retry": DateTime(timezone=True),
}


@dataclass
class Counts:
    sent: int = 0
    failed: int = 0
    retried: int = 0
    ambiguous: int = 0
    completed: int = 0
    paused_accounts: int = 0
    held: int = 0  # enrollments held because Meta refused their step's template


def record(
    session: Session,
    results: list[tuple[Outgoing, SendResult | SendError]],
    now: datetime,
    attempts: dict[int, int],
    rng: random.Random | None = None,
) -> Counts:
    """Write a batch's outcomes. `attempts` maps log id to sends made so far."""
    rng = rng or random.Random()
    counts = Counts()
    advancer = Advancer(session, now)
    refusals = TemplateRefusals(session, now)
    sent, failed, retries, pending = [], [], [], []
    # 131049 (Meta's per-user marketing cap): retried a day later while tries are left.
    capped = [(m, o) for m, o in results if marketing_cap.is_cap_error(o)]
    for message, outcome in [r for r in results if not marketing_cap.is_cap_error(r[1])]:
        if isinstance(outcome, SendResult):
            sent.append({"b_id": message.log_id, "b_wamid": outcome.wamid})
            continue
        error = outcome
        code = error.code
        if error.kind == ErrorKind.AMBIGUOUS:
            counts.ambiguous += 1
            pending.append(_error_row(message, error, retry_at=None))
            advancer.park(message.enrollment_id, now + PARK)
        elif error.kind == ErrorKind.STOP_ACCOUNT:
            # Refused before sending: safe to resend once the account is fixed.
            pending.append(_error_row(message, error, retry_at=now))
            _pause_account(session, message.organization_id, error, now)
            counts.paused_accounts += 1
        elif is_template_refusal(message, error):
            # Paused, disabled or unknown at Meta: not this contact's fault. The log waits
            # (resent once the template is approved again); the step is held.
            row = _error_row(message, error, retry_at=now)
            pending.append({**row, "b_message": row["b_message"] + HELD_NOTE})
            refusals.add(message, error)
        elif error.retryable and attempts[message.log_id] < error.max_attempts:
            at = now + timedelta(seconds=error.retry_delay(attempts[message.log_id], rng))
            retries.append(_error_row(message, error, retry_at=at))
            advancer.retry(message.enrollment_id, at)
            counts.retried += 1
        else:
            reason = (
                error.reason
                if not error.retryable
                else gave_up_reason(error, attempts[message.log_id])
            )
            failed.append({**_error_row(message, error, retry_at=None), "b_message": reason})
            _end_enrollment(session, advancer, message, code, now)
            counts.failed += 1
    _marketing_cap(session, advancer, capped, attempts, now, counts, retries, failed)
    if sent:
        batch = Rows(session, sent, {"b_id": BigInteger(), "b_wamid": String()})
        batch.execute(
            update(_LOGS)
            .where(_LOGS.c.id == batch.c.b_id)
            .values(
                wamid=batch.c.b_wamid,
                # A fast status webhook may have settled the log already: never move it back.
                status=case((_LOGS.c.status == "pending", "sent"), else_=_LOGS.c.status),
                sent_at=func.coalesce(_LOGS.c.sent_at, now),
                retry_at=None,
                error_code=None,
                error_message=None,
                updated_at=now,
            )
        )
        for message, outcome in results:
            if isinstance(outcome, SendResult):
                advancer.sent(message.enrollment_id, message.step_id, now)
        counts.sent = len(sent)
    for rows, waiting in ((pending + retries, True), (failed, False)):
        if rows:
            batch = Rows(session, rows, _ERROR_TYPES)
            values = (
                {"retry_at": batch.c.b_retry}
                if waiting
                else {"status": "failed", "failed_at": now, "retry_at": None}
            )
            batch.execute(
                update(_LOGS)
                .where(_LOGS.c.id == batch.c.b_id)
                .values(
                    error_code=batch.c.b_code,
                    error_message=batch.c.b_message,
                    updated_at=now,
                    **values,
                )
            )
    counts.completed = advancer.flush()["completed"]
    counts.held = refusals.flush()
    return counts


_HELD = marketing_cap.RETRYING_REASON


def _marketing_cap(session, advancer, capped, attempts, now, counts, retries, failed) -> None:
    """131049 send errors: the log waits a day (in the send window) at its step while tries
    are left (app.drip.sending.marketing_cap), else it fails as any permanent error."""
    if not capped:
        return
    allowed = marketing_cap.allowed_retries(session, {m.organization_id for m, _ in capped})
    targets = marketing_cap.send_targets(session, [m.enrollment_id for m, _ in capped])
    times = marketing_cap.RetryTimes(session, now)
    for message, error in capped:
        if marketing_cap.retries_left(attempts[message.log_id], allowed[message.organization_id]):
            campaign_id, zone = targets[message.enrollment_id]
            at = times.at(campaign_id, now, zone)
            retries.append({**_error_row(message, error, retry_at=at), "b_message": _HELD})
            advancer.wait(message.enrollment_id, at, marketing_cap.WAIT_REASON)
            counts.retried += 1
        else:
            failed.append(_error_row(message, error, retry_at=None))
            _end_enrollment(session, advancer, message, error.code, now)
            counts.failed += 1


def _error_row(message: Outgoing, error: SendError, retry_at: datetime | None) -> dict:
    return {
        "b_id": message.log_id,
        "b_code": error.code or (str(error.http_status) if error.http_status else error.kind.value),
        "b_message": error.reason,
        "b_retry": retry_at,
    }


def _pause_account(session: Session, organization_id: int, error: SendError, now) -> None:
    session.execute(
        update(WhatsAppAccount)
        .where(
            WhatsAppAccount.organization_id == organization_id,
            WhatsAppAccount.sending_paused_at.is_(None),
        )
        .values(
            sending_paused_at=now,
            sending_paused_code=error.code,
            sending_paused_reason=error.reason,
        )
    )


def _end_enrollment(session: Session, advancer: Advancer, message, code, now) -> None:
    if code in UNSUBSCRIBE_CODES:
        opt_out_contact(session, message.contact_id, f"meta_{code}", now)
        return
    if code in UNDELIVERABLE_CODES:
        mark_undeliverable(session, message.contact_id, now)
        advancer.fail(message.enrollment_id, "undeliverable")
        return
    advancer.fail(message.enrollment_id, f"send_failed:{code}" if code else "send_failed")
