"""Campaign pages: list, create, the editor (settings, steps, preview) and the lifecycle."""

from __future__ import annotations

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for

from app.auth import current_actor, current_org_id
from app.drip import analytics, campaigns
from app.drip.campaigns import FREE_TEXT_WARNING
from app.drip.errors import NotFound, ValidationError
from app.drip.paging import page_count
from app.drip.scope import get_scoped, scoped
from app.drip.sending import queue_health
from app.extensions import db
from app.models import DripCampaign, DripCampaignStep, utcnow
from app.models.campaigns import CAMPAIGN_STATUSES
from app.web.actions import commit_or_report
from app.web.campaign_flow import (
    activity,
    confirm_page,
    deleted_text,
    restored_text,
)
from app.web.campaign_forms import CampaignForm, StepForm
from app.web.campaigns_editor import preview_contacts, render_editor, with_catalog
from app.web.forms import EmptyForm, local_time, page_arg, viewer_zone

bp = Blueprint("campaigns", __name__, url_prefix="/campaigns")
ACTIVITY_PER_PAGE = 50
CAMPAIGNS_PER_PAGE = 50
ACTION_MESSAGES = {
    "activate": "Campaign activated: due steps go out on the next processing pass.",
    "pause": "Campaign paused: nothing is sent until you resume it.",
    "resume": "Campaign resumed.",
    "archive": "Campaign archived: it is read-only and its enrollments were stopped.",
}


def _campaign(campaign_id: int) -> DripCampaign:
    return get_scoped(db.session, DripCampaign, current_org_id(), campaign_id)


def _step(campaign: DripCampaign, step_id: int) -> DripCampaignStep:
    step = get_scoped(db.session, DripCampaignStep, current_org_id(), step_id)
    if step.campaign_id != campaign.id or step.deleted_at is not None:
        raise NotFound(f"Step {step_id} not found in this campaign.")
    return step


def _checked_action_form() -> None:
    if not EmptyForm().validate_on_submit():
        abort(400, "Your form expired. Please reload the page and try again.")


@bp.route("/", strict_slashes=False)
def index():
    """The campaigns, newest first: by part of the name (?q=) and status (?status=), paged."""
    q, status = request.args.get("q", ""), request.args.get("status", "")
    filters, problem = {"q": q.strip(), "status": status.strip()}, None
    try:
        result = campaigns.list_campaigns(
            db.session,
            current_org_id(),
            q=q,
            status=status,
            page=page_arg(),
            per_page=CAMPAIGNS_PER_PAGE,
        )
    except ValidationError as exc:  # a search too long, an unknown status: said, not a 500
        problem = " ".join([exc.message, *exc.fields.values()])
        result = campaigns.CampaignPage([], 0, 1, CAMPAIGNS_PER_PAGE)
    zone = viewer_zone()
    return render_template(
        "campaigns/index.html",
        campaigns=result.rows,
        result=result,
        filters=filters,
        active_filters={k: v for k, v in filters.items() if v},
        statuses=CAMPAIGN_STATUSES,
        problem=problem,
        any_campaign=bool(result.total) or _has_campaigns(),
        counts=campaigns.enrollment_counts(db.session, [c.id for c in result.rows]),
        health=queue_health(db.session, current_org_id(), utcnow()),
        local=lambda value: local_time(value, zone),
    ), 422 if problem else 200


def _has_campaigns() -> bool:
    return db.session.scalars(scoped(DripCampaign, current_org_id()).limit(1)).first() is not None


@bp.route("/new", methods=["GET", "POST"])
def new():
    form = CampaignForm()
    created = []

    def create():
        created.append(
            campaigns.create_campaign(
                db.session, current_actor(), current_org_id(), form.fields_for_domain()
            )
        )

    if form.validate_on_submit() and commit_or_report(create, form):
        flash("Campaign created. Add its first step below.", "success")
        return redirect(url_for("campaigns.show", id=created[0].id))
    return render_template("campaigns/new.html", form=form), 200 if request.method == "GET" else 422


@bp.route("/<int:id>")
def show(id: int):
    # Within the analytics' shared reads: the page's reads of them run once.
    with analytics.reads_shared(db.session):
        return render_editor(analytics.campaign(db.session, current_org_id(), id))


@bp.route("/<int:id>/activity")
def activity_log(id: int):
    campaign = _campaign(id)
    page = page_arg()
    shown = activity(campaign, ACTIVITY_PER_PAGE, page)
    pages = page_count(shown["activity_total"], ACTIVITY_PER_PAGE)
    return render_template(
        "campaigns/activity.html", campaign=campaign, page=page, pages=pages, **shown
    )


@bp.route("/<int:id>", methods=["POST"])
def update(id: int):
    campaign = _campaign(id)
    form = CampaignForm()

    def save():
        campaigns.update_campaign(db.session, current_actor(), campaign, form.fields_for_domain())

    if form.validate_on_submit() and commit_or_report(save, form):
        flash("Settings saved.", "success")
        return redirect(url_for("campaigns.show", id=id))
    return render_editor(_campaign(id), settings_form=form, status=422)


@bp.route("/<int:id>/status", methods=["POST"])
def change_status(id: int):
    _checked_action_form()
    action = request.form.get("action", "")
    campaign = _campaign(id)  # outside the try: another organization's id is a 404

    # The confirmation page shows the journey's warnings and the window report together, so
    # its one "anyway" accepts both.
    confirm = request.form.get("confirm") == "1"
    needed: list[campaigns.WindowConfirmationNeeded] = []
    warned: list[campaigns.GraphConfirmationNeeded] = []

    def change():
        try:
            campaigns.change_status_checked(
                db.session,
                current_actor(),
                campaign,
                action,
                confirm=confirm,
                accept_warnings=confirm,
            )
        except campaigns.WindowConfirmationNeeded as exc:  # nothing was changed
            needed.append(exc)
        except campaigns.GraphConfirmationNeeded as exc:
            warned.append(exc)

    done = commit_or_report(change)
    if warned:
        report = campaigns.window_report(db.session, campaign, utcnow())
        return confirm_page(
            campaign, action, report if report.would_stop else None, warned[0].warnings
        )
    if needed:
        return confirm_page(campaign, action, needed[0].report, [])
    if done:
        flash(ACTION_MESSAGES[action], "success")
    return redirect(url_for("campaigns.show", id=id))


@bp.route("/<int:id>/review")
def review(id: int):
    """Review and activate (or resume): the forecast of the enrolled contacts and, when some
    would be stopped outside their window, that report, before the one button that starts."""
    campaign = _campaign(id)
    if campaign.status not in ("draft", "paused"):
        return redirect(url_for("campaigns.show", id=id))
    return render_template(
        "campaigns/review.html",
        campaign=campaign,
        action="activate" if campaign.status == "draft" else "resume",
        report=campaigns.window_report(db.session, campaign, utcnow()),
        forecast=campaigns.forecast(db.session, campaign),
        action_form=EmptyForm(),
    )


@bp.route("/<int:id>/delete", methods=["POST"])
def delete(id: int):
    _checked_action_form()
    campaign = _campaign(id)
    name = campaign.name

    def remove():
        campaigns.delete_campaign(db.session, current_actor(), campaign)

    if not commit_or_report(remove):
        return redirect(url_for("campaigns.show", id=id))
    flash(f"Campaign “{name}” deleted.", "success")
    return redirect(url_for("campaigns.index"))


@bp.route("/<int:id>/steps", methods=["POST"])
def add_step(id: int):
    campaign = _campaign(id)
    form = StepForm()

    def add():
        fields, position = form.fields_for_domain(), form.position.data
        campaigns.add_step(db.session, current_actor(), campaign, fields, position=position)

    if choosing_template(form):  # "Show its parameters" without JS: nothing is saved
        return render_editor(campaign, step_form=form)
    if form.validate_on_submit() and commit_or_report(add, form):
        flash("Step added.", "success")
        return redirect(url_for("campaigns.show", id=id) + "#steps")
    return render_editor(_campaign(id), step_form=form, status=422)


def choosing_template(form: StepForm) -> bool:
    """The no-JS picker's button: the form comes back with the chosen template's inputs."""
    return bool(request.form.get("choose_template")) and form.validate_on_submit()


@bp.route("/<int:id>/steps/<int:step_id>", methods=["GET", "POST"])
def edit_step(id: int, step_id: int):
    campaign = _campaign(id)
    step = _step(campaign, step_id)
    form = StepForm()
    status = 200
    if request.method == "GET":
        form = StepForm(formdata=None)
        form.load(step)
    else:

        def save():
            fields = form.fields_for_domain()
            try:
                campaigns.update_step(db.session, current_actor(), campaign, step, fields)
            except ValidationError as exc:  # the branch's errors, named as the form's rows
                raise form.branch_errors(exc) from exc

        if choosing_template(form):
            status = 200
        elif form.validate_on_submit() and commit_or_report(save, form):
            flash("Step saved.", "success")
            return redirect(url_for("campaigns.show", id=id) + "#steps")
        else:
            status = 422
            campaign = _campaign(id)
            step = _step(campaign, step_id)
    form.set_later_steps(
        [s for s in campaigns.live_steps(db.session, campaign.id) if s.position > step.position]
    )
    return render_template(
        "campaigns/step.html",
        campaign=campaign,
        step=step,
        form=with_catalog(form, campaign),
        preview_contacts=preview_contacts(campaign.organization_id),
        free_text_warning=FREE_TEXT_WARNING,
    ), status


@bp.route("/<int:id>/duplicate", methods=["POST"])
def duplicate(id: int):
    _checked_action_form()
    campaign = _campaign(id)
    copies = []

    def copy():
        copies.append(campaigns.duplicate_campaign(db.session, current_actor(), campaign))

    if not commit_or_report(copy):
        return redirect(url_for("campaigns.show", id=id))
    flash(
        f"Duplicated “{campaign.name}”: this is a draft copy with its settings and steps, "
        "without its contacts, history or A/B tests.",
        "success",
    )
    return redirect(url_for("campaigns.show", id=copies[0].id))


@bp.route("/<int:id>/steps/<int:step_id>/delete", methods=["POST"])
def delete_step(id: int, step_id: int):
    _checked_action_form()
    campaign = _campaign(id)
    step = _step(campaign, step_id)
    moved = []

    def remove():
        moved.append(campaigns.delete_step(db.session, current_actor(), campaign, step))

    if commit_or_report(remove):
        flash(deleted_text(step.name, moved[0]), "success")
    return redirect(url_for("campaigns.show", id=id) + "#steps")


@bp.route("/<int:id>/steps/<int:step_id>/restore", methods=["POST"])
def restore_step(id: int, step_id: int):
    """The Undo of a step's deletion (for campaigns.UNDO_MINUTES)."""
    _checked_action_form()
    campaign = _campaign(id)
    step = get_scoped(db.session, DripCampaignStep, current_org_id(), step_id)
    if step.campaign_id != campaign.id:
        raise NotFound(f"Step {step_id} not found in this campaign.")
    undone = []

    def restore():
        undone.append(campaigns.restore_step(db.session, current_actor(), campaign, step))

    if commit_or_report(restore):
        flash(restored_text(undone[0]), "success")
    return redirect(url_for("campaigns.show", id=id) + "#steps")


@bp.route("/<int:id>/steps/<int:step_id>/move", methods=["POST"])
def move_step(id: int, step_id: int):
    _checked_action_form()
    campaign = _campaign(id)
    step = _step(campaign, step_id)
    direction = "up" if request.form.get("direction") == "up" else "down"

    def move():
        campaigns.move_step(db.session, current_actor(), campaign, step, direction)

    commit_or_report(move)
    return redirect(url_for("campaigns.show", id=id) + "#steps")
