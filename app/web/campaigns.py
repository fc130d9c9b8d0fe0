"""Campaign pages: list, editor, steps, lifecycle, preview."""

from __future__ import annotations

from flask import Blueprint, render_template

from app.auth import current_org_id
from app.drip.scope import scoped
from app.extensions import db
from app.models import DripCampaign

bp = Blueprint("campaigns", __name__, url_prefix="/campaigns")


@bp.route("/", strict_slashes=False)
def index():
    rows = db.session.scalars(
        scoped(DripCampaign, current_org_id()).order_by(DripCampaign.created_at.desc())
    ).all()
    return render_template("campaigns/index.html", campaigns=rows)
