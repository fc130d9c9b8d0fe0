"""Users: created with a checked password, authenticated in constant time, removed with
their API keys. A user is an admin (manages settings, the WhatsApp account, API keys and
users) or a member (runs campaigns, contacts and A/B tests)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.orm import Session
from werkzeug.security import check_password_hash, generate_password_hash

from app.drip.accounts.sessions import end_all_sessions
from app.drip.errors import Conflict, ValidationError
from app.drip.scope import get_scoped
from app.models import ApiKey, Organization, User, utcnow

MIN_PASSWORD_LENGTH = 8
ADMIN, MEMBER = "admin", "member"


# A real hash to check against when the email is unknown, so timing does not tell.
_DUMMY_HASH = generate_password_hash("drip-timing-equaliser")


def create_user(
    session: Session, org: Organization, email: str, password: str, *, role: str = MEMBER
) -> User:
    email = (email or "").strip().lower()
    errors = {}
    if "@" not in email or len(email) > 254:
        errors["email"] = "Enter a valid email address."
    if len(password or "") < MIN_PASSWORD_LENGTH:
        errors["password"] = f"Use at least {MIN_PASSWORD_LENGTH} characters."
    if role not in (ADMIN, MEMBER):
        errors["role"] = "Role is admin or member."
    if errors:
        raise ValidationError("The user could not be created.", errors)
    if session.scalar(select(User.id).where(User.email == email)):
        raise Conflict(f"A user with email {email} already exists.")
    user = User(
        organization_id=org.id,
        email=email,
        password_hash=generate_password_hash(password),
        role=role,
    )
    session.add(user)
    session.flush()
    return user


def authenticate(session: Session, email: str, password: str) -> User | None:
    """The user with this email and password, or None (same work either way)."""
    user = session.scalar(select(User).where(User.email == (email or "").strip().lower()))
    if user is None:
        check_password_hash(_DUMMY_HASH, password or "")
        return None
    if not check_password_hash(user.password_hash, password or ""):
        return None
    user.last_login_at = utcnow()
    return user


def change_password(session: Session, user: User, new_password: str, now: datetime) -> int:
    """Set a new password and end every session of the user (whoever knew the old one may be
    logged in somewhere); how many sessions ended. The caller checks who may do this."""
    if len(new_password or "") < MIN_PASSWORD_LENGTH:
        raise ValidationError(
            "The password was not changed.",
            {"password": f"Use at least {MIN_PASSWORD_LENGTH} characters."},
        )
    user.password_hash = generate_password_hash(new_password)
    session.flush()
    return end_all_sessions(session, user.id, now)


def remove_user(session: Session, organization_id: int, user_id: int) -> int:
    """Delete the organization's user and revoke the API keys they created; how many keys were
    revoked. Revoked first: deleting the user nulls the keys' created_by_user_id, which would
    leave them looking like the operator's command-line keys (which act as an admin)."""
    user = get_scoped(session, User, organization_id, user_id)
    if user.role == ADMIN and _admin_count(session, organization_id) == 1:
        raise Conflict(
            f"{user.email} is the organization's last admin: make another user an admin first."
        )
    keys = session.scalars(
        select(ApiKey).where(ApiKey.created_by_user_id == user.id, ApiKey.revoked_at.is_(None))
    ).all()
    now = utcnow()
    for key in keys:
        key.revoked_at = now
    session.delete(user)
    session.flush()
    return len(keys)


def _admin_count(session: Session, organization_id: int) -> int:
    return session.scalar(
        select(func.count())
        .select_from(User)
        .where(User.organization_id == organization_id, User.role == ADMIN)
    )
