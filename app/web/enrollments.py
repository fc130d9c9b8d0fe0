"""Enrollment pages: a campaign's enrollments (searched, filtered by a funnel drop-off, each
saying why it waits), enroll contacts, pause / resume / stop one, or many at once."""

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
from app.drip.limits import BULK_IDS_MAX
from app.drip.paging import page_count
from app.drip.scope import get_scoped
from app.drip.zones import resolve_zone
from app.extensions import db
from app.models import DripCampaign, DripCampaignStep
from app.models.enrollments import ENROLLMENT_STATUSES
from app.web.forms import local_time, page_arg, viewer_zone
from app.whatsapp import describe_code

bp = Blueprint("enrollments", __name__, url_prefix="/campaigns")
# Error codes and stop reasons in words on every page that shows them (the Sending panel
# included, pages/_queue_health.html): registered app-wide with this blueprint.
bp.add_app_template_global(describe_code, "describe_code")
bp.add_app_template_global(enrollment.stop_reason_text, "stop_reason_text")

PER_PAGE = 50
SKIPPED_SHOWN = 200
REASONS = {
    "not_found": "not one of your contacts",
    "opted_out": "opted out",
    "already_active": "already active in this campaign",
    "already_paused": "paused in this campaign",
    "already_completed": "completed this campaign (re-enrollment is off)",
}
BULK_DONE = {"pause": "Paused", "resume": "Resumed", "stop": "Stopped"}
REASON_LABELS = {
    "replied": "replied",
    "unsubscribed": "opted out",
    "failed": "failed",
    "stopped": "stopped",
    "waiting": "still waiting",
    "marketingCap": "waiting for a marketing-cap retry",
}
FILTER_KEYS = ("status", "q", "step", "reason")
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


def _filters(args) -> enrollment.EnrollmentFilter:
    """The list's filters from the query string; bad ones are said and left out."""
    try:
        return enrollment.enrollment_filter(*(args.get(k) for k in FILTER_KEYS))
    except ValidationError as exc:
        flash(exc.message, "error")
        kept = {k: args.get(k) for k in FILTER_KEYS if k not in exc.fields}
        return enrollment.enrollment_filter(**kept)


def _filter_args(where: enrollment.EnrollmentFilter) -> dict:
    """The filter as url_for keywords (None left out)."""
    values = {"status": where.status, "q": where.q, "step": where.step, "reason": where.reason}
    return {k: v for k, v in values.items() if v is not None}


def _render(campaign, form=None, result=None, status=200, forecast=None):
    where = _filters(request.args)
    page = page_arg()
    zone = viewer_zone()
    rows, total = enrollment.list_enrollments(
        db.session,
        current_org_id(),
        campaign.id,
        page=page,
        per_page=PER_PAGE,
        where=where,
        viewer_zone=zone.key,
    )
    return render_template(
        "enrollments/index.html",
        campaign=campaign,
        campaign_url=campaign_url(campaign.id),
        rows=rows,
        total=total,
        page=page,
        pages=page_count(total, PER_PAGE),
        status_filter=where.status,
        where=where,
        filter_args=_filter_args(where),
        other_filters={k: v for k, v in _filter_args(where).items() if k != "status"},
        step_label=_step_label(campaign, where.step),
        reason_labels=REASON_LABELS,
        statuses=ENROLLMENT_STATUSES,
        zone=zone,
        local=lambda value: local_time(value, zone),
        contact_time=lambda value, name: local_time(value, resolve_zone(name)),
        window_text=enrollment.hours_text(enrollment.campaign_window(campaign)),
        bulk_ids_max=BULK_IDS_MAX,
        form=form or EnrollForm(formdata=None),
        action_form=ActionForm(formdata=None),
        result=result,
        forecast=forecast,
        reasons=REASONS,
        skipped_shown=SKIPPED_SHOWN,
    ), status


def _step_label(campaign: DripCampaign, step_id: int | None) -> str | None:
    if step_id is None:
        return None
    if step_id == enrollment.BEFORE_FIRST_STEP:
        return "before the first message"
    step = db.session.get(DripCampaignStep, step_id)
    if step is None or step.campaign_id != campaign.id:
        return f"step #{step_id}"
    return f"step {step.position}, {step.name}"


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
    back = _back(campaign.id)
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


def _back(campaign_id: int) -> str:
    """The list the form came from: its filters and page, from the form's hidden fields."""
    values = {k: request.form.get(k) or None for k in (*FILTER_KEYS, "page")}
    return url_for("enrollments.index", id=campaign_id, **values)


@bp.route("/<int:id>/enrollments/bulk", methods=["POST"])
def bulk(id: int):
    """Pause, resume or stop the ticked enrollments, or all matching the list's filters.
    Stopping asks first (a page with the count), whatever the browser's script did."""
    campaign = _campaign(id)
    back = _back(campaign.id)
    form = ActionForm()
    if not form.validate_on_submit() or form.action.data not in enrollment.ACTIONS:
        flash("Your form expired or was incomplete. Please try again.", "error")
        return redirect(back)
    action = form.action.data
    try:
        ids, where = _bulk_target()
        if action == "stop" and request.form.get("confirmed") != "1":
            return _confirm_stop(campaign, ids, where)
        result = campaigns.bulk_change_enrollments(
            db.session, current_actor(), campaign, action, ids=ids, where=where
        )
    except DripError as exc:
        db.session.rollback()
        flash(exc.message, "error")
        return redirect(back)
    db.session.commit()
    flash(_bulk_summary(result), "success" if result.changed else "info")
    return redirect(back)


def _bulk_target() -> tuple[list[int] | None, enrollment.EnrollmentFilter | None]:
    if request.form.get("scope") == "matching":
        return None, enrollment.enrollment_filter(*(request.form.get(k) for k in FILTER_KEYS))
    words = request.form.getlist("ids")
    if len(words) > BULK_IDS_MAX:
        raise ValidationError(f"At most {BULK_IDS_MAX:,} enrollments at once.", {"ids": "Many"})
    if not words:
        raise ValidationError("Tick at least one enrollment first.", {"ids": "None ticked."})
    if any(not (w.isascii() and w.isdigit()) or len(w) > 18 for w in words):
        raise ValidationError("Enrollment ids are whole numbers.", {"ids": "Not an id."})
    return [int(w) for w in words], None


def _confirm_stop(campaign, ids, where):
    count = enrollment.count_enrollments(
        db.session,
        current_org_id(),
        campaign.id,
        where if where is not None else enrollment.EnrollmentFilter(ids=tuple(set(ids))),
    )
    return render_template(
        "enrollments/confirm_bulk.html",
        campaign=campaign,
        count=count,
        ids=ids or [],
        matching=where is not None,
        fields={k: request.form.get(k) or "" for k in (*FILTER_KEYS, "page")},
        action_form=ActionForm(formdata=None),
        back=_back(campaign.id),
    )


def _bulk_summary(result: enrollment.BulkResult) -> str:
    n = result.changed
    text = f"{BULK_DONE[result.action]} {n:,} enrollment{'s' if n != 1 else ''}."
    if result.skipped:
        done = BULK_DONE[result.action].lower()
        text += f" {result.skipped:,} skipped: already {done} or finished."
    if result.not_found:
        text += f" {result.not_found:,} not found in this campaign."
    return text


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
