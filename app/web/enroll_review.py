"""The enroll form's pre-launch review and "send a test to my phone".

"Review" (a formaction of the enroll form) shows above the form how many contacts would be
enrolled, who would be skipped and why, when the first step reaches each time zone, and the
forecast; nothing is enrolled. The review panel's test form sends one step now to a phone
number, filled in for the first contact who would be enrolled.

The enrollments page is rendered by app.web.enrollments; the panel
(templates/enrollments/_review.html, included there) reads `g.enroll_review`, set here.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from zoneinfo import ZoneInfo

from flask import Blueprint, flash, g
from flask_wtf import FlaskForm
from wtforms import HiddenField, SelectField, StringField
from wtforms.validators import DataRequired, Length, Optional

from app import tasks
from app.auth import current_actor, current_org_id
from app.drip import campaigns, enrollment, sending
from app.drip.errors import DripError, ValidationError
from app.extensions import db
from app.web import enrollments
from app.web.forms import local_time, viewer_zone

bp = Blueprint("enroll_review", __name__, url_prefix="/campaigns")

# The domain's field names and the test form's.
TEST_FIELDS = {"to": "phone", "step_id": "step_id", "contact_id": "contact_id", "body": "step_id"}


class TestSendForm(FlaskForm):
    phone = StringField(
        "Your phone number",
        validators=[DataRequired(message="Give the phone number to send to."), Length(max=40)],
        description="In international form (+44 20 7946 0123), or in your organization's country.",
    )
    step_id = SelectField("Step", coerce=int, validate_choice=False)
    contact_id = HiddenField(validators=[Optional()])


@dataclass
class ReviewPanel:
    """What _review.html shows: the review (None when the target could not be reviewed), the
    zones with their local times, the test form and a test's result."""

    review: enrollment.AudienceReview | None
    zones: list[dict] = field(default_factory=list)
    viewer_zone: str = "UTC"
    test_form: TestSendForm | None = None
    test: sending.StepTest | None = None
    tests_left: int = 0
    tests_per_hour: int = sending.TESTS_PER_HOUR
    skip_text: dict = field(default_factory=lambda: enrollment.SKIP_REASON_TEXT)


@bp.route("/<int:id>/enrollments/review", methods=["POST"])
def review(id: int):
    campaign = enrollments._campaign(id)
    form = enrollments.EnrollForm()
    if not form.validate_on_submit():
        flash("Please correct the form.", "error")
        return enrollments._render(campaign, form=form, status=400)
    try:
        target = enrollments._target(form)
        result = enrollment.review_audience(db.session, campaign, **target)
    except ValidationError as exc:
        enrollments._place(form, exc)
        return enrollments._render(campaign, form=form, status=422)
    g.enroll_review = _panel(campaign, result, _test_form(campaign, result))
    return enrollments._render(campaign, form=form, forecast=_forecast(campaign, target))


@bp.route("/<int:id>/enrollments/test-send", methods=["POST"])
def test_send(id: int):
    """Send the chosen step now; the review of the same target is shown again beside it."""
    campaign = enrollments._campaign(id)
    form = enrollments.EnrollForm()  # the target, carried by the test form's hidden fields
    test_form = TestSendForm()
    test_form.step_id.choices = _step_choices(campaign)
    status, outcome = 200, None
    if not test_form.validate_on_submit():
        flash("The test was not sent: please correct the form.", "error")
        status = 400
    else:
        try:
            outcome = _send(campaign, test_form)
        except DripError as exc:
            db.session.rollback()
            for name, message in (exc.details or {}).get("fields", {}).items():
                getattr(test_form, TEST_FIELDS.get(name, "phone")).errors.append(message)
            flash(exc.message, "error")
            status = exc.status
        else:
            db.session.commit()
    result, forecast = None, None
    try:
        target = enrollments._target(form)
        result = enrollment.review_audience(db.session, campaign, **target)
        forecast = _forecast(campaign, target)
    except ValidationError:
        db.session.rollback()  # no target to review (the test alone is shown)
    g.enroll_review = _panel(campaign, result, test_form, outcome)
    return enrollments._render(campaign, form=form, forecast=forecast, status=status)


def _send(campaign, test_form: TestSendForm) -> sending.StepTest:
    org_id = current_org_id()
    provider = tasks.routes_for(db.session, {org_id})[org_id].provider
    contact = test_form.contact_id.data
    return sending.send_step_test(
        db.session,
        current_actor(),
        campaign,
        provider,
        step_id=test_form.step_id.data,
        to=test_form.phone.data,
        contact_id=int(contact) if contact and contact.isascii() and contact.isdigit() else None,
    )


def _forecast(campaign, target: dict):
    try:
        return campaigns.forecast(db.session, campaign, **target)
    except ValidationError:
        return None  # the review says what is wrong with the target


def _step_choices(campaign) -> list[tuple[int, str]]:
    return [
        (step.id, f"{step.position}. {step.name or 'Step'} ({step.message_type})")
        for step in campaigns.live_steps(db.session, campaign.id)
    ]


def _test_form(campaign, result: enrollment.AudienceReview) -> TestSendForm:
    test_form = TestSendForm(formdata=None)
    test_form.step_id.choices = _step_choices(campaign)
    test_form.step_id.data = result.step.id
    test_form.contact_id.data = str(result.sample_contact_id or "")
    return test_form


def _panel(campaign, result, test_form, outcome=None) -> ReviewPanel:
    zone = viewer_zone()
    rows = []
    for row in result.by_timezone if result else []:
        own = ZoneInfo(row.timezone) if row.timezone else None
        rows.append(
            {
                "timezone": row.timezone,
                "contacts": row.contacts,
                "zones": row.zones,
                "local": local_time(row.first_send_at, own) if own else None,
                "viewer": local_time(row.first_send_at, zone),
                "viewer_last": local_time(row.last_send_at, zone),
            }
        )
    left = sending.tests_left(db.session, current_actor(), campaign.organization_id)
    return ReviewPanel(result, rows, zone.key, test_form, outcome, left)
