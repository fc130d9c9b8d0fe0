"""The dashboard's main pages: what each navigation entry lists for the organization.

The A/B tests entry is app.web.ab_tests."""

from __future__ import annotations

from flask import Blueprint, redirect, url_for

bp = Blueprint("pages", __name__)


@bp.route("/")
def home():
    return redirect(url_for("campaigns.index"))
