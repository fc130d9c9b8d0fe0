"""Login rate limiting: failed logins are counted per email and per client address.

When the last `max_failures` failures of an email (or `max_per_address` of an address) all fell
within `window`, that email (or address) is locked out for `lock` after the latest of them:
further attempts are refused without checking the password, and a refused attempt is not
counted (retrying does not lengthen the lock). A successful login forgets the email's
failures. Rows older than window + lock can no longer matter and are pruned on each write.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from app.models import LoginAttempt

EMAIL_MAX = 254
ADDRESS_MAX = 64


@dataclass(frozen=True)
class Limits:
    max_failures: int = 5  # per email; 0 turns the limit off
    max_per_address: int = 20  # per client address; 0 turns the limit off
    window: timedelta = timedelta(minutes=15)
    lock: timedelta = timedelta(minutes=15)

    @property
    def keep(self) -> timedelta:
        return self.window + self.lock


def normalize_email(email: str | None) -> str:
    return (email or "").strip().lower()[:EMAIL_MAX]


def normalize_address(address: str | None) -> str:
    return (address or "unknown")[:ADDRESS_MAX]


def locked_until(
    session: Session, email: str, address: str, now: datetime, limits: Limits
) -> datetime | None:
    """When the lock on this email or address ends, or None when a login may be tried."""
    ends = [
        _lock_end(session, column, value, limit, now, limits)
        for column, value, limit in (
            (LoginAttempt.email, normalize_email(email), limits.max_failures),
            (LoginAttempt.address, normalize_address(address), limits.max_per_address),
        )
        if limit > 0
    ]
    ends = [end for end in ends if end is not None]
    return max(ends) if ends else None


def _lock_end(session, column, value: str, limit: int, now: datetime, limits: Limits):
    times = session.scalars(
        select(LoginAttempt.attempted_at)
        .where(column == value, LoginAttempt.attempted_at > now - limits.keep)
        .order_by(LoginAttempt.attempted_at.desc())
        .limit(limit)
    ).all()
    if len(times) < limit or times[0] - times[-1] > limits.window:
        return None
    end = times[0] + limits.lock
    return end if end > now else None


def record_failure(
    session: Session, email: str, address: str, now: datetime, limits: Limits
) -> None:
    session.execute(delete(LoginAttempt).where(LoginAttempt.attempted_at <= now - limits.keep))
    session.add(
        LoginAttempt(
            email=normalize_email(email), address=normalize_address(address), attempted_at=now
        )
    )
    session.flush()


def record_success(session: Session, email: str) -> None:
    """A successful login resets the email's count (not the address's other emails)."""
    session.execute(delete(LoginAttempt).where(LoginAttempt.email == normalize_email(email)))
