"""Login rate limiting: failed logins are counted per (email, client address), per client
address, and per email.

When the last `max_failures` failures of an email from one address (or `max_per_address` of an
address, whatever the emails) all fell within `window`, that email from that address (or that
address) is locked out for `lock` after the latest of them: further attempts are refused without
checking the password, and a refused attempt is not counted (retrying does not lengthen the
lock). The email itself is never locked: anyone could lock anyone out by failing on purpose.
Past `max_failures` failures within the window from anywhere, each attempt for the email waits
first (1 s, doubling up to `max_delay`), so guessing one password from many addresses is slowed
while the right password from any other address still gets in. A successful login forgets the
failures of its email from its address. Rows older than window + lock can no longer matter and
are pruned on each write.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import delete, func, select
from sqlalchemy.orm import Session

from app.models import LoginAttempt

EMAIL_MAX = 254
ADDRESS_MAX = 64
NO_DELAY = timedelta(0)


@dataclass(frozen=True)
class Limits:
    max_failures: int = 5  # per email from one address; 0 turns it and the slowdown off
    max_per_address: int = 20  # per client address; 0 turns the limit off
    window: timedelta = timedelta(minutes=15)
    lock: timedelta = timedelta(minutes=15)
    max_delay: timedelta = timedelta(seconds=5)  # the email's slowdown; 0 turns it off

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
    """When the lock on this email from this address, or on this address, ends; None when a
    login may be tried."""
    email, address = normalize_email(email), normalize_address(address)
    same_address = LoginAttempt.address == address
    checks = (
        ((LoginAttempt.email == email, same_address), limits.max_failures),
        ((same_address,), limits.max_per_address),
    )
    ends = [_lock_end(session, where, limit, now, limits) for where, limit in checks if limit > 0]
    ends = [end for end in ends if end is not None]
    return max(ends) if ends else None


def _lock_end(session, where: tuple, limit: int, now: datetime, limits: Limits):
    times = session.scalars(
        select(LoginAttempt.attempted_at)
        .where(*where, LoginAttempt.attempted_at > now - limits.keep)
        .order_by(LoginAttempt.attempted_at.desc())
        .limit(limit)
    ).all()
    if len(times) < limit or times[0] - times[-1] > limits.window:
        return None
    end = times[0] + limits.lock
    return end if end > now else None


def login_delay(session: Session, email: str, now: datetime, limits: Limits) -> timedelta:
    """How long an attempt for this email waits before its password is checked: nothing until
    the email has `max_failures` failures within the window (from any addresses), then 1 s,
    doubling with each further failure, up to `max_delay`."""
    if limits.max_failures <= 0 or limits.max_delay <= NO_DELAY:
        return NO_DELAY
    failures = session.scalar(
        select(func.count())
        .select_from(LoginAttempt)
        .where(
            LoginAttempt.email == normalize_email(email),
            LoginAttempt.attempted_at > now - limits.window,
        )
    )
    beyond = failures - limits.max_failures
    if beyond < 0:
        return NO_DELAY
    return min(limits.max_delay, timedelta(seconds=2 ** min(beyond, 20)))


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


def record_success(session: Session, email: str, address: str) -> None:
    """A successful login resets its email's count from its address: not the address's other
    emails, and not the email's failures from elsewhere (someone else's, still slowing)."""
    session.execute(
        delete(LoginAttempt).where(
            LoginAttempt.email == normalize_email(email),
            LoginAttempt.address == normalize_address(address),
        )
    )
