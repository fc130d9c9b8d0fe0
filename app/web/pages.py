"""The dashboard's main pages: what each navigation entry lists for the organization."""

from __future__ import annotations

from flask import Blueprint, redirect, render_template, url_for
from sqlalchemy import select

from app.auth import current_org_id
from app.extensions import db
from app.models import DripAbTest, DripCampaign

bp = Blueprint("pages", __name__)


@bp.route("/")
def home():
    return redirect(url_for("campaigns.index"))


@bp.route("/ab-tests")
def ab_tests():
    rows = db.session.execute(
        select(DripAbTest, DripCampaign.name)
        .join(DripCampaign, DripCampaign.id == DripAbTest.campaign_id)
        .where(DripAbTest.organization_id == current_org_id())
        .order_by(DripAbTest.created_at.desc())
    ).all()
    return render_template("pages/ab_tests.html", tests=rows)
