"""The WhatsApp template catalog page: the synced templates with filters, and a button to sync
now. Members may sync: templates are campaign work."""

from __future__ import annotations

from flask import Blueprint, flash, redirect, render_template, request, url_for

from app.auth import current_org_id
from app.drip import templates
from app.drip.errors import DripError
from app.extensions import db
from app.models import utcnow
from app.models.templates import TEMPLATE_CATEGORIES, TEMPLATE_STATUSES
from app.tasks import sync_catalog
from app.web.forms import EmptyForm, page_arg

bp = Blueprint("message_templates", __name__, url_prefix="/templates")
PER_PAGE = 50


@bp.route("/", strict_slashes=False)
def index():
    filters = {
        "q": request.args.get("q", "").strip(),
        "status": _choice(request.args.get("status", ""), TEMPLATE_STATUSES),
        "category": _choice(request.args.get("category", ""), TEMPLATE_CATEGORIES),
    }
    result = templates.list_templates(
        db.session, current_org_id(), page=page_arg(), per_page=PER_PAGE, **filters
    )
    return render_template(
        "message_templates/index.html",
        result=result,
        filters=filters,
        active_filters={name: value for name, value in filters.items() if value},
        statuses=TEMPLATE_STATUSES,
        categories=TEMPLATE_CATEGORIES,
        form=EmptyForm(),
    )


@bp.route("/sync", methods=["POST"])
def sync():
    if not EmptyForm().validate_on_submit():
        flash("Your form expired. Please try again.", "error")
        return redirect(url_for("message_templates.index"))
    try:
        counts = sync_catalog(db.session, current_org_id(), utcnow())
    except DripError as error:
        db.session.rollback()
        flash(error.message, "error")
        return redirect(url_for("message_templates.index"))
    db.session.commit()
    flash(
        f"Templates synced: {counts.added} added, {counts.updated} updated,"
        f" {counts.removed} removed; {counts.total} in all.",
        "info",
    )
    return redirect(url_for("message_templates.index"))


def _choice(value: str, allowed: tuple[str, ...]) -> str:
    """A filter from a fixed list; anything else is no filter."""
    value = value.strip().upper()
    return value if value in allowed else ""
