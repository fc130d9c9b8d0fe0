"""Browser sessions kept on the server, so that ending one ends it for every copy of its cookies.

A login starts a session: a random token goes into the browser's cookies (the session cookie,
and the remember-me cookie when asked for), and only its SHA-256 into `user_sessions`. A token
opens the session while its row is neither revoked nor idle longer than the idle timeout.
Logout revokes the row; log out everywhere and a password change revoke all of a user's rows.
Using the remember-me cookie renews the token, so a copy of that cookie works at most once.
"""

from __future__ import annotations

import secrets
from datetime import datetime, timedelta

from sqlalchemy import bindparam, delete, or_, select, update
from sqlalchemy.orm import Session

from app.crypto import sha256_hex
from app.models import User, UserSession

# Activity is written at most this often: a write per request would be wasteful, and the idle
# timeout (hours) does not need a finer clock.
TOUCH_EVERY = timedelta(minutes=1)

# Every page looks its session up: built once, as building it costs more CPU than running it.
_OPEN_SESSION = (
    select(UserSession, User)
    .join(User, User.id == UserSession.user_id)
    .where(
        UserSession.token_hash == bindparam("token_hash"),
        UserSession.revoked_at.is_(None),
        UserSession.last_seen_at > bindparam("seen_after"),
    )
)


def _new_token() -> str:
    return secrets.token_urlsafe(32)


def start_session(session: Session, user: User, now: datetime, idle: timedelta) -> str:
    """A new session for the user; its token (shown only here) goes into the cookies."""
    # The user's ended and idle rows can no longer open anything: drop them on the way.
    session.execute(
        delete(UserSession).where(
            UserSession.user_id == user.id,
            or_(UserSession.revoked_at.is_not(None), UserSession.last_seen_at <= now - idle),
        )
    )
    token = _new_token()
    session.add(
        UserSession(
            organization_id=user.organization_id,
            user_id=user.id,
            token_hash=sha256_hex(token),
            created_at=now,
            last_seen_at=now,
        )
    )
    session.flush()
    return token


def find_session(
    session: Session, token: str | None, now: datetime, idle: timedelta
) -> tuple[UserSession, User] | None:
    """The open session this token names, with its user; None if unknown, ended or idle."""
    if not token:
        return None
    row = session.execute(
        _OPEN_SESSION, {"token_hash": sha256_hex(token), "seen_after": now - idle}
    ).first()
    return (row[0], row[1]) if row else None


def touch_session(user_session: UserSession, now: datetime) -> bool:
    """Note activity; True when the row changed (at most once per TOUCH_EVERY)."""
    if now - user_session.last_seen_at < TOUCH_EVERY:
        return False
    user_session.last_seen_at = now
    return True


def renew_session(session: Session, user_session: UserSession, now: datetime) -> str:
    """A new token for the session (its remember-me cookie was used); the old one stops working."""
    token = _new_token()
    user_session.token_hash = sha256_hex(token)
    user_session.last_seen_at = now
    session.flush()
    return token


def end_session(session: Session, user_session: UserSession, now: datetime) -> None:
    """Logout: this session's token stops working, in every browser that holds a copy."""
    user_session.revoked_at = now
    session.flush()


def end_all_sessions(session: Session, user_id: int, now: datetime) -> int:
    """Every open session of the user ends; how many there were. API keys are not sessions."""
    result = session.execute(
        update(UserSession)
        .where(UserSession.user_id == user_id, UserSession.revoked_at.is_(None))
        .values(revoked_at=now)
        .execution_options(synchronize_session="fetch")
    )
    return result.rowcount
