"""A user's own settings: the time zone their pages show times in (none: the organization's).

The audit log's layer sits above accounts, so the event is written here as a row: an
organization-level event (no campaign), as app.drip.audit.record_for_organization writes."""

from __future__ import annotations

from sqlalchemy.orm import Session

from app.drip.accounts.organizations import validate_timezone
from app.drip.errors import ValidationError
from app.models import AuditEvent, User

TIMEZONE_MAX = 64  # users.timezone is a String(64)


def set_user_timezone(session: Session, user: User, timezone: str | None) -> bool:
    """Set the user's own time zone (an IANA name), or clear it with None or "" so that their
    pages follow the organization's; whether it changed. A change is audited; the caller
    commits."""
    if timezone is not None and not isinstance(timezone, str):
        raise ValidationError("The time zone must be a text.", {"timezone": "An IANA name."})
    value = (timezone or "").strip() or None
    if value is not None:
        if len(value) > TIMEZONE_MAX:
            raise ValidationError(
                "The time zone name is too long.",
                {"timezone": f"At most {TIMEZONE_MAX} characters, such as Europe/Paris."},
            )
        validate_timezone(value, "timezone")
    before = user.timezone
    if before == value:
        return False
    user.timezone = value
    session.add(
        AuditEvent(
            organization_id=user.organization_id,
            user_id=user.id,
            api_key_id=None,
            actor=user.email[:254],
            campaign_id=None,
            action="user.timezone_changed",
            details={"changes": {"timezone": [before, value]}},
        )
    )
    session.flush()
    return True
