"""Your profile: the signed-in user's own time zone, which every page's times then follow
(app.web.forms.viewer_zone prefers it to the organization's). Any role may set their own."""

from __future__ import annotations

from zoneinfo import available_timezones

from flask import Blueprint, flash, redirect, render_template, url_for
from flask_login import current_user
from flask_wtf import FlaskForm
from wtforms import SelectField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import AnyOf

from app.drip import accounts
from app.drip.errors import DripError
from app.extensions import db
from app.models import User, utcnow
from app.web.forms import local_time, org_zone, viewer_zone

bp = Blueprint("profile", __name__, url_prefix="/settings/profile")

# The tz database's names, read once (available_timezones walks the filesystem).
ZONES = tuple(sorted(available_timezones()))


class ProfileForm(FlaskForm):
    # Only the tz database's names (or "": the organization's), refused in words otherwise.
    timezone = SelectField(
        "Your time zone",
        validate_choice=False,
        validators=[
            AnyOf(("", *ZONES), message="Choose a time zone of the list, such as Europe/Lisbon.")
        ],
    )


def _form(org_zone_name: str, **kwargs) -> ProfileForm:
    form = ProfileForm(**kwargs)
    form.timezone.choices = [
        SelectChoice("", f"The organization's ({org_zone_name})"),
        *(SelectChoice(zone, zone) for zone in ZONES),
    ]
    return form


def _render(form: ProfileForm | None = None, status: int = 200):
    org_name = org_zone().key
    form = form or _form(org_name, data={"timezone": current_user.timezone or ""})
    zone = viewer_zone()
    return render_template(
        "profile/show.html",
        form=form,
        zone=zone.key,
        org_zone=org_name,
        now=local_time(utcnow(), zone),
    ), status


@bp.get("")
def show():
    return _render()


@bp.post("")
def save():
    form = _form(org_zone().key)
    if not form.validate_on_submit():
        return _render(form, 400)
    user = db.session.get(User, current_user.id)
    try:
        changed = accounts.set_user_timezone(db.session, user, form.timezone.data)
    except DripError as exc:
        db.session.rollback()
        for message in (exc.details or {}).get("fields", {}).values():
            form.timezone.errors.append(message)
        return _render(form, 422)
    db.session.commit()
    zone = user.timezone or f"the organization's, {org_zone().key}"
    flash(f"Your time zone is {zone}." if changed else "Nothing changed.", "success")
    return redirect(url_for("profile.show"))
