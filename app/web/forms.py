"""What every HTML blueprint shares: the CSRF-only form behind buttons, a list's page number,
and times shown on the viewer's clock with the zone named."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

from flask import request
from flask_login import current_user
from flask_wtf import FlaskForm

from app.auth import current_org_id
from app.drip.paging import clamp_page
from app.drip.zones import organization_zone
from app.extensions import db


class EmptyForm(FlaskForm):
    """A form with only the CSRF token, for buttons that change something."""


def page_arg() -> int:
    """?page= of an HTML list: not a whole number, or below 1, is page 1; a huge one is
    clamped (app.drip.paging.MAX_PAGE) rather than reaching the database as an overflow."""
    return clamp_page(request.args.get("page", type=int))


def org_zone() -> ZoneInfo:
    """The organization's clock."""
    return organization_zone(db.session, current_org_id())


def viewer_zone() -> ZoneInfo:
    """The viewer's own time zone, else the organization's, else UTC."""
    return organization_zone(db.session, current_org_id(), current_user.timezone)


def local_time(value: datetime | None, zone: ZoneInfo) -> str:
    if value is None:
        return "—"
    local = value.astimezone(zone)
    return f"{local:%Y-%m-%d %H:%M} {local.tzname()}"
