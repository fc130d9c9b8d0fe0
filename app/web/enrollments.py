"""Enrollment pages: a campaign's enrollments, enroll contacts, pause / resume / stop."""

from __future__ import annotations

import re

from flask import Blueprint, current_app, flash, redirect, render_template, request, url_for
from flask_wtf import FlaskForm
from wtforms import RadioField, StringField, TextAreaField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import DataRequired, Length, Optional

from app.auth import current_actor, current_org_id
from app.drip import campaigns, enrollment
from app.drip.errors import DripError, ValidationError
from app.drip.paging import page_count
from app.drip.scope import get_scoped
from app.extensions import db
from app.models import DripCampaign
from app.models.enrollments import ENROLLMENT_STATUSES
from app.web.forms import local_time, page_arg, viewer_zone

bp = Blueprint("enrollments", __name__, url_prefix="/campaigns")

PER_PAGE = 50
SKIPPED_SHOWN = 200
REASONS = {
    "not_found": "not one of your contacts",
    "opted_out": "opted out",
    "already_active": "already active in this campaign",
    "already_paused": "paused in this campaign",
    "already_completed": "completed this campaign (re-enrollment is off)",
}
ACTION_DONE = {
    "pause": "Enrollment paused: it keeps its place.",
    "resume": "Enrollment resumed.",
    "stop": "Enrollment stopped.",
}
# Domain field names and the form's.
FORM_FIELDS = {"contactIds": "contact_ids", "tag": "tag", "search": "q"}


class EnrollForm(FlaskForm):
    target = RadioField(
        "Whom to enroll",
        choices=[
            SelectChoice("tag", "Everyone with a tag"),
            SelectChoice("search", "Everyone matching a search"),
            SelectChoice("ids", "Contacts by id"),
        ],
        default="tag",
    )
    tag = StringField("Tag", validators=[Optional(), Length(max=64)])
    q = StringField("Search text", validators=[Optional(), Length(max=200)])
    search_tag = StringField(
        "Only with the tag (optional)", validators=[Optional(), Length(max=64)]
    )
    contact_ids = TextAreaField(
        "Contact ids", description="Separated by commas, spaces or new lines."
    )


class ActionForm(FlaskForm):
    """CSRF plus the clicked button's action (the buttons carry name="action")."""

    action = StringField(validators=[DataRequired()])


def _campaign(campaign_id: int) -> DripCampaign:
    return get_scoped(db.session, DripCampaign, current_org_id(), campaign_id)


def campaign_url(campaign_id: int) -> str:
    if "campaigns.show" in current_app.view_functions:
        return url_for("campaigns.show", id=campaign_id)
    return url_for("campaigns.index")


def _render(campaign, form=None, result=None, status=200, forecast=None):
    status_filter = request.args.get("status") or None
    if status_filter not in ENROLLMENT_STATUSES:
        status_filter = None
    page = page_arg()
    rows, total = enrollment.list_enrollments(
        db.session, current_org_id(), campaign.id, status_filter, page, PER_PAGE
    )
    zone = viewer_zone()
    return render_template(
        "enrollments/index.html",
        campaign=campaign,
        campaign_url=campaign_url(campaign.id),
        rows=rows,
        total=total,
        page=page,
        pages=page_count(total, PER_PAGE),
        status_filter=status_filter,
        statuses=ENROLLMENT_STATUSES,
        zone=zone,
        local=lambda value: local_time(value, zone),
        form=form or EnrollForm(formdata=None),
        action_form=ActionForm(formdata=None),
        result=result,
        forecast=forecast,
        reasons=REASONS,
        stop_reason_text=enrollment.stop_reason_text,
        skipped_shown=SKIPPED_SHOWN,
    ), status


@bp.route("/<int:id>/enrollments")
def index(id: int):
    return _render(_campaign(id))


@bp.route("/<int:id>/enrollments", methods=["POST"])
def enroll(id: int):
    campaign = _campaign(id)
    form = EnrollForm()
    if not form.validate_on_submit():
        flash("Please correct the form.", "error")
        return _render(campaign, form=form, status=400)
    try:
        target = _target(form)
        result = campaigns.enroll_contacts(db.session, current_actor(), campaign, target)
    except ValidationError as exc:
        _place(form, exc)
        return _render(campaign, form=form, status=422)
    db.session.commit()
    flash(_summary(result), "success" if result.enrolled else "info")
    return _render(campaign, form=form, result=result)


@bp.route("/<int:id>/enrollments/forecast", methods=["POST"])
def forecast(id: int):
    """The enroll form's "Forecast": what enrolling the chosen contacts would send and cost,
    shown above the same form (nothing is enrolled)."""
    campaign = _campaign(id)
    form = EnrollForm()
    if not form.validate_on_submit():
        flash("Please correct the form.", "error")
        return _render(campaign, form=form, status=400)
    try:
        result = campaigns.forecast(db.session, campaign, **_target(form))
    except ValidationError as exc:
        _place(form, exc)
        return _render(campaign, form=form, status=422)
    return _render(campaign, form=form, forecast=result)


def _place(form: EnrollForm, exc: ValidationError) -> None:
    db.session.rollback()
    for name, message in exc.fields.items():
        field = getattr(form, FORM_FIELDS.get(name, ""), None)
        if field is not None:
            field.errors = [*field.errors, message]
    flash(exc.message, "error")


@bp.route("/<int:id>/enrollments/<int:enrollment_id>", methods=["POST"])
def change(id: int, enrollment_id: int):
    campaign = _campaign(id)
    enrollment.get_enrollment(db.session, current_org_id(), campaign.id, enrollment_id)
    back = url_for(
        "enrollments.index",
        id=campaign.id,
        status=request.form.get("status") or None,
        page=request.form.get("page") or None,
    )
    form = ActionForm()
    if not form.validate_on_submit():
        flash("Your form expired or was incomplete. Please try again.", "error")
        return redirect(back)
    try:
        campaigns.change_enrollment(
            db.session, current_actor(), campaign, enrollment_id, form.action.data
        )
    except DripError as exc:
        db.session.rollback()
        flash(exc.message, "error")
        return redirect(back)
    db.session.commit()
    flash(ACTION_DONE[form.action.data], "success")
    return redirect(back)


def _target(form: EnrollForm) -> dict:
    """enroll() keywords from the form; pasted ids must all be whole numbers."""
    if form.target.data == "search":
        return {"search": {"q": form.q.data or None, "tag": form.search_tag.data or None}}
    if form.target.data == "ids":
        words = [w for w in re.split(r"[\s,;]+", form.contact_ids.data or "") if w]
        # isascii: "²".isdigit() is true but int() refuses it; past 19 digits no id is that
        # large and int() refuses over 4,300 digits (either was a 500).
        bad = [w for w in words if not (w.isascii() and w.isdigit()) or len(w) > 19]
        if bad:
            raise ValidationError(
                "Contact ids are whole numbers.",
                {"contactIds": "Not a contact id: " + ", ".join(bad[:5])},
            )
        return {"contact_ids": [int(w) for w in words]}
    return {"tag": form.tag.data or ""}


def _summary(result: enrollment.EnrollResult) -> str:
    text = f"Enrolled {result.enrolled:,} contact{'s' if result.enrolled != 1 else ''}."
    if result.skipped:
        parts = [f"{n:,} {REASONS.get(r, r)}" for r, n in sorted(result.counts().items())]
        text += f" Skipped {len(result.skipped):,}: " + "; ".join(parts) + "."
    return text
