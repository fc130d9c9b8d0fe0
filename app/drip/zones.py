"""Time zones: the one place that knows an organization's zone (and a viewer's, and the
clock a campaign's days are counted on) and reads a zone name without ever failing."""

from __future__ import annotations

from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from sqlalchemy import select
from sqlalchemy.orm import Session

from app.models import Organization

CONTACT_ZONE = "contact"  # window_timezone value: each contact's own zone


def zone_named(name) -> ZoneInfo | None:
    """The IANA zone of that name, or None for anything that is not one.

    ZoneInfo reads the name as a path under the tz database: besides ZoneInfoNotFoundError and
    ValueError it raises IsADirectoryError for "America" and OSError for a name too long for
    the file system, and TypeError for a non-string. Each of those is "not a zone" here, never
    a 500 (found by schemathesis: sendWindow.timezone as a list; "America" and a long name by
    the schedule fuzz).
    """
    if not isinstance(name, str) or not name:
        return None
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError, OSError):
        return None


def resolve_zone(*names: str | None) -> ZoneInfo:
    """The first of the names that is a known IANA zone, else UTC."""
    for name in names:
        if name != CONTACT_ZONE and (zone := zone_named(name)) is not None:
            return zone
    return ZoneInfo("UTC")


def organization_zone_name(session: Session, organization_id: int) -> str | None:
    """The organization's zone as it is stored (a name, possibly not a known zone)."""
    return session.scalar(select(Organization.timezone).where(Organization.id == organization_id))


def organization_zone(session: Session, organization_id: int, *preferred: str | None) -> ZoneInfo:
    """The organization's clock, or the first known zone of `preferred` (a viewer's own zone, a
    campaign's window zone) before it; UTC when none is a known zone."""
    return resolve_zone(*preferred, organization_zone_name(session, organization_id))
