"""What a results page posts: variants of a draft test (add, change, remove), start / pause /
resume, declare a winner, new allocations of a started test, delete the test.

Each one calls the same app.drip function as the JSON API and commits; a rule broken is a
flash, or the page again (422) with the message next to the field.
"""

from __future__ import annotations

from flask import Blueprint, abort, flash, redirect, request, url_for

from app.auth import current_actor
from app.drip import ab
from app.drip.errors import DripError, ValidationError
from app.extensions import db
from app.models import utcnow
from app.web.ab_forms import VariantForm, posted_edit_form
from app.web.ab_tests import attempt, load_test, render_test_page
from app.web.actions import commit_or_report
from app.web.forms import EmptyForm

bp = Blueprint(
    "ab_test_actions", __name__, url_prefix="/campaigns/<int:campaign_id>/ab-tests/<int:test_id>"
)
STATUS_MESSAGES = {
    ("start", "draft"): "Test started: contacts who reach the step get a variant from now on.",
    ("start", "paused"): "Test resumed: contacts who reach the step get a variant again.",
    ("pause", "running"): (
        "Test paused: contacts not assigned yet get the step's own message; assigned contacts "
        "keep their variant."
    ),
}


def _back(campaign_id: int, test_id: int, anchor: str = ""):
    return redirect(url_for("ab_tests.show", campaign_id=campaign_id, test_id=test_id) + anchor)


def _checked_button() -> None:
    if not EmptyForm().validate_on_submit():
        abort(400, "Your form expired. Please reload the page and try again.")


@bp.post("/variants")
def add_variant(campaign_id: int, test_id: int):
    test = load_test(campaign_id, test_id)
    form = VariantForm()
    if form.validate_on_submit() and attempt(
        lambda: ab.add_variant(db.session, current_actor(), test, form.fields_for_domain()),
        form,
    ):
        flash(f"Variant “{form.name.data.strip()}” added.", "success")
        return _back(campaign_id, test_id, "#variants")
    return render_test_page(campaign_id, test_id, add_form=form, status=422)


@bp.post("/variants/<int:variant_id>")
def update_variant(campaign_id: int, test_id: int, variant_id: int):
    test = load_test(campaign_id, test_id)
    variant = ab.get_variant(db.session, test, variant_id)
    form = posted_edit_form(variant_id)
    if form.validate_on_submit() and attempt(
        lambda: ab.update_variant(
            db.session, current_actor(), test, variant, form.fields_for_domain()
        ),
        form,
    ):
        flash(f"Variant “{variant.name}” saved.", "success")
        return _back(campaign_id, test_id, "#variants")
    return render_test_page(campaign_id, test_id, edit_forms={variant_id: form}, status=422)


@bp.post("/variants/<int:variant_id>/delete")
def delete_variant(campaign_id: int, test_id: int, variant_id: int):
    test = load_test(campaign_id, test_id)
    variant = ab.get_variant(db.session, test, variant_id)
    _checked_button()
    name = variant.name
    if commit_or_report(lambda: ab.delete_variant(db.session, current_actor(), test, variant)):
        flash(f"Variant “{name}” removed: its share of traffic is free again.", "success")
    return _back(campaign_id, test_id, "#variants")


@bp.post("/status")
def change_status(campaign_id: int, test_id: int):
    test = load_test(campaign_id, test_id)
    _checked_button()
    action = request.form.get("action", "")
    if action not in ("start", "pause"):
        flash("Unknown action: the page offers start, resume and pause.", "error")
        return _back(campaign_id, test_id)
    before = test.status
    if commit_or_report(
        lambda: ab.apply_action(db.session, current_actor(), test, {"action": action}, utcnow())
    ):
        flash(STATUS_MESSAGES.get((action, before), f"Test {test.status}."), "success")
    return _back(campaign_id, test_id)


@bp.post("/winner")
def declare_winner(campaign_id: int, test_id: int):
    test = load_test(campaign_id, test_id)
    _checked_button()
    body = {"action": "declare_winner", "winner_id": request.form.get("variant_id", type=int)}
    if commit_or_report(lambda: ab.apply_action(db.session, current_actor(), test, body, utcnow())):
        winner = ab.get_variant(db.session, test, test.winner_variant_id)
        flash(
            f"{winner.name} declared the winner: the test is completed and its message is now "
            "the step's message for every later send.",
            "success",
        )
    return _back(campaign_id, test_id)


@bp.post("/allocations")
def reallocate(campaign_id: int, test_id: int):
    test = load_test(campaign_id, test_id)
    _checked_button()
    shares = {
        v.id: request.form[f"allocation-{v.id}"].strip()
        for v in ab.variants_of(db.session, test)
        if f"allocation-{v.id}" in request.form
    }
    phase = test.phase
    body = {"action": "reallocate", "allocations": shares}
    try:
        ab.apply_action(db.session, current_actor(), test, body, utcnow())
    except ValidationError as exc:
        db.session.rollback()
        return render_test_page(
            campaign_id, test_id, allocations=shares, allocation_error=exc.message, status=422
        )
    except DripError as exc:
        db.session.rollback()
        flash(exc.message, "error")
        return _back(campaign_id, test_id)
    db.session.commit()
    if test.phase != phase:
        flash(
            "Allocations saved. A new analysis phase started: the statistics count the sends "
            "from now on, since contacts were split differently before.",
            "success",
        )
    else:
        flash("The allocations are unchanged.", "info")
    return _back(campaign_id, test_id)


@bp.post("/delete")
def delete(campaign_id: int, test_id: int):
    test = load_test(campaign_id, test_id)
    _checked_button()
    name = test.name
    if not commit_or_report(lambda: ab.delete_test(db.session, current_actor(), test)):
        return _back(campaign_id, test_id)
    flash(f"Test “{name}” deleted.", "success")
    return redirect(url_for("ab_tests.campaign_tests", campaign_id=campaign_id))
