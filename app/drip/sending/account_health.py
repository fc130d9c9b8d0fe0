"""Whether an organization's WhatsApp account is failing: set when every send of a recorded
batch for it failed the way a broken account fails (Meta refuses the token or the account,
WhatsApp cannot be reached, every send waiting for a retry), cleared by its first accepted
send. Every page of the organization shows it as a banner (with a paused account's reason).

Called by the processing pass after each batch is recorded (app.tasks.processing), in the
same transaction; outcomes.record keeps pausing the account on 401/190 as before."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from app.drip.sending.messages import Outgoing
from app.models import WhatsAppAccount
from app.whatsapp import ErrorKind, SendError, SendResult

# Failures that say the account (or the way to it) is broken, not one message or contact.
_ACCOUNT_KINDS = frozenset({ErrorKind.STOP_ACCOUNT, ErrorKind.RETRY, ErrorKind.RETRY_LATER})
# Retryable, but about one contact (too many messages to them): not the account's failure.
_CONTACT_CODES = frozenset({"131056"})
_CONNECT_ERRORS = frozenset({"ConnectError", "ConnectTimeout", "PoolTimeout"})
SETTINGS = "Settings > WhatsApp"


@dataclass(frozen=True)
class AccountTrouble:
    """What the banner says: since when and why, and whether sending is paused."""

    since: datetime
    reason: str
    paused: bool


def note_account_health(
    session: Session, results: Iterable[tuple[Outgoing, SendResult | SendError]], now: datetime
) -> None:
    """After a batch is recorded: mark the accounts whose sends all failed as failing (kept
    since the first such batch), clear those with an accepted send. One UPDATE per change."""
    outcomes: dict[int, list] = defaultdict(list)
    for message, outcome in results:
        outcomes[message.organization_id].append(outcome)
    for organization_id, found in outcomes.items():
        if any(isinstance(outcome, SendResult) for outcome in found):
            _clear(session, organization_id)
        elif all(_account_failure(error) for error in found):
            _mark(session, organization_id, failure_reason(found), now)


def clear_account_failure(session: Session, organization_id: int) -> None:
    """An accepted send outside a pass (the settings page's test message)."""
    _clear(session, organization_id)


def account_trouble(session: Session, organization_id: int) -> AccountTrouble | None:
    """The banner of an organization's pages, or None: one lookup by the unique
    organization_id index."""
    row = session.execute(
        select(
            WhatsAppAccount.failing_since,
            WhatsAppAccount.failure_reason,
            WhatsAppAccount.sending_paused_at,
            WhatsAppAccount.sending_paused_code,
            WhatsAppAccount.sending_paused_reason,
        ).where(WhatsAppAccount.organization_id == organization_id)
    ).first()
    if row is None or (row.failing_since is None and row.sending_paused_at is None):
        return None
    if row.sending_paused_at is not None:
        reason = paused_reason(row.sending_paused_code, row.sending_paused_reason)
        return AccountTrouble(row.sending_paused_at, reason, paused=True)
    return AccountTrouble(row.failing_since, row.failure_reason or "", paused=False)


def paused_reason(code: str | None, reason: str | None) -> str:
    """A paused account in words, with what to do."""
    if code == "190":
        return token_refused("190")
    said = (reason or "Meta refused the account").rstrip(".")
    return (
        f"Sending is paused: {said}. Fix it, then save the account again in {SETTINGS} to resume."
    )


def token_refused(code: str | None) -> str:
    label = f" ({code})" if code else ""
    return f"Meta refuses the access token{label}: paste a new one in {SETTINGS}."


def failure_reason(errors: list[SendError]) -> str:
    """The banner's words for a batch whose every send failed (the account-wide error
    first: a refused token says more than a retry)."""
    error = next((e for e in errors if e.kind is ErrorKind.STOP_ACCOUNT), errors[0])
    count = f"{len(errors):,} send{'' if len(errors) == 1 else 's'}"
    if error.kind is ErrorKind.STOP_ACCOUNT:
        if error.code == "190" or (error.code is None and error.http_status == 401):
            return token_refused(error.code or "401")
        said = error.reason.rstrip(".")
        return f"Meta refuses the account ({error.code or 'no code'}): {said}. See {SETTINGS}."
    if error.title in _CONNECT_ERRORS:
        return (
            f"Drip cannot reach WhatsApp's API ({error.title}): the last {count} waited for a "
            f"retry. Check this server's network and the API base URL in {SETTINGS}."
        )
    return (
        f"Every send of the last processing pass failed ({count}, waiting for a retry): "
        f"{error.reason.rstrip('.')}."
    )


def _account_failure(error: SendError | SendResult) -> bool:
    return (
        isinstance(error, SendError)
        and error.kind in _ACCOUNT_KINDS
        and error.code not in _CONTACT_CODES
    )


def _mark(session: Session, organization_id: int, reason: str, now: datetime) -> None:
    session.execute(
        update(WhatsAppAccount)
        .where(WhatsAppAccount.organization_id == organization_id)
        .values(
            failing_since=func.coalesce(WhatsAppAccount.failing_since, now),
            failure_reason=reason,
        )
    )


def _clear(session: Session, organization_id: int) -> None:
    session.execute(
        update(WhatsAppAccount)
        .where(
            WhatsAppAccount.organization_id == organization_id,
            WhatsAppAccount.failing_since.is_not(None),
        )
        .values(failing_since=None, failure_reason=None)
    )
