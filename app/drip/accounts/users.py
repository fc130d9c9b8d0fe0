"""Users: created with a checked password, and authenticated in constant time."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session
from werkzeug.security import check_password_hash, generate_password_hash

from app.drip.errors import Conflict, ValidationError
from app.models import Organization, User, utcnow

MIN_PASSWORD_LENGTH = 8


# A real hash to check against when the email is unknown, so timing does not tell.
_DUMMY_HASH = generate_password_hash("drip-timing-equaliser")


def create_user(
    session: Session, org: Organization, email: str, password: str, *, role: str = "member"
) -> User:
    email = (email or "").strip().lower()
    errors = {}
    if "@" not in email or len(email) > 254:
        errors["email"] = "Enter a valid email address."
    if len(password or "") < MIN_PASSWORD_LENGTH:
        errors["password"] = f"Use at least {MIN_PASSWORD_LENGTH} characters."
    if role not in ("admin", "member"):
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
