"""The dashboard's main pages: what each navigation entry lists for the organization."""

from __future__ import annotations

from flask import Blueprint, redirect, render_template, request, url_for
from sqlalchemy import func, select

from app.auth import current_org_id
from app.drip.scope import scoped
from app.extensions import db
from app.models import Contact, DripAbTest, DripCampaign

bp = Blueprint("pages", __name__)
PER_PAGE = 50


@bp.route("/")
def home():
    return redirect(url_for("pages.campaigns"))


@bp.route("/campaigns")
def campaigns():
    rows = db.session.scalars(
        scoped(DripCampaign, current_org_id()).order_by(DripCampaign.created_at.desc())
    ).all()
    return render_template("pages/campaigns.html", campaigns=rows)


@bp.route("/contacts")
def contacts():
    page = request.args.get("page", 1, type=int) or 1
    org_id = current_org_id()
    total = db.session.scalar(
        select(func.count()).select_from(Contact).where(Contact.organization_id == org_id)
    )
    rows = db.session.scalars(
        scoped(Contact, org_id)
        .order_by(Contact.created_at.desc(), Contact.id.desc())
        .limit(PER_PAGE)
        .offset((max(page, 1) - 1) * PER_PAGE)
    ).all()
    pages = max(1, -(-total // PER_PAGE))
    return render_template(
        "pages/contacts.html", contacts=rows, page=page, pages=pages, total=total
    )


@bp.route("/analytics")
def analytics():
    campaigns_count = db.session.scalar(
        select(func.count())
        .select_from(DripCampaign)
        .where(DripCampaign.organization_id == current_org_id())
    )
    return render_template("pages/analytics.html", campaigns_count=campaigns_count)


@bp.route("/ab-tests")
def ab_tests():
    rows = db.session.execute(
        select(DripAbTest, DripCampaign.name)
        .join(DripCampaign, DripCampaign.id == DripAbTest.campaign_id)
        .where(DripAbTest.organization_id == current_org_id())
        .order_by(DripAbTest.created_at.desc())
    ).all()
    return render_template("pages/ab_tests.html", tests=rows)
